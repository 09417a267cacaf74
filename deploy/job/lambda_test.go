package job_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/sethvargo/go-envconfig"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
	"github.com/deploystep/deploystep/deploy/job"
	"github.com/deploystep/deploystep/internal/testtool"
)

const demoImage = demo.Image

func handler(t *testing.T, cfg awsim.Config) (*job.Handler, *awsim.Server, *bytes.Buffer) {
	t.Helper()
	sim := testtool.Sim(t, cfg)
	ac := sim.AWSConfig()
	var log bytes.Buffer
	return &job.Handler{AWS: ac, Pipeline: codepipeline.NewFromConfig(ac), Log: &log,
		Env: envconfig.MapLookuper(map[string]string{"POLL_INTERVAL": "200ms"})}, sim, &log
}

func event(job string, params map[string]any, token string) events.CodePipelineJobEvent {
	b, _ := json.Marshal(params)
	var ev events.CodePipelineJobEvent
	ev.CodePipelineJob.ID = job
	ev.CodePipelineJob.Data.ActionConfiguration.Configuration.UserParameters = string(b)
	ev.CodePipelineJob.Data.ContinuationToken = token
	ev.CodePipelineJob.Data.ArtifactCredentials.SecretAccessKey = "planted-in-process-secret"
	return ev
}

