package e2e_test

// The reliability suite: faults, crashes, duplicates, signals and secrets, against the built
// binary (command and Lambda modes) and the simulator's effect counters. Seeded and scaled
// down; `go test -run Reliability -long` runs 20 seeds per fault cell instead of 3.

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
	"github.com/deploystep/deploystep/internal/testtool"
)

var long = flag.Bool("long", false, "reliability: 20 seeds per fault cell instead of 3")

// TestReliabilitySIGTERMInEachPhase holds the binary in each phase (a slow call or a long wait
// in the simulator) and stops it like a stopped CodeBuild build does.
func TestReliabilitySIGTERMInEachPhase(t *testing.T) {
	t.Parallel()
	slow := func(op string) map[string]awsim.Fault {
		return map[string]awsim.Fault{op: {Latency: 1, Delay: awsim.Duration(20 * time.Second)}}
	}
	cases := []struct {
		phase  string
		kind   string
		faults map[string]awsim.Fault
		inv    time.Duration
		left   string
	}{
		{"preflight", awsim.Success, slow("CloudFront.GetDistribution"), time.Second, "api not updated"},
		{"image", awsim.Success, slow("ECR.DescribeImages"), time.Second, "api not updated"},
		{"predeploy", demo.Migrate, nil, time.Second, "pre-deploy task "},
		{"deploy", awsim.Success, slow("ECS.UpdateService"), time.Second, "api not updated"},
		{"follow", awsim.NeverFinish, nil, time.Second, "still in progress (ECS goes on with it)"},
		{"invalidate", awsim.Success, slow("CloudFront.CreateInvalidation"), time.Second, "no invalidation created on " + demo.Distribution},
		{"wait", awsim.Success, nil, time.Minute, "created (CloudFront completes it)"},
	}
	for _, c := range cases {
		t.Run(c.phase, func(t *testing.T) {
			t.Parallel()
			cfg := demo.Config(c.kind, 500*time.Millisecond, c.inv)
			cfg.Faults = c.faults
			var extra []string
			if c.phase == "predeploy" { // a migration that runs until it is stopped
				cfg.RunTasks.Never, extra = true, []string{migrate}
			}
			sim := startSim(t, cfg)
			cmd := exec.Command(testtool.Binary(t))
			cmd.Env = env(sim, extra...)
			var out testtool.SyncBuffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			// Wait until the run is in the phase, from its own output.
			marker := map[string]string{"preflight": "", "image": "", "predeploy": "started pre-deploy task", "deploy": " is sha256:", "follow": "started deployment",
				"invalidate": "completed: 2 of 2 tasks running", "wait": "is InProgress"}[c.phase]
			deadline := time.Now().Add(20 * time.Second)
			for marker != "" && !strings.Contains(out.String(), marker) && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(700 * time.Millisecond)
			sent := time.Now()
			cmd.Process.Signal(syscall.SIGTERM)
			err := cmd.Wait()
			took := time.Since(sent)
			exit, ok := err.(*exec.ExitError)
			if !ok || exit.ExitCode() != 130 {
				t.Fatalf("exit %v, want 130\n%s", err, out.String())
			}
			if took > 2*time.Second {
				t.Errorf("took %v to stop after SIGTERM", took)
			}
			if !strings.Contains(out.String(), "interrupted during "+c.phase) || !strings.Contains(out.String(), c.left) {
				t.Errorf("no line saying what was left during %s (%q):\n%s", c.phase, c.left, out.String())
			}
			if c.phase == "predeploy" && (len(sim.Effects().TaskStops) != 1 || !strings.Contains(out.String(), "stopped (StopTask sent); api not updated")) {
				t.Errorf("SIGTERM during the pre-deploy task: %d tasks stopped, want 1 and said\n%s", len(sim.Effects().TaskStops), out.String())
			}
		})
	}
}

