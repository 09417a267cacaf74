// Package e2e_test runs the built binary against the simulator (and against moto's server): the
// command mode, the Lambda mode under aws-lambda-rie, the defects found against AWS's contract
// and the reliability suite. The simulator's effect counters say what really changed.
package e2e_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
	"github.com/deploystep/deploystep/deploy/report"
	"github.com/deploystep/deploystep/internal/testtool"
)

const demoImage = demo.Image

// result is how a run of the binary ended.
type result = testtool.Result

var startSim = testtool.Sim

// endpoint is an AWS emulator a run talks to: awsim, or moto's server.
type endpoint interface{ Env() []string }

// env is the environment of a run against sim: the emulator's endpoint environment, the demo
// world's names, nothing from the developer's own AWS configuration. extra overrides ("NAME="
// removes).
func env(sim endpoint, extra ...string) []string {
	base := demo.Settings()
	base["PATH"], base["HOME"], base["POLL_INTERVAL"] = os.Getenv("PATH"), os.TempDir(), "250ms"
	for _, kv := range append(sim.Env(), extra...) {
		k, v, _ := strings.Cut(kv, "=")
		if v == "" {
			delete(base, k)
		} else {
			base[k] = v
		}
	}
	var out []string
	for k, v := range base {
		out = append(out, k+"="+v)
	}
	return out
}

// runBin runs the binary to its end (4 minutes at most). It never stops the test itself, so
// goroutines may call it; a run that could not build, start, or end by itself has code -1 and err.
func runBin(t *testing.T, environ []string, args ...string) result {
	t.Helper()
	return testtool.RunBinary(environ, args...)
}

func world(kind string, rollout time.Duration) awsim.Config {
	return demo.Config(kind, rollout, 500*time.Millisecond)
}

// effects are the demo service's deployments and the demo distribution's invalidations.
func effects(sim *awsim.Server) (deployments, invalidations int) {
	e := sim.Effects()
	return e.Deployments[demo.Cluster+"/"+demo.Service], e.Invalidations[demo.Distribution]
}

// revisions counts the task-definition revisions registered in the demo service's family.
func revisions(sim *awsim.Server) int { return sim.Effects().Registrations[demo.Service] }

func wantEffects(t *testing.T, sim *awsim.Server, deployments, invalidations int, r fmt.Stringer) {
	t.Helper()
	dep, inv := effects(sim)
	if dep != deployments {
		t.Errorf("deployments = %d, want %d\n%s", dep, deployments, r)
	}
	if inv != invalidations {
		t.Errorf("invalidations = %d, want %d\n%s", inv, invalidations, r)
	}
}

func wantOutput(t *testing.T, r result, code int, parts ...string) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("exit code %d, want %d\n%s", r.Code, code, r)
	}
	all := r.Stdout + r.Stderr
	for _, p := range parts {
		if !strings.Contains(all, p) {
			t.Errorf("output lacks %q\n%s", p, r)
		}
	}
}

func TestE2ESuccess(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(awsim.Success, time.Second))
	r := runBin(t, env(sim))
	wantOutput(t, r, 0, "started deployment ecs-svc/", "completed: 2 of 2 tasks running", "invalidation I", "completed",
		"summary: succeeded", "image digest:  sha256:", "has reached a steady state")
	wantEffects(t, sim, 1, 1, r)
}

func TestE2ESeveralServices(t *testing.T) {
	t.Parallel()
	cfg := world(awsim.Success, time.Second)
	svc := cfg.Clusters[0].Services[0]
	for _, name := range []string{"web", "worker"} {
		s := svc
		s.Name = name
		s.Scenario.Rollout = awsim.Duration(1500 * time.Millisecond)
		cfg.Clusters[0].Services = append(cfg.Clusters[0].Services, s)
	}
	sim := startSim(t, cfg)
	r := runBin(t, env(sim, "SERVICE=api, web,worker"))
	wantOutput(t, r, 0, "api: deployment ecs-svc/", "web: deployment ecs-svc/", "worker: deployment ecs-svc/", "summary: succeeded")
	e := sim.Effects()
	for _, name := range []string{"api", "web", "worker"} {
		if e.Deployments[demo.Cluster+"/"+name] != 1 {
			t.Errorf("%s: deployments = %d, want 1", name, e.Deployments[demo.Cluster+"/"+name])
		}
	}
	if e.Invalidations[demo.Distribution] != 1 {
		t.Errorf("invalidations = %v", e.Invalidations)
	}
}

