package main

// End-to-end tests: the built binary talks HTTP to the simulator, and the simulator's effect
// counters say what really changed.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"deploystep/awsim"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "deploystep-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "deploystep")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building deploystep: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const demoImage = "123456789012.dkr.ecr.us-east-1.amazonaws.com/" + awsim.DemoRepository + ":" + awsim.DemoTag

type result struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("exit %d after %v\n--- stdout\n%s--- stderr\n%s", r.code, r.took.Round(time.Millisecond), r.stdout, r.stderr)
}

func startSim(t *testing.T, cfg awsim.Config) *awsim.Server {
	t.Helper()
	sim, err := awsim.Start(cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim
}

// endpoint is an AWS emulator: awsim, or moto's server.
type endpoint interface{ URL() string }

// env is the environment of a run against sim: the demo world's names, placeholder credentials,
// nothing from the developer's own AWS configuration. extra overrides ("NAME=" removes).
func env(sim endpoint, extra ...string) []string {
	base := map[string]string{
		"PATH": os.Getenv("PATH"), "HOME": os.TempDir(),
		"AWS_ENDPOINT_URL": sim.URL(), "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "AKIDSIMULATOR", "AWS_SECRET_ACCESS_KEY": "simulator-secret",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true",
		"CLUSTER": awsim.DemoCluster, "SERVICE": awsim.DemoService, "DISTRIBUTIONID": awsim.DemoDistribution,
		"IMAGE": demoImage, "POLL_INTERVAL": "250ms",
	}
	for _, kv := range extra {
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

func runBin(t *testing.T, environ []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = environ
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	if exit, ok := err.(*exec.ExitError); ok {
		r.code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("running deploystep: %v", err)
	}
	return r
}

func world(kind string, rollout time.Duration) awsim.Config {
	return awsim.DemoConfig(kind, rollout, 500*time.Millisecond)
}

func wantEffects(t *testing.T, sim *awsim.Server, deployments, invalidations int, r result) {
	t.Helper()
	e := sim.Effects()
	if got := e.Deployments[awsim.DemoCluster+"/"+awsim.DemoService]; got != deployments {
		t.Errorf("deployments = %d, want %d\n%s", got, deployments, r)
	}
	if got := e.Invalidations[awsim.DemoDistribution]; got != invalidations {
		t.Errorf("invalidations = %d, want %d\n%s", got, invalidations, r)
	}
}

func wantOutput(t *testing.T, r result, code int, parts ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\n%s", r.code, code, r)
	}
	all := r.stdout + r.stderr
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
		if e.Deployments[awsim.DemoCluster+"/"+name] != 1 {
			t.Errorf("%s: deployments = %d, want 1", name, e.Deployments[awsim.DemoCluster+"/"+name])
		}
	}
	if e.Invalidations[awsim.DemoDistribution] != 1 {
		t.Errorf("invalidations = %v", e.Invalidations)
	}
}

func TestE2ECircuitBreakerRollback(t *testing.T) {
	t.Parallel()
	// The breaker trips at 1.5s after two failed tasks, before deploystep's own threshold (3).
	cfg := world(awsim.Rollback, 2*time.Second)
	cfg.Clusters[0].Services[0].Scenario.TaskFailEvery = awsim.Duration(700 * time.Millisecond)
	cfg.Clusters[0].Services[0].Scenario.FailAfter = awsim.Duration(1500 * time.Millisecond)
	sim := startSim(t, cfg)
	r := runBin(t, env(sim))
	wantOutput(t, r, 1, "ECS deployment circuit breaker: tasks failed to start.", "Essential container in task exited", "summary: failed")
	wantEffects(t, sim, 1, 0, r)
}

func TestE2ECrashLoopFailsFast(t *testing.T) {
	t.Parallel()
	cfg := world(awsim.CrashLoop, 2*time.Second)
	cfg.Clusters[0].Services[0].CircuitBreaker = false
	cfg.Clusters[0].Services[0].Scenario.TaskFailEvery = awsim.Duration(300 * time.Millisecond)
	sim := startSim(t, cfg)
	r := runBin(t, env(sim))
	wantOutput(t, r, 1, "CannotPullContainerError", "3 tasks failed (threshold 3)")
	wantEffects(t, sim, 1, 0, r)
	// The third failure is at 0.9s; a few poll intervals (250ms) later at most, plus start-up.
	if r.took > 4*time.Second {
		t.Errorf("took %v to fail a crash loop whose evidence was complete at 0.9s", r.took)
	}
}

func TestE2ENeverFinishesTimesOut(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(awsim.NeverFinish, time.Second))
	r := runBin(t, env(sim), "-timeout", "3s")
	wantOutput(t, r, 3, "timed out after 3s during follow", "still in progress")
	wantEffects(t, sim, 1, 0, r)
	if r.took > 6*time.Second {
		t.Errorf("a 3s timeout took %v", r.took)
	}
}