// TestReliabilityNoSecretsInOutput plants credentials in the environment and in the Lambda event
// and searches every byte of every scenario's output, in both modes and both output formats.
func TestReliabilityNoSecretsInOutput(t *testing.T) {
	t.Parallel()
	planted := []string{"AKIAPLANTEDENVKEY123", "planted/Env+Secret/Value9", "plantedEnvSessionTokenZZ", plantedKeyID, plantedSecret, plantedSession}
	secretEnv := []string{"AWS_ACCESS_KEY_ID=" + planted[0], "AWS_SECRET_ACCESS_KEY=" + planted[1], "AWS_SESSION_TOKEN=" + planted[2]}
	scenarios := []struct {
		name  string
		kind  string
		extra []string
		args  []string
	}{
		{"success", awsim.Success, nil, nil},
		{"rollback", awsim.Rollback, nil, nil},
		{"crashloop", awsim.CrashLoop, nil, nil},
		{"wrong digest", awsim.WrongDigest, nil, nil},
		{"timeout", awsim.NeverFinish, nil, []string{"-timeout", "2s"}},
		{"not found", awsim.Success, []string{"SERVICE=nope"}, nil},
		{"bad settings", awsim.Success, []string{"OUTPUT=yaml", "SERVICE="}, nil},
		{"dry run", awsim.Success, nil, []string{"-dry-run"}},
		{"throttled", awsim.Success, nil, nil},
	}
	for _, sc := range scenarios {
		for _, format := range []string{"text", "json"} {
			sc, format := sc, format
			t.Run(sc.name+"/"+format, func(t *testing.T) {
				t.Parallel()
				cfg := demo.Config(sc.kind, time.Second, 500*time.Millisecond)
				if sc.name == "throttled" {
					cfg.Faults = map[string]awsim.Fault{"*": {Throttle: 0.3, ServerError: 0.2}}
				}
				sim := startSim(t, cfg)
				r := runBin(t, env(sim, append(append(secretEnv, sc.extra...), "OUTPUT="+format)...), sc.args...)
				for _, s := range planted {
					if strings.Contains(r.Stdout+r.Stderr, s) {
						t.Errorf("output contains the planted credential %q\n%s", s, r)
					}
				}
			})
		}
	}
	// The Lambda mode: planted in the function's environment and in the event, every outcome.
	sim := startSim(t, demo.Config(awsim.Success, 2*time.Second, time.Second))
	d, logs := startRIE(t, sim, 3, "AWS_SESSION_TOKEN="+planted[2], "OUTPUT=json")
	for _, params := range []string{userParameters(nil), `{"CLUSTER":`, userParameters(map[string]any{"SERVICE": "nope"})} {
		x, _ := d.Run(context.Background(), jobInput(params))
		noSecrets(t, "the job results", results(x))
	}
	if _, err := d.Invoke(context.Background(), awsim.Event(sim.NewJob(), jobInput(userParameters(nil)), "ds1.tampered."+plantedSecret)); err != nil {
		t.Fatal(err)
	}
	for _, s := range planted {
		if strings.Contains(logs.String(), s) {
			t.Errorf("the function's log contains the planted credential %q", s)
		}
	}
}

// faultCells are the fault matrix's rows: each fault alone on every operation, then all of them.
var faultCells = []struct {
	name  string
	fault awsim.Fault
}{
	{"throttling 30%", awsim.Fault{Throttle: 0.3}},
	{"5xx 20%", awsim.Fault{ServerError: 0.2}},
	{"connection resets 10%", awsim.Fault{Reset: 0.05, ResetAfter: 0.05}},
	{"2 s latency spikes", awsim.Fault{Latency: 0.1, Delay: awsim.Duration(2 * time.Second)}},
	{"all together", awsim.Fault{Throttle: 0.3, ServerError: 0.2, Reset: 0.05, ResetAfter: 0.05, Latency: 0.1, Delay: awsim.Duration(2 * time.Second)}},
}

