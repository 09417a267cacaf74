package e2e_test

// ECS's newest deployment controls (#25), end to end against awsim, in both modes: early success
// criteria (the run is done at SUCCESSFUL, the old tasks still draining) and the circuit
// breaker's configurable threshold (deploystep fails fast where ECS's breaker would, and not
// where it would not).

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
)

// oldTasksRunning counts the demo service's tasks of deployments other than the newest.
func oldTasksRunning(t *testing.T, sim *awsim.Server) int {
	t.Helper()
	out, err := ecs.NewFromConfig(sim.AWSConfig()).DescribeServices(context.Background(),
		&ecs.DescribeServicesInput{Cluster: aws.String(demo.Cluster), Services: []string{demo.Service}})
	if err != nil || len(out.Services) != 1 {
		t.Fatal(err)
	}
	n := 0
	for i, d := range out.Services[0].Deployments {
		if i > 0 {
			n += int(d.RunningCount)
		}
	}
	return n
}

// Early success, DEFERRED: the release is done when the service deployment is SUCCESSFUL with 2
// of 4 new tasks, long before the rollout's end, while the old tasks still run; the digest check
// judges the new revision's tasks. BLOCKING: the old tasks are gone first.
func TestControlsEarlySuccess(t *testing.T) {
	t.Parallel()
	const rollout = 8 * time.Second
	sim := startSim(t, world(demo.EarlyDeferred, rollout))
	r := runBin(t, env(sim))
	wantOutput(t, r, 0, "succeeded: early success at 50 % (2 of 4 new tasks running): old tasks drain after the release", "summary: succeeded")
	if r.Took() >= rollout {
		t.Errorf("the run took %v, the whole rollout %v: it waited for the old tasks", r.Took(), rollout)
	}
	if n := oldTasksRunning(t, sim); n == 0 {
		t.Errorf("no old task runs when the run ends: not an early success")
	}
	wantEffects(t, sim, 1, 1, r)

	blocking := startSim(t, world(demo.EarlyBlocking, rollout))
	r = runBin(t, env(blocking))
	wantOutput(t, r, 0, "summary: succeeded")
	if n := oldTasksRunning(t, blocking); n != 0 {
		t.Errorf("%d old tasks run at the end of a BLOCKING early success", n)
	}
	if r.Took() >= rollout {
		t.Errorf("BLOCKING took %v", r.Took())
	}
}

// The breaker's own threshold: a service whose breaker tolerates 10 failures finishes a rollout
// that lost 6 tasks (the old fixed rule failed it at 3); a breaker of COUNT 1 fails at the first.
func TestControlsBreakerThreshold(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(demo.BreakerTolerates, 2*time.Second))
	r := runBin(t, env(sim))
	wantOutput(t, r, 0, "6 failed", "summary: succeeded")
	wantEffects(t, sim, 1, 1, r)

	one := startSim(t, world(demo.BreakerCountOne, 4*time.Second))
	r = runBin(t, env(one))
	wantOutput(t, r, 1, "summary: failed")
	if !strings.Contains(r.Stdout, "threshold 1: the circuit breaker's COUNT 1, reset by a healthy task") &&
		!strings.Contains(r.Stdout, "ECS deployment circuit breaker: tasks failed to start") {
		t.Errorf("the failure names neither rule:\n%s", r)
	}
	if r.Took() > 4*time.Second {
		t.Errorf("COUNT 1 failed after %v", r.Took())
	}
	// FAILED_TASKS_THRESHOLD still overrides: 3 fails the tolerant service's rollout.
	strict := startSim(t, world(demo.BreakerTolerates, 2*time.Second))
	r = runBin(t, env(strict, "FAILED_TASKS_THRESHOLD=3"))
	wantOutput(t, r, 1, "tasks failed (threshold 3: FAILED_TASKS_THRESHOLD)")
}

// The Lambda mode: the same verdicts across invocations.
func TestControlsLambda(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		kind string
		want string
	}{
		{demo.EarlyDeferred, "early success at 50 %"},
		{demo.BreakerTolerates, "completed"},
	} {
		t.Run(c.kind, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, demo.Config(c.kind, 6*time.Second, time.Second))
			d, logs := startRIE(t, sim, 4)
			x, err := d.Run(context.Background(), jobInput(userParameters(nil)))
			if err != nil {
				t.Fatalf("%v\n%s\n%s", err, results(x), logs)
			}
			final, ok := x.Final()
			if !ok || !final.Success {
				t.Fatalf("no final success:\n%s\n%s", results(x), logs)
			}
			if !strings.Contains(logs.String(), c.want) {
				t.Errorf("the function's log lacks %q:\n%s", c.want, logs)
			}
			wantEffects(t, sim, 1, 1, logs)
		})
	}
}

