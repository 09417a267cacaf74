package e2e_test

// The Lambda mode end to end: the built binary runs as a custom runtime under aws-lambda-rie,
// the simulator's Driver plays CodePipeline (a new job per continuation), and the simulator's
// effect counters say what changed.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
	"github.com/deploystep/deploystep/internal/testtool"
)

// Planted credentials: none of these may ever appear in the function's output.
const (
	plantedKeyID   = "AKIAPLANTEDEVENTKEY7"
	plantedSecret  = "planted/EventSecret+Zz9"
	plantedSession = "plantedSessionTokenQQ4"
	envSecret      = "simulator-env-secret-5Jq"
)

// startRIE runs the binary as a Lambda function under aws-lambda-rie with the given function
// timeout, and returns a driver for it and the function's log. The function's environment
// carries envSecret as its secret key.
func startRIE(t *testing.T, sim *awsim.Server, timeoutSeconds int, env ...string) (*awsim.Driver, *testtool.SyncBuffer) {
	t.Helper()
	d, logs, stop, err := launchRIE(testtool.RIE(t), testtool.Binary(t), sim, timeoutSeconds, env...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return d, logs
}

// launchRIE is testtool.LaunchRIE with envSecret planted; safe to call from any goroutine.
func launchRIE(rie, bootstrap string, sim *awsim.Server, timeoutSeconds int, env ...string) (*awsim.Driver, *testtool.SyncBuffer, func(), error) {
	r, err := testtool.LaunchRIE(rie, bootstrap, sim, timeoutSeconds, append([]string{"AWS_SECRET_ACCESS_KEY=" + envSecret}, env...)...)
	if err != nil {
		return nil, nil, nil, err
	}
	return r.Driver, r.Logs, r.Stop, nil
}

func userParameters(extra map[string]any) string {
	p := map[string]any{"POLL_INTERVAL": "250ms"}
	for k, v := range demo.Settings() {
		p[k] = v
	}
	for k, v := range extra {
		p[k] = v
	}
	b, _ := json.Marshal(p)
	return string(b)
}

func jobInput(params string) awsim.JobInput {
	return awsim.JobInput{UserParameters: params, FunctionName: "deploystep",
		AccessKeyID: plantedKeyID, SecretAccessKey: plantedSecret, SessionToken: plantedSession}
}

func noSecrets(t *testing.T, where, text string) {
	t.Helper()
	for _, s := range []string{plantedKeyID, plantedSecret, plantedSession, envSecret} {
		if strings.Contains(text, s) {
			t.Errorf("%s contains the credential %q", where, s)
		}
	}
}

func results(x awsim.Execution) string {
	b, _ := json.MarshalIndent(x.Jobs, "", "  ")
	return string(b)
}

func TestLambdaContinuesAcrossInvocations(t *testing.T) {
	t.Parallel()
	sim := startSim(t, demo.Config(awsim.Success, 6*time.Second, 2*time.Second))
	d, logs := startRIE(t, sim, 4)
	x, err := d.Run(context.Background(), jobInput(userParameters(nil)))
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, results(x), logs)
	}
	final, ok := x.Final()
	if !ok || !final.Success || final.ContinuationToken != "" {
		t.Fatalf("no final success:\n%s\n%s", results(x), logs)
	}
	if len(x.Invocations) < 2 {
		t.Fatalf("%d invocation(s); a 6s rollout with a 4s function timeout needs at least 2\n%s", len(x.Invocations), logs)
	}
	for _, j := range x.Jobs[:len(x.Jobs)-1] {
		r := j.Results[0]
		if r.ContinuationToken == "" || len(r.ContinuationToken) > 2048 || r.PercentComplete == nil || r.Summary == "" {
			t.Errorf("continuation result %+v", r)
		}
	}
	for _, k := range []string{"DeploymentIds", "InvalidationIds", "ImageDigest"} {
		if final.OutputVariables[k] == "" {
			t.Errorf("output variable %s missing: %v", k, final.OutputVariables)
		}
	}
	if !strings.HasPrefix(final.OutputVariables["DeploymentIds"], "api=ecs-svc/") {
		t.Errorf("DeploymentIds = %q", final.OutputVariables["DeploymentIds"])
	}
	wantEffects(t, sim, 1, 1, logs)
	noSecrets(t, "the function's log", logs.String())
	noSecrets(t, "the job results", results(x))
}