type cellResult struct {
	mu                                           sync.Mutex
	runs, failures, faults                       int
	revisions, tasks, deployments, invalidations int
	notes                                        []string
}

func (c *cellResult) add(ok bool, faults, revisions, tasks, deployments, invalidations int, note string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.runs++
	c.faults += faults
	c.revisions += revisions
	c.tasks += tasks
	c.deployments += deployments
	c.invalidations += invalidations
	if !ok {
		c.failures++
		c.notes = append(c.notes, note)
	}
}

func countFaults(sim *awsim.Server) int {
	n := 0
	for _, c := range sim.Calls() {
		if strings.HasPrefix(c.Error, "fault:") || c.Delay > 0 {
			n++
		}
	}
	return n
}

// TestReliabilityFaultMatrix runs every fault cell with several seeds in both modes. Each run
// must end with the right verdict, exactly one deployment and one invalidation (the simulator's
// effect counters), within its timeout. It prints the matrix that docs/checked.md shows. It runs on
// its own, not beside the parallel tests, so its timing is the system's, not the test machine's.
// Every 5xx or reset on UpdateService costs the unknown-outcome window, so the all-together cell
// is slow by design: the bound is 3 minutes.
func TestReliabilityFaultMatrix(t *testing.T) {
	seeds := 3
	if *long {
		seeds = 20
	}
	rie, bootstrap := testtool.RIE(t), testtool.Binary(t)
	cells := make([][2]*cellResult, len(faultCells))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, cell := range faultCells {
		cells[i] = [2]*cellResult{{}, {}}
		for seed := 1; seed <= seeds; seed++ {
			for mode := 0; mode < 2; mode++ {
				wg.Add(1)
				go func(i, seed, mode int, f awsim.Fault) {
					defer wg.Done()
					sem <- struct{}{}
					defer func() { <-sem }()
					// Rollout 12 s against a 15 s function (slices of 10 s, a 5 s margin to report):
					// every Lambda run hands over at least once.
					// Every release runs a migration first (6 s, six log lines).
					cfg := demo.Config(demo.Migrate, 12*time.Second, time.Second)
					cfg.Seed = int64(seed*100 + i)
					cfg.Faults = map[string]awsim.Fault{"*": f}
					sim, err := awsim.Start(cfg, 0)
					if err != nil {
						t.Error(err)
						return
					}
					defer sim.Close()
					var ok bool
					var note string
					if mode == 0 {
						r := runBin(t, env(sim, "DEPLOY_TIMEOUT=3m", migrate, fmt.Sprintf("CODEBUILD_BUILD_ID=matrix:%d-%d", i, seed)))
						ok, note = r.Code == 0, r.String()
					} else {
						d, logs, stop, err := launchRIE(rie, bootstrap, sim, 15)
						if err != nil {
							t.Error(err)
							return
						}
						defer stop()
						ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
						x, err := d.Run(ctx, jobInput(userParameters(map[string]any{"ACTION_TIMEOUT": "3m", "PREDEPLOY_COMMAND": demo.Migration})))
						cancel()
						final, done := x.Final()
						ok = err == nil && done && final.Success && len(x.Invocations) >= 2
						note = fmt.Sprintf("%v\n%s\n%s", err, results(x), logs)
					}
					dep, inv := effects(sim)
					rev, tasks := revisions(sim), runTasks(sim)
					ok = ok && rev == 1 && tasks == 1 && dep == 1 && inv == 1
					cells[i][mode].add(ok, countFaults(sim), rev, tasks, dep, inv, fmt.Sprintf("seed %d: revisions %d, migration tasks %d, deployments %d, invalidations %d\n%s", seed, rev, tasks, dep, inv, note))
				}(i, seed, mode, cell.fault)
			}
		}
	}
	wg.Wait()
	var table strings.Builder
	table.WriteString("| faults on every operation | mode | runs | faults injected | revisions registered | migration tasks | deployments | invalidations | failures |\n|---|---|---|---|---|---|---|---|---|\n")
	for i, cell := range faultCells {
		for mode, name := range []string{"command", "Lambda"} {
			r := cells[i][mode]
			fmt.Fprintf(&table, "| %s | %s | %d | %d | %d | %d | %d | %d | %d |\n", cell.name, name, r.runs, r.faults, r.revisions, r.tasks, r.deployments, r.invalidations, r.failures)
			for _, n := range r.notes {
				t.Errorf("%s, %s: %s", cell.name, name, n)
			}
		}
	}
	t.Logf("fault matrix (%d seeds a cell):\n%s", seeds, table.String())
}