func params(extra map[string]any) map[string]any {
	p := map[string]any{"SERVICE": []string{demo.Service}} // a list, as UserParameters may give it
	for k, v := range demo.Settings() {
		if k != "SERVICE" && k != "IMAGE" {
			p[k] = v
		}
	}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

func invoke(t *testing.T, h *job.Handler, ev events.CodePipelineJobEvent, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if err := h.Handle(ctx, ev); err != nil {
		t.Fatalf("Handle returned %v; it must always return nil", err)
	}
}

func lastResult(t *testing.T, sim *awsim.Server, job string) awsim.JobResult {
	t.Helper()
	j, ok := sim.Job(job)
	if !ok || len(j.Results) != 1 {
		t.Fatalf("job %s: %+v", job, j)
	}
	return j.Results[0]
}

func TestHandlerActionTimeout(t *testing.T) {
	h, sim, log := handler(t, demo.Config(awsim.NeverFinish, time.Second, time.Second))
	job := sim.NewJob()
	invoke(t, h, event(job, params(map[string]any{"ACTION_TIMEOUT": "2s"}), ""), 30*time.Second)
	r := lastResult(t, sim, job)
	if r.FailureType != "JobFailed" || !strings.Contains(r.FailureMessage, "timed out after 2s") {
		t.Fatalf("result %+v\n%s", r, log)
	}
	if strings.Contains(log.String(), "planted-in-process-secret") {
		t.Fatal("the event's credentials reached the log")
	}
}

func TestHandlerDryRunChangesNothing(t *testing.T) {
	h, sim, log := handler(t, demo.Config(awsim.Success, time.Second, time.Second))
	job := sim.NewJob()
	invoke(t, h, event(job, params(map[string]any{"DRY_RUN": true}), ""), 30*time.Second)
	if r := lastResult(t, sim, job); !r.Success || r.ContinuationToken != "" {
		t.Fatalf("result %+v\n%s", r, log)
	}
	if e := sim.Effects(); len(e.Deployments) != 0 || len(e.Invalidations) != 0 {
		t.Fatalf("dry run changed %+v", e)
	}
	// It says so, instead of "release finished: deployments completed".
	if !strings.Contains(log.String(), "dry run: every check passed; nothing was changed") || strings.Contains(log.String(), "release finished") {
		t.Fatalf("log:\n%s", log)
	}
}

// DEPLOY_TIMEOUT is not ignored in the Lambda mode: the smaller of it and ACTION_TIMEOUT bounds
// the action, and the log says so.
func TestHandlerDeployTimeoutBoundsTheAction(t *testing.T) {
	h, sim, log := handler(t, demo.Config(awsim.NeverFinish, time.Second, time.Second))
	job := sim.NewJob()
	invoke(t, h, event(job, params(map[string]any{"DEPLOY_TIMEOUT": "2s"}), ""), 30*time.Second)
	if r := lastResult(t, sim, job); r.FailureType != "JobFailed" || !strings.Contains(r.FailureMessage, "timed out after 2s") {
		t.Fatalf("result %+v\n%s", r, log)
	}
	if !strings.Contains(log.String(), "DEPLOY_TIMEOUT (2s) is shorter than ACTION_TIMEOUT (1h0m0s)") {
		t.Fatalf("log:\n%s", log)
	}
}

// An action whose state could outgrow a continuation token is refused before anything changes,
// not after UpdateService when the first hand-over finds out.
func TestHandlerOversizedTokenBeforeAnyChange(t *testing.T) {
	h, sim, log := handler(t, demo.Config(awsim.Success, time.Second, time.Second))
	var services []string
	for i := 0; i < 150; i++ {
		services = append(services, fmt.Sprintf("tsa-gallery-worker-service-%03d", i))
	}
	h.Env = envconfig.MapLookuper(map[string]string{"SERVICE": strings.Join(services, ",")})
	job := sim.NewJob()
	invoke(t, h, event(job, map[string]any{"CLUSTER": demo.Cluster, "DISTRIBUTIONID": demo.Distribution}, ""), 10*time.Second)
	if r := lastResult(t, sim, job); r.FailureType != "ConfigurationError" || !strings.Contains(r.FailureMessage, "deploy fewer services per action") {
		t.Fatalf("result %+v\n%s", r, log)
	}
	if n := sim.CountCalls("ECS", ""); n != 0 {
		t.Fatalf("%d ECS calls before the refusal", n)
	}
}

func TestHandlerRejectsForeignAndTamperedTokens(t *testing.T) {
	h, sim, log := handler(t, demo.Config(awsim.Success, time.Second, time.Second))
	for name, tok := range map[string]string{"garbage": "not-a-token", "truncated": "ds1.abc"} {
		job := sim.NewJob()
		invoke(t, h, event(job, params(nil), tok), 10*time.Second)
		if r := lastResult(t, sim, job); r.FailureType != "ConfigurationError" || !strings.Contains(r.FailureMessage, "continuation token") {
			t.Errorf("%s: %+v\n%s", name, r, log)
		}
	}
	if sim.CountCalls("ECS", "") != 0 {
		t.Fatal("a bad token reached AWS")
	}
}

func TestHandlerWithoutJobID(t *testing.T) {
	h, sim, log := handler(t, demo.Config(awsim.Success, time.Second, time.Second))
	invoke(t, h, events.CodePipelineJobEvent{}, 5*time.Second)
	if !strings.Contains(log.String(), "no CodePipeline job id") || len(sim.Calls()) != 0 {
		t.Fatalf("log %q, calls %d", log, len(sim.Calls()))
	}
}

// The Lambda mode follows a BLUE_GREEN service deployment to SUCCESSFUL, and ROLLBACK=on-failure
// stops a crash-looping deployment once and reports how the rollback ended.
func TestHandlerStrategies(t *testing.T) {
	bg := demo.Config(awsim.BlueGreen, 4*time.Second, 500*time.Millisecond)
	bg.Clusters[0].Services[0].BakeTime = awsim.Duration(3 * time.Second)
	crash := demo.Config(awsim.CrashLoop, 2*time.Second, 500*time.Millisecond)
	crash.Clusters[0].Services[0].CircuitBreaker = false
	crash.Clusters[0].Services[0].Scenario.TaskFailEvery = awsim.Duration(300 * time.Millisecond)
	for _, c := range []struct {
		name  string
		cfg   awsim.Config
		extra map[string]any
		ok    bool
		want  string
		stops int
	}{
		{"blue/green", bg, nil, true, "% of production traffic on the new revision", 0},
		{"ROLLBACK=on-failure", crash, map[string]any{"ROLLBACK": "on-failure"}, false, "ROLLBACK=on-failure: api rollback ROLLBACK_SUCCESSFUL", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, sim, log := handler(t, c.cfg)
			job := sim.NewJob()
			invoke(t, h, event(job, params(c.extra), ""), time.Minute)
			r := lastResult(t, sim, job)
			if r.Success != c.ok || r.ContinuationToken != "" || !strings.Contains(log.String()+r.FailureMessage, c.want) {
				t.Fatalf("result %+v\n%s", r, log)
			}
			if got := sim.Effects().Stops[demo.Cluster+"/"+demo.Service]; got != c.stops {
				t.Fatalf("%d rollbacks started, want %d\n%s", got, c.stops, log)
			}
		})
	}
}

// runAction plays CodePipeline: invokes with a job, then again with each continuation token (a
// new job each time), every invocation given within; it returns every result in order.
func runAction(t *testing.T, h *job.Handler, sim *awsim.Server, p map[string]any, within time.Duration, max int) []awsim.JobResult {
	t.Helper()
	var out []awsim.JobResult
	token := ""
	for i := 0; i < max; i++ {
		job := sim.NewJob()
		invoke(t, h, event(job, p, token), within)
		r := lastResult(t, sim, job)
		out = append(out, r)
		if r.Final() {
			return out
		}
		token = r.ContinuationToken
	}
	return out
}