// TestE2EVerdicts: each scenario's verdict, exit code, message, effects and time to verdict.
func TestE2EVerdicts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		kind    string
		rollout time.Duration
		tweak   func(*awsim.ServiceSpec)
		args    []string
		code    int
		want    []string
		within  time.Duration // 0: no bound beyond runBin's
	}{
		// The breaker trips at 1.5s after two failed tasks, before deploystep's own threshold (3).
		{"circuit breaker rollback", awsim.Rollback, 2 * time.Second, func(s *awsim.ServiceSpec) {
			s.Scenario.TaskFailEvery = awsim.Duration(700 * time.Millisecond)
			s.Scenario.FailAfter = awsim.Duration(1500 * time.Millisecond)
		}, nil, 1, []string{"ECS deployment circuit breaker: tasks failed to start.", "Essential container in task exited", "summary: failed"}, 0},
		// The third failure is at 0.9s; a few poll intervals (250ms) later at most, plus start-up.
		{"crash loop fails fast", awsim.CrashLoop, 2 * time.Second, func(s *awsim.ServiceSpec) {
			s.CircuitBreaker = false
			s.Scenario.TaskFailEvery = awsim.Duration(300 * time.Millisecond)
		}, nil, 1, []string{"CannotPullContainerError", "3 tasks failed (threshold 3: deploystep's max(3, desired/2): the service's circuit breaker is off)"}, 4 * time.Second},
		{"never finishes: times out", awsim.NeverFinish, time.Second, nil, []string{"-timeout", "3s"}, 3,
			[]string{"timed out after 3s during follow", "still in progress"}, 6 * time.Second},
		{"wrong digest", awsim.WrongDigest, time.Second, nil, nil, 1, []string{"instead of the pushed sha256:"}, 0},
		{"foreign deployment replaces ours", awsim.Foreign, 2 * time.Second, nil, nil, 1,
			[]string{"is no longer the PRIMARY", "replaced by another deployment"}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := world(c.kind, c.rollout)
			if c.tweak != nil {
				c.tweak(&cfg.Clusters[0].Services[0])
			}
			sim := startSim(t, cfg)
			r := runBin(t, env(sim), c.args...)
			wantOutput(t, r, c.code, c.want...)
			wantEffects(t, sim, 1, 0, r)
			if c.within > 0 && r.Took() > c.within {
				t.Errorf("took %v to reach a verdict; at most %v", r.Took(), c.within)
			}
		})
	}
}

func TestE2ENotFound(t *testing.T) {
	t.Parallel()
	const where = "in us-east-1, account 123456789012"
	cases := []struct {
		name  string
		extra []string
		want  []string
	}{
		{"service", []string{"SERVICE=nope"}, []string{"service nope: not found in cluster tsa-gallery " + where + " (SERVICE lists"}},
		{"one of several services", []string{"SERVICE=api,nope"}, []string{"service nope: not found"}},
		{"cluster", []string{"CLUSTER=tsa-galery"}, []string{"cluster tsa-galery: not found " + where + ": CLUSTER names no cluster there"}},
		{"distribution", []string{"DISTRIBUTIONID=ENOPE0000000"}, []string{"distribution ENOPE0000000: not found in account 123456789012 (CloudFront is global"}},
		{"tag", []string{"IMAGE=123456789012.dkr.ecr.us-east-1.amazonaws.com/tsa/gallery:nope"},
			[]string{"ImageNotFoundException", "(looked in registry 123456789012 in us-east-1, repository tsa/gallery: no image with tag nope"}},
		{"repository", []string{"IMAGE=123456789012.dkr.ecr.us-east-1.amazonaws.com/nope:v1"}, []string{"RepositoryNotFoundException", "no repository nope there"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, world(awsim.Success, time.Second))
			r := runBin(t, env(sim, c.extra...))
			wantOutput(t, r, 2, append(c.want, "summary: configuration error")...)
			if n := sim.CountCalls("ECS", "UpdateService"); n != 0 {
				t.Errorf("UpdateService called %d times; nothing may change when a resource is missing", n)
			}
			wantEffects(t, sim, 0, 0, r)
		})
	}
}

func TestE2EFaultStorm(t *testing.T) {
	t.Parallel()
	cfg := world(awsim.Success, time.Second)
	cfg.Seed = 7
	cfg.Faults = map[string]awsim.Fault{"*": {Throttle: 0.3, ServerError: 0.2}}
	sim := startSim(t, cfg)
	r := runBin(t, env(sim))
	wantOutput(t, r, 0, "summary: succeeded")
	wantEffects(t, sim, 1, 1, r)
	faults := 0
	for _, c := range sim.Calls() {
		if strings.HasPrefix(c.Error, "fault:") {
			faults++
		}
	}
	if faults == 0 {
		t.Fatal("no fault was injected; the test proves nothing")
	}
}