// TestReliabilityKillAndRerun kills the command with SIGKILL at seeded random moments and runs
// it again with the same CODEBUILD_BUILD_ID: the re-run finishes the release, says it resumes or
// re-checks, and the release has one deployment and one invalidation.
func TestReliabilityKillAndRerun(t *testing.T) {
	t.Parallel()
	runs := 6
	if *long {
		runs = 20
	}
	rng := rand.New(rand.NewSource(7))
	bin := testtool.Binary(t) // here, not in the goroutines
	var wg sync.WaitGroup
	for i := 0; i < runs; i++ {
		after := time.Duration(rng.Int63n(int64(4500 * time.Millisecond)))
		wg.Add(1)
		go func(i int, after time.Duration) {
			defer wg.Done()
			sim, err := awsim.Start(demo.Config(demo.Migrate, 2*time.Second, time.Second), 0)
			if err != nil {
				t.Error(err)
				return
			}
			defer sim.Close()
			e := env(sim, migrate, fmt.Sprintf("CODEBUILD_BUILD_ID=kill:%d", i))
			cmd := exec.Command(bin)
			cmd.Env = e
			var first bytes.Buffer
			cmd.Stdout, cmd.Stderr = &first, &first
			cmd.Start()
			time.Sleep(after)
			cmd.Process.Kill()
			cmd.Wait()
			second := runBin(t, e)
			dep, inv := effects(sim)
			started := strings.Contains(first.String(), "started deployment")
			if rev, tasks := revisions(sim), runTasks(sim); second.Code != 0 || rev != 1 || tasks != 1 || dep != 1 || inv != 1 {
				t.Errorf("killed after %v: re-run exit %d, revisions %d, migration tasks %d, deployments %d, invalidations %d\n--- first run\n%s%s", after, second.Code, rev, tasks, dep, inv, first.String(), second)
			}
			if strings.Contains(first.String(), "started pre-deploy task") && !strings.Contains(second.Stdout, "resuming: pre-deploy task") {
				t.Errorf("killed after %v, after the migration started: the re-run did not say it adopts it\n%s", after, second)
			}
			if strings.Contains(first.String(), "registered task definition") && !strings.Contains(second.Stdout, "resuming: task definition") {
				t.Errorf("killed after %v, after the revision was registered: the re-run did not say it adopts it\n%s", after, second)
			}
			if started && !strings.Contains(second.Stdout, "resuming: deployment") {
				t.Errorf("killed after %v, after the deployment started: the re-run did not say it resumes\n%s", after, second)
			}
		}(i, after)
	}
	wg.Wait()
}