// AWS_LAMBDA lifecycle hooks: the run reports the running hook by name and stage; a hook that
// returns FAILED rolls the deployment back and the run fails naming it; in both modes.
func TestControlsLambdaHooks(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(demo.LambdaHookPasses, 4*time.Second))
	r := runBin(t, env(sim))
	wantOutput(t, r, 0, "lifecycle hook "+demo.LambdaHook+" running at POST_TEST_TRAFFIC_SHIFT", "summary: succeeded")

	fails := startSim(t, world(demo.LambdaHookFails, 4*time.Second))
	r = runBin(t, env(fails))
	wantOutput(t, r, 1, "lifecycle hook "+demo.LambdaHook+" running at POST_TEST_TRAFFIC_SHIFT",
		": lifecycle hook "+demo.LambdaHook+" (arn:aws:lambda:us-east-1:123456789012:function:"+demo.LambdaHook+") returned FAILED at POST_TEST_TRAFFIC_SHIFT",
		"; lifecycle hook "+demo.LambdaHook+" FAILED (Lambda function arn:aws:lambda:")
	wantEffects(t, fails, 1, 0, r)

	lsim := startSim(t, demo.Config(demo.LambdaHookFails, 6*time.Second, time.Second))
	d, logs := startRIE(t, lsim, 4)
	x, err := d.Run(context.Background(), jobInput(userParameters(nil)))
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, results(x), logs)
	}
	final, ok := x.Final()
	if !ok || final.Success || !strings.Contains(final.FailureMessage, "lifecycle hook "+demo.LambdaHook+" FAILED") {
		t.Fatalf("want a failed job naming the hook:\n%s\n%s", results(x), logs)
	}
}

// A pause answered by an approval: a WAIT_UNTIL=paused step ends with exit 0 at the PAUSE hook
// (production traffic not moved, nothing invalidated); a later HOOK_ANSWER step finds that
// deployment, answers it once, follows it to its end, invalidates and verifies the edge. A re-run
// of the answering step answers nothing again; ROLLBACK is exit 1; nothing to answer is exit 2.
func TestControlsPauseAnsweredLater(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(awsim.Paused, 2*time.Second))
	key := "CODEBUILD_BUILD_ID=tsa-gallery-api:6a7b8c9d-0000-4000-8000-0000000000a1"
	r := runBin(t, env(sim, "WAIT_UNTIL=paused", key))
	wantOutput(t, r, 0, "paused at POST_TEST_TRAFFIC_SHIFT (PAUSE hook ", "production traffic not moved (WAIT_UNTIL=paused)",
		"no invalidation yet: api paused at a PAUSE hook", "summary: paused", "paused:        api at POST_TEST_TRAFFIC_SHIFT, PAUSE hook ")
	wantEffects(t, sim, 1, 0, r)

	answer := "CODEBUILD_BUILD_ID=tsa-gallery-api:6a7b8c9d-0000-4000-8000-0000000000a2"
	r = runBin(t, env(sim, "HOOK_ANSWER=CONTINUE", answer, "VERIFY_URL="+edgeURL(sim)))
	wantOutput(t, r, 0, "found deployment ecs-svc/", "answering it with HOOK_ANSWER=CONTINUE", "ContinueServiceDeployment CONTINUE (HOOK_ANSWER)",
		"the edge serves version "+demo.Tag, "summary: succeeded")
	wantEffects(t, sim, 1, 1, r)
	if n := sim.Effects().Continues[demo.Cluster+"/"+demo.Service+" CONTINUE"]; n != 1 {
		t.Errorf("%d CONTINUE answers, want 1", n)
	}
	if n := sim.CountCalls("ECS", "UpdateService"); n != 1 {
		t.Errorf("%d UpdateService calls: the answering step started a deployment", n)
	}
	again := runBin(t, env(sim, "HOOK_ANSWER=CONTINUE", answer))
	wantOutput(t, again, 0, "resuming: deployment", "summary: succeeded")
	if n := sim.Effects().Continues[demo.Cluster+"/"+demo.Service+" CONTINUE"]; n != 1 {
		t.Errorf("after a re-run: %d CONTINUE answers, want 1", n)
	}
	wantEffects(t, sim, 1, 1, again)

	// Nothing paused any more: a new answering release has nothing to answer.
	r = runBin(t, env(sim, "HOOK_ANSWER=CONTINUE", "CODEBUILD_BUILD_ID=tsa-gallery-api:6a7b8c9d-0000-4000-8000-0000000000a3"))
	wantOutput(t, r, 2, "service api: no deployment paused at a PAUSE hook to answer with HOOK_ANSWER=CONTINUE (service deployments: none in progress)")

	rb := startSim(t, world(awsim.Paused, 2*time.Second))
	wantOutput(t, runBin(t, env(rb, "WAIT_UNTIL=paused")), 0, "summary: paused")
	r = runBin(t, env(rb, "HOOK_ANSWER=rollback"))
	wantOutput(t, r, 1, "ContinueServiceDeployment ROLLBACK (HOOK_ANSWER)", "rolled back as answered (HOOK_ANSWER=ROLLBACK)")
	wantEffects(t, rb, 1, 0, r)

	// Settings that cannot go together.
	r = runBin(t, env(rb, "HOOK_ANSWER=CONTINUE", "HOOK_COMMAND=true"))
	wantOutput(t, r, 2, "HOOK_ANSWER and HOOK_COMMAND are both set")
	r = runBin(t, env(rb, "WAIT_UNTIL=paused", "HOOK_COMMAND=true"))
	wantOutput(t, r, 2, "WAIT_UNTIL=paused and HOOK_COMMAND are both set")
	r = runBin(t, env(rb, "HOOK_ANSWER=maybe"))
	wantOutput(t, r, 2, "HOOK_ANSWER")
}