// Percent complete covers every phase: an invocation that hands over while the edge is still
// being verified reports the release as nearly done, not 0 %.
func TestHandlerPercentCompleteDuringVerify(t *testing.T) {
	stale := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"status":"ok","version":"0a1b2c3"}`)
	}))
	defer stale.Close()
	h, sim, log := handler(t, demo.Config(awsim.Success, time.Second, 300*time.Millisecond))
	rs := runAction(t, h, sim, params(map[string]any{"IMAGE": demoImage, "VERIFY_URL": stale.URL + "/api/health", "VERIFY_TIMEOUT": "8s"}), 6*time.Second, 4)
	verifying := 0
	for _, r := range rs {
		if r.ContinuationToken != "" && strings.Contains(r.Summary, "verify") {
			verifying++
			if r.PercentComplete == nil || *r.PercentComplete < 90 {
				t.Errorf("during the edge verification: %v%% complete (%q)", r.PercentComplete, r.Summary)
			}
		}
	}
	if verifying == 0 {
		t.Fatalf("no hand-over during the edge verification: %+v\n%s", rs, log)
	}
}

// A service deployment API that keeps failing ends the attempts to pin after 3 tries in all, not
// 3 per invocation: the count is part of the state the token carries.
func TestHandlerPinFailuresSpanInvocations(t *testing.T) {
	cfg := demo.Config(awsim.Success, 14*time.Second, 300*time.Millisecond)
	cfg.Faults = map[string]awsim.Fault{"ECS.ListServiceDeployments": {ServerError: 1}}
	h, sim, log := handler(t, cfg)
	rs := runAction(t, h, sim, params(nil), 3*time.Second, 20)
	if last := rs[len(rs)-1]; !last.Success || last.ContinuationToken != "" {
		t.Fatalf("results %+v\n%s", rs, log)
	}
	if len(rs) < 4 {
		t.Fatalf("only %d invocations: the test needs several", len(rs))
	}
	// Each try is at most 2 HTTP calls (the SDK retries a 500 once there); the pin's tries are
	// the calls after the UpdateService (the preflight reads the API once before it).
	tries, sent := 0, false
	for _, c := range sim.Calls() {
		sent = sent || c.Op == "UpdateService"
		if c.Op == "ListServiceDeployments" && sent {
			tries++
		}
	}
	if tries > 3*2 {
		t.Errorf("ListServiceDeployments called %d times over %d invocations; 3 tries of 2 calls at most\n%s", tries, len(rs), log)
	}
}

// SUMMARY_FILE is the command mode's: the action is refused before anything changes, saying
// where the Lambda mode's record is.
func TestHandlerRefusesSummaryFile(t *testing.T) {
	h, sim, log := handler(t, demo.Config(awsim.Success, time.Second, time.Second))
	job := sim.NewJob()
	invoke(t, h, event(job, params(map[string]any{"SUMMARY_FILE": "/tmp/release.md"}), ""), 30*time.Second)
	r := lastResult(t, sim, job)
	if r.FailureType != "ConfigurationError" || !strings.Contains(r.FailureMessage, "SUMMARY_FILE is the command mode's") {
		t.Fatalf("result %+v\n%s", r, log)
	}
	if e := sim.Effects(); len(e.Deployments) != 0 || len(e.Invalidations) != 0 {
		t.Fatalf("a refused action changed %+v", e)
	}
}

// The action's summary carries the console links of what the release made, whole, within
// CodePipeline's 2,048 characters; a failure's message carries them too.
func TestHandlerSummaryLinks(t *testing.T) {
	h, sim, log := handler(t, demo.Config(awsim.Success, time.Second, 500*time.Millisecond))
	job := sim.NewJob()
	invoke(t, h, event(job, params(nil), ""), time.Minute)
	r := lastResult(t, sim, job)
	for _, want := range []string{
		"; console: api service deployment https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/tsa-gallery/services/api/deployments?region=us-east-1",
		"; E2DEMO0DIST0AB invalidation https://us-east-1.console.aws.amazon.com/cloudfront/v4/home#/distributions/E2DEMO0DIST0AB/invalidations/details/I",
	} {
		if !r.Success || !strings.Contains(r.Summary, want) || len(r.Summary) > 2048 {
			t.Fatalf("summary %q lacks %q\n%s", r.Summary, want, log)
		}
	}
	h, sim, log = handler(t, demo.Config(awsim.Rollback, time.Second, time.Second))
	job = sim.NewJob()
	invoke(t, h, event(job, params(nil), ""), time.Minute)
	if r := lastResult(t, sim, job); r.FailureType != "JobFailed" || !strings.Contains(r.FailureMessage, "; console: api service deployment https://") {
		t.Fatalf("result %+v\n%s", r, log)
	}
}