func TestLambdaBadUserParameters(t *testing.T) {
	t.Parallel()
	sim := startSim(t, demo.Config(awsim.Success, time.Second, time.Second))
	d, logs := startRIE(t, sim, 5)
	cases := map[string]string{
		"not JSON":        `{"CLUSTER": "tsa-gallery",`,
		"unknown setting": `{"CLUSTER":"c","SERVICE":"s","DISTRIBUTIONID":"E2QWRUHAPOMQZL","CLUSTR":"x"}`,
		"missing":         `{"SERVICE":"api"}`,
		"bad value":       userParameters(map[string]any{"DEPLOY_TIMEOUT": "forever"}),
	}
	want := map[string]string{"not JSON": "UserParameters must be a JSON object", "unknown setting": `unknown setting "CLUSTR" (did you mean CLUSTER?)`,
		"missing": "missing CLUSTER (like CLUSTER=tsa-gallery), DISTRIBUTIONID", "bad value": `DEPLOY_TIMEOUT="forever" is not a duration with its unit, like DEPLOY_TIMEOUT=30m`}
	for name, params := range cases {
		x, err := d.Run(context.Background(), jobInput(params))
		final, ok := x.Final()
		if err != nil || !ok || final.Success || final.FailureType != "ConfigurationError" || !strings.Contains(final.FailureMessage, want[name]) {
			t.Errorf("%s: %v %+v, want ConfigurationError with %q\n%s", name, err, final, want[name], logs)
		}
	}
	e := sim.Effects()
	if len(e.Deployments) != 0 || len(e.Invalidations) != 0 || sim.CountCalls("ECS", "") != 0 {
		t.Fatalf("AWS was touched with bad settings: %+v", e)
	}
	noSecrets(t, "the function's log", logs.String())
}

// deliverFirstTwice delivers the first job event twice (CodePipeline's at-least-once delivery),
// then runs the action to its end from the first result's token. It returns the first job id.
func deliverFirstTwice(t *testing.T, sim *awsim.Server, d *awsim.Driver, in awsim.JobInput, logs fmt.Stringer) string {
	t.Helper()
	first := sim.NewJob()
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if _, err := d.InvokeJob(ctx, first, in, ""); err != nil {
			t.Fatal(err)
		}
	}
	j, _ := sim.Job(first)
	if len(j.Results) != 1 || j.Results[0].ContinuationToken == "" {
		t.Fatalf("first job: %+v\n%s", j, logs)
	}
	x, err := d.RunFrom(ctx, sim.NewJob(), in, j.Results[0].ContinuationToken)
	if final, ok := x.Final(); err != nil || !ok || !final.Success {
		t.Fatalf("%v %s\n%s", err, results(x), logs)
	}
	return first
}

func TestLambdaDuplicateDeliveryHasOneEffect(t *testing.T) {
	t.Parallel()
	sim := startSim(t, demo.Config(awsim.Success, 6*time.Second, time.Second))
	d, logs := startRIE(t, sim, 3)
	in := jobInput(userParameters(nil))
	// The same first event again must find the deployment the first delivery started.
	first := deliverFirstTwice(t, sim, d, in, logs)
	// A late duplicate after the final result: still nothing new.
	if _, err := d.InvokeJob(context.Background(), first, in, ""); err != nil {
		t.Fatal(err)
	}
	wantEffects(t, sim, 1, 1, logs)
	if !strings.Contains(logs.String(), "resuming: deployment") || !strings.Contains(logs.String(), "already has its result") {
		t.Errorf("the duplicates did not say they resumed and found the job reported:\n%s", logs)
	}
}

func TestLambdaCrashLoopFailsJob(t *testing.T) {
	t.Parallel()
	cfg := demo.Config(awsim.CrashLoop, 2*time.Second, time.Second)
	cfg.Clusters[0].Services[0].Scenario.TaskFailEvery = awsim.Duration(400 * time.Millisecond)
	sim := startSim(t, cfg)
	d, logs := startRIE(t, sim, 5)
	x, err := d.Run(context.Background(), jobInput(userParameters(nil)))
	final, ok := x.Final()
	if err != nil || !ok || final.Success || final.FailureType != "JobFailed" || !strings.Contains(final.FailureMessage, "CannotPullContainerError") {
		t.Fatalf("%v %s\n%s", err, results(x), logs)
	}
	if n := sim.Effects().Invalidations[demo.Distribution]; n != 0 {
		t.Errorf("%d invalidations after a failed deployment", n)
	}
	noSecrets(t, "the function's log", logs.String())
}