// The same flow as two CodePipeline actions on Lambda, an approval between them: the first ends
// with PausedHooks and ServiceDeployments, the second answers and invalidates.
func TestControlsPauseLambda(t *testing.T) {
	t.Parallel()
	sim := startSim(t, demo.Config(awsim.Paused, 4*time.Second, time.Second))
	d, logs := startRIE(t, sim, 4)
	x, err := d.Run(context.Background(), jobInput(userParameters(map[string]any{"WAIT_UNTIL": "paused"})))
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, results(x), logs)
	}
	final, ok := x.Final()
	if !ok || !final.Success || !strings.HasPrefix(final.OutputVariables["PausedHooks"], "api=") ||
		!strings.Contains(final.OutputVariables["ServiceDeployments"], ":service-deployment/") || !strings.Contains(final.Summary, "paused at POST_TEST_TRAFFIC_SHIFT") {
		t.Fatalf("the pausing action:\n%s\n%s", results(x), logs)
	}
	wantEffects(t, sim, 1, 0, logs)
	x, err = d.Run(context.Background(), jobInput(userParameters(map[string]any{"HOOK_ANSWER": "CONTINUE"})))
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, results(x), logs)
	}
	if final, ok = x.Final(); !ok || !final.Success || final.OutputVariables["InvalidationIds"] == "" {
		t.Fatalf("the answering action:\n%s\n%s", results(x), logs)
	}
	wantEffects(t, sim, 1, 1, logs)
	if n := sim.Effects().Continues[demo.Cluster+"/"+demo.Service+" CONTINUE"]; n != 1 {
		t.Errorf("%d CONTINUE answers, want 1", n)
	}
}

// A lost answer: the connection resets after ContinueServiceDeployment was applied; the retry
// meets a hook no longer awaiting action and counts it as answered. One CONTINUE.
func TestControlsPauseAnswerLost(t *testing.T) {
	t.Parallel()
	cfg := world(awsim.Paused, 2*time.Second)
	cfg.Faults = map[string]awsim.Fault{"ECS.ContinueServiceDeployment": {ResetAfter: 1, OnlyFirst: 1}}
	sim := startSim(t, cfg)
	wantOutput(t, runBin(t, env(sim, "WAIT_UNTIL=paused")), 0, "summary: paused")
	r := runBin(t, env(sim, "HOOK_ANSWER=CONTINUE"))
	wantOutput(t, r, 0, "summary: succeeded")
	if n := sim.Effects().Continues[demo.Cluster+"/"+demo.Service+" CONTINUE"]; n != 1 {
		t.Errorf("%d CONTINUE answers after a lost answer, want 1\n%s", n, r)
	}
	lost := 0
	for _, c := range sim.Calls() {
		if c.Op == "ContinueServiceDeployment" && c.Error == "fault:reset-after" {
			lost++
		}
	}
	if lost != 1 {
		t.Errorf("%d answers lost, want 1: the test did not exercise a lost answer", lost)
	}
	wantEffects(t, sim, 1, 1, r)
}