// TestReliabilityLambdaEveryEventTwice delivers every job event twice, then the first one again
// after the final result: one deployment, one invalidation, one final result.
func TestReliabilityLambdaEveryEventTwice(t *testing.T) {
	t.Parallel()
	sim := startSim(t, demo.Config(demo.Migrate, 5*time.Second, 2*time.Second))
	d, logs := startRIE(t, sim, 3)
	in := jobInput(userParameters(map[string]any{"PREDEPLOY_COMMAND": demo.Migration}))
	ctx := context.Background()
	first := sim.NewJob()
	job, token := first, ""
	var jobs []string
	for i := 0; i < 30; i++ {
		jobs = append(jobs, job)
		for k := 0; k < 2; k++ {
			if _, err := d.InvokeJob(ctx, job, in, token); err != nil {
				t.Fatal(err)
			}
		}
		j, _ := sim.Job(job)
		if len(j.Results) != 1 {
			t.Fatalf("job %s has %d results after two deliveries\n%s", job, len(j.Results), logs)
		}
		if j.Results[0].Final() {
			break
		}
		job, token = sim.NewJob(), j.Results[0].ContinuationToken
	}
	if _, err := d.InvokeJob(ctx, first, in, ""); err != nil {
		t.Fatal(err)
	}
	e := sim.Effects()
	finals := 0
	for _, n := range e.JobResults {
		finals += n
	}
	if e.Registrations[demo.Service] != 1 || e.RunTasks[demo.Service] != 1 || e.Deployments[demo.Cluster+"/"+demo.Service] != 1 || e.Invalidations[demo.Distribution] != 1 || finals != 1 {
		t.Fatalf("effects %+v over %d jobs\n%s", e, len(jobs), logs)
	}
	if !strings.Contains(logs.String(), "already has its result") {
		t.Errorf("the duplicates did not meet InvalidJobStateException:\n%s", logs)
	}
}

// TestReliabilityCutOffCallIsNotRepeated: every call of one mutating operation is held 5 s by
// the simulator, longer than the function's slice of 4 s, so the call is cut off and lands after
// the next invocation has started. That invocation must find what it made (the deployment by the
// service's tag, the revision by its tag, the task by its startedBy) instead of sending another.
func TestReliabilityCutOffCallIsNotRepeated(t *testing.T) {
	t.Parallel()
	cases := []struct {
		op, kind string
		params   map[string]any
		made     func(*awsim.Server) int
		said     string
	}{
		{"UpdateService", awsim.Success, nil,
			func(sim *awsim.Server) int { return sim.Effects().Deployments[demo.Cluster+"/"+demo.Service] },
			"UpdateService's answer was lost, but deployment"},
		{"RegisterTaskDefinition", awsim.Success, nil, revisions, "RegisterTaskDefinition's answer was lost, but api:2 was registered"},
		{"RunTask", demo.Migrate, map[string]any{"PREDEPLOY_COMMAND": demo.Migration}, runTasks, "RunTask's answer was lost, but pre-deploy task"},
	}
	for _, c := range cases {
		t.Run(c.op, func(t *testing.T) {
			t.Parallel()
			cfg := demo.Config(c.kind, 2*time.Second, time.Second)
			cfg.Faults = map[string]awsim.Fault{"ECS." + c.op: {Latency: 1, Delay: awsim.Duration(5 * time.Second)}}
			sim := startSim(t, cfg)
			d, logs := startRIE(t, sim, 6) // slices of 4 s
			x, err := d.Run(context.Background(), jobInput(userParameters(c.params)))
			final, ok := x.Final()
			if err != nil || !ok || !final.Success {
				t.Fatalf("%v %s\n%s", err, results(x), logs)
			}
			if n := c.made(sim); n != 1 {
				t.Fatalf("%d made; the cut-off %s was sent again\n%s", n, c.op, logs)
			}
			if n := sim.CountCalls("ECS", c.op); n != 1 {
				t.Errorf("%s answered %d times", c.op, n)
			}
			if !strings.Contains(logs.String(), c.said) {
				t.Errorf("the next invocation did not say it adopted what landed (%q):\n%s", c.said, logs)
			}
			switch c.op {
			case "RegisterTaskDefinition":
				if v := final.OutputVariables["TaskDefinitions"]; v != "api=arn:aws:ecs:us-east-1:123456789012:task-definition/api:2" {
					t.Errorf("output variable TaskDefinitions = %q", v)
				}
			case "RunTask":
				if !strings.Contains(logs.String(), "Batch 7 run: 2 migrations") {
					t.Errorf("the migration's lines were not printed across invocations:\n%s", logs)
				}
			}
		})
	}
}