func TestE2ERerunSameBuildResumes(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(awsim.Success, 500*time.Millisecond))
	e := env(sim, "CODEBUILD_BUILD_ID=tsa-gallery-build:0b5f3c52-1a2b-4c3d-9e8f-001122334455")
	first := runBin(t, e)
	wantOutput(t, first, 0, "CallerReference deploystep-tsa-gallery-build:0b5f3c52")
	second := runBin(t, e)
	wantOutput(t, second, 0, "resuming: deployment", "summary: succeeded")
	wantEffects(t, sim, 1, 1, second)
	// Another build is another release.
	third := runBin(t, env(sim, "CODEBUILD_BUILD_ID=tsa-gallery-build:ffffffff-1a2b-4c3d-9e8f-001122334455"))
	wantOutput(t, third, 0, "started deployment", "summary: succeeded")
	wantEffects(t, sim, 2, 2, third)
}

func TestE2EDryRun(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(awsim.Success, time.Second))
	r := runBin(t, env(sim), "-dry-run")
	wantOutput(t, r, 0, "[ok  ] cluster tsa-gallery: ACTIVE", "[ok  ] service api: ACTIVE, ECS deployment controller",
		"[ok  ] image "+demoImage+": digest sha256:", "[ok  ] distribution "+demo.Distribution, "plan (dry run, nothing was changed)")
	for _, op := range []string{"UpdateService", "CreateInvalidation"} {
		if n := sim.CountCalls("", op); n != 0 {
			t.Errorf("dry run called %s %d times", op, n)
		}
	}
	wantEffects(t, sim, 0, 0, r)

	// Without credentials and region it still prints the plan and says what it did not check.
	before := len(sim.Calls())
	bare := runBin(t, env(sim, "AWS_REGION=", "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY="), "-dry-run")
	wantOutput(t, bare, 0, "[skip] region: not set", "plan (dry run", "1. image:           "+demoImage)
	if n := len(sim.Calls()) - before; n != 0 {
		t.Errorf("%d calls made without a region", n)
	}

	// A failed check is a configuration error.
	bad := runBin(t, env(sim, "SERVICE=nope"), "-dry-run")
	wantOutput(t, bad, 2, "[FAIL] service nope: not found")
}

func TestE2EMissingSettings(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(awsim.Success, time.Second))
	r := runBin(t, env(sim, "CLUSTER=", "SERVICE=", "DISTRIBUTIONID=", "IMAGE=not-an-image", "OUTPUT=yaml"))
	wantOutput(t, r, 2, "missing CLUSTER (like CLUSTER=tsa-gallery), SERVICE (like SERVICE=api), DISTRIBUTIONID", "IMAGE:", "OUTPUT must be text, json or github")
	if n := len(sim.Calls()); n != 0 {
		t.Fatalf("%d API calls with invalid settings, want 0", n)
	}
	// Flags, -h and -version: main_test.go, in-process.
}

func TestE2EJSONOutput(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(awsim.Success, 500*time.Millisecond))
	r := runBin(t, env(sim), "-output", "json")
	wantOutput(t, r, 0, `"kind":"deployment"`, `"kind":"result"`, `"result":"succeeded"`)
	// Every line one event of the documented shape (no field it does not have), in time order,
	// the last one the result with the summary of what the release did.
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	var last report.Event
	kinds := map[string]int{}
	for i, line := range lines {
		var ev report.Event
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil || dec.More() {
			t.Fatalf("line %d is not one event: %v: %q", i+1, err, line)
		}
		if ev.Time.IsZero() || ev.Kind == "" || ev.Message == "" || ev.Level == "" {
			t.Errorf("line %d lacks its time, kind, level or message: %q", i+1, line)
		}
		if i > 0 && (ev.Time.Before(last.Time) || ev.Elapsed < last.Elapsed) {
			t.Errorf("line %d goes back in time: %q after %v", i+1, line, last.Time)
		}
		kinds[ev.Kind]++
		last = ev
	}
	s := last.Summary
	if last.Kind != report.KindResult || kinds[report.KindResult] != 1 || s == nil {
		t.Fatalf("the last line is not the one result: %+v (%d results)", last, kinds[report.KindResult])
	}
	if s.Result != "succeeded" || s.ExitCode != 0 || len(s.Deployments) != 1 || len(s.TaskDefinitions) == 0 || !strings.HasPrefix(s.Digest, "sha256:") ||
		s.Account != "123456789012" || len(s.Phases) == 0 {
		t.Errorf("summary: %+v", *s)
	}
	for _, k := range []string{report.KindIdentity, report.KindDeployment, report.KindProgress} {
		if kinds[k] == 0 {
			t.Errorf("no %s event: %v", k, kinds)
		}
	}
}