func TestE2EWrongDigest(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(awsim.WrongDigest, time.Second))
	r := runBin(t, env(sim))
	wantOutput(t, r, 1, "instead of the pushed sha256:")
	wantEffects(t, sim, 1, 0, r)
}

func TestE2EForeignDeploymentReplacesOurs(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(awsim.Foreign, 2*time.Second))
	r := runBin(t, env(sim))
	wantOutput(t, r, 1, "is no longer the PRIMARY", "replaced by another deployment")
	wantEffects(t, sim, 1, 0, r)
}

func TestE2ENotFound(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		extra []string
		want  string
	}{
		{"service", []string{"SERVICE=nope"}, "service nope not found in cluster"},
		{"one of several services", []string{"SERVICE=api,nope"}, "service nope not found"},
		{"cluster", []string{"CLUSTER=nope"}, "cluster not found"},
		{"distribution", []string{"DISTRIBUTIONID=ENOPE0000000"}, "distribution ENOPE0000000: distribution not found"},
		{"tag", []string{"IMAGE=123456789012.dkr.ecr.us-east-1.amazonaws.com/tsa/gallery:nope"}, "ImageNotFoundException"},
		{"repository", []string{"IMAGE=123456789012.dkr.ecr.us-east-1.amazonaws.com/nope:v1"}, "RepositoryNotFoundException"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, world(awsim.Success, time.Second))
			r := runBin(t, env(sim, c.extra...))
			wantOutput(t, r, 2, c.want, "summary: configuration error")
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
		"[ok  ] image "+demoImage+": digest sha256:", "[ok  ] distribution "+awsim.DemoDistribution, "plan (dry run, nothing was changed)")
	for _, op := range []string{"UpdateService", "CreateInvalidation"} {
		if n := sim.CountCalls("", op); n != 0 {
			t.Errorf("dry run called %s %d times", op, n)
		}
	}
	wantEffects(t, sim, 0, 0, r)

	// Without credentials and region it still prints the plan and says what it did not check.
	before := len(sim.Calls())
	bare := runBin(t, env(sim, "AWS_REGION=", "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY="), "-dry-run")
	wantOutput(t, bare, 0, "[skip] region: not set", "plan (dry run", "1. image:        "+demoImage)
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
	wantOutput(t, r, 2, "missing CLUSTER, SERVICE, DISTRIBUTIONID", "IMAGE:", "OUTPUT must be text or json")
	if n := len(sim.Calls()); n != 0 {
		t.Fatalf("%d API calls with invalid settings, want 0", n)
	}
	bad := runBin(t, env(sim), "-poll", "soon")
	wantOutput(t, bad, 2, "invalid value \"soon\" for flag -poll")
	help := runBin(t, env(sim), "-h")
	wantOutput(t, help, 0, "Exit codes:", "130  interrupted", "DEPLOY_TIMEOUT")
	ver := runBin(t, env(sim), "-version")
	wantOutput(t, ver, 0, "deploystep ")
}

func TestE2EJSONOutput(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(awsim.Success, 500*time.Millisecond))
	r := runBin(t, env(sim), "-output", "json")
	wantOutput(t, r, 0, `"kind":"deployment"`, `"kind":"result"`, `"result":"succeeded"`)
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if !strings.HasPrefix(line, "{") || !strings.HasSuffix(line, "}") {
			t.Fatalf("not a JSON line: %q", line)
		}
	}
}
