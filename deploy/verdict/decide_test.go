package verdict

import (
	"strings"
	"testing"
	"time"
)

func TestDecideCodeDeploy(t *testing.T) {
	events := func(statuses ...string) []CDEvent {
		names := []string{"BeforeInstall", "Install", "AfterInstall", "AllowTestTraffic", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"}
		var out []CDEvent
		for i, s := range statuses {
			out = append(out, CDEvent{Name: names[i], Status: s})
		}
		return out
	}
	ok8 := events("Succeeded", "Succeeded", "Succeeded", "Succeeded", "Succeeded", "Succeeded", "Succeeded", "Succeeded")
	for _, c := range []struct {
		name      string
		v         CDView
		waitUntil string
		verdict   Verdict
		want      string
	}{
		{"created", CDView{ID: "d-7Q2X9ABCD", Status: "Created"}, "completed", Waiting, "CodeDeploy deployment d-7Q2X9ABCD Created"},
		{"install", CDView{ID: "d-7Q2X9ABCD", Status: "InProgress", HaveTarget: true, GreenDesired: 2,
			Events: events("Succeeded", "InProgress", "Pending", "Pending", "Pending", "Pending", "Pending", "Pending")}, "completed", Waiting,
			"Install in progress; replacement task set 0/2 running, 0% of production traffic"},
		{"termination wait", CDView{ID: "d-7Q2X9ABCD", Status: "InProgress", HaveTarget: true, GreenDesired: 2, GreenRunning: 2, GreenTraffic: 100, Events: ok8},
			"completed", Waiting, "waiting for the original task set to end (termination wait); replacement task set 2/2 running, 100% of production traffic"},
		{"traffic shifted is enough", CDView{ID: "d-7Q2X9ABCD", Status: "InProgress", HaveTarget: true, GreenTraffic: 100, Events: ok8},
			"traffic-shifted", Done, "all production traffic on the replacement task set"},
		{"traffic not yet shifted", CDView{ID: "d-7Q2X9ABCD", Status: "InProgress", HaveTarget: true, GreenTraffic: 0,
			Events: events("Succeeded", "Succeeded", "Succeeded", "Succeeded", "Succeeded", "Succeeded", "InProgress", "Pending")},
			"traffic-shifted", Waiting, "AllowTraffic in progress"},
		{"ready", CDView{ID: "d-7Q2X9ABCD", Status: "Ready"}, "completed", Waiting, "waiting for traffic to be rerouted (ContinueDeployment)"},
		{"succeeded", CDView{ID: "d-7Q2X9ABCD", Status: "Succeeded"}, "completed", Done, "succeeded"},
		{"hook failed, rolled back", CDView{ID: "d-7Q2X9ABCD", Status: "Failed", ErrCode: "HOOK_EXECUTION_FAILURE", ErrMsg: "a hook failed",
			Rollback: "d-R0LLBACK1", GreenTaskSet: "ecs-svc/2000000000000000007",
			Events: []CDEvent{{Name: "AfterAllowTestTraffic", Status: "Failed", Diagnostic: "tsa-gallery-smoke-test: returned Failed"}}}, "completed", Failed,
			"CodeDeploy deployment d-7Q2X9ABCD failed at AfterAllowTestTraffic (tsa-gallery-smoke-test: returned Failed): HOOK_EXECUTION_FAILURE: a hook failed; CodeDeploy started rollback deployment d-R0LLBACK1"},
		{"stopped", CDView{ID: "d-7Q2X9ABCD", Status: "Stopped", ErrCode: "MANUAL_STOP", ErrMsg: "The deployment was stopped by the user."}, "completed", Failed,
			"d-7Q2X9ABCD stopped: MANUAL_STOP"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := DecideCodeDeploy(c.v, Pin{Deployment: c.v.ID, WaitUntil: c.waitUntil}, Evidence{})
			if d.Verdict != c.verdict || !strings.Contains(d.Message, c.want) {
				t.Fatalf("DecideCodeDeploy = %v %q; want %v containing %q", d.Verdict, d.Message, c.verdict, c.want)
			}
		})
	}
}

var (
	t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	// old is the deployment that ran before ours; ours is pinned.
	old  = DeploymentView{ID: "ecs-svc/old", Status: "ACTIVE", RolloutState: "COMPLETED", TaskDef: "api:1", Desired: 2, Running: 2, Created: t0.Add(-time.Hour)}
	ours = DeploymentView{ID: "ecs-svc/ours", Status: "PRIMARY", RolloutState: "IN_PROGRESS", TaskDef: "api:1", Desired: 2, Pending: 2, Created: t0}
)

func svc(ds ...DeploymentView) ServiceView {
	v := ServiceView{Name: "api", Status: "ACTIVE", Desired: 2, Deployments: ds}
	for _, d := range ds {
		v.Running += d.Running
		v.Pending += d.Pending
	}
	return v
}

func with(d DeploymentView, f func(*DeploymentView)) DeploymentView {
	f(&d)
	return d
}

const digest = "sha256:aaaa"

func TestDecide(t *testing.T) {
	running := with(ours, func(d *DeploymentView) { d.Running, d.Pending = 2, 0 })
	completed := with(running, func(d *DeploymentView) { d.RolloutState = "COMPLETED" })
	cases := []struct {
		name    string
		view    ServiceView
		pin     Pin
		ev      Evidence
		verdict Verdict
		want    string // in the message
		digests bool   // Needs: the digests
		reasons bool   // Needs: the stopped reasons
	}{
		{"just started", svc(ours, old), Pin{Deployment: ours.ID}, Evidence{}, Waiting, "0 of 2 new tasks running, 2 pending, 2 old tasks still running", false, false},
		{"tasks running, old draining", svc(running, old), Pin{Deployment: ours.ID}, Evidence{}, Waiting, "2 of 2 new tasks running", false, false},
		{"tasks running, digest to prefetch", svc(running, old), Pin{Deployment: ours.ID, Digest: digest}, Evidence{}, Waiting, "2 of 2", true, false},
		{"completed", svc(completed), Pin{Deployment: ours.ID}, Evidence{}, Done, "completed: 2 of 2 tasks running", false, false},
		{"completed but old still listed", svc(completed, old), Pin{Deployment: ours.ID}, Evidence{}, Done, "completed", false, false},
		{"completed, digests unknown", svc(completed), Pin{Deployment: ours.ID, Digest: digest}, Evidence{}, Waiting, "reading the digests", true, false},
		{"completed, right digest", svc(completed), Pin{Deployment: ours.ID, Digest: digest}, Evidence{Digests: []string{digest, digest}}, Done, "completed", false, false},
		{"completed, wrong digest", svc(completed), Pin{Deployment: ours.ID, Digest: digest}, Evidence{Digests: []string{digest, "sha256:bbbb"}},
			Failed, "1 of 2 tasks run sha256:bbbb instead of the pushed sha256:aaaa", false, false},
		{"completed, fewer digests than tasks", svc(completed), Pin{Deployment: ours.ID, Digest: digest}, Evidence{Digests: []string{digest}, DigestReads: 1}, Waiting, "1 of 2 tasks report", true, false},
		{"completed, no digests yet: read again", svc(completed), Pin{Deployment: ours.ID, Digest: digest}, Evidence{Digests: []string{}, DigestReads: DigestReadLimit - 1}, Waiting, "0 of 2 tasks report", true, false},
		{"completed, tasks report no digest: fail", svc(completed), Pin{Deployment: ours.ID, Digest: digest, DigestCheck: "fail"}, Evidence{Digests: []string{}, DigestReads: DigestReadLimit},
			Failed, "only 0 of 2 running tasks report an image digest after 3 reads, so the pushed sha256:aaaa cannot be confirmed", false, false},
		{"completed, tasks report no digest: DIGEST_CHECK=warn", svc(completed), Pin{Deployment: ours.ID, Digest: digest, DigestCheck: "warn"}, Evidence{Digests: []string{digest}, DigestReads: DigestReadLimit},
			Done, "(image digest not confirmed)", false, false},
		{"no rollout state: only deployment, running == desired", svc(with(running, func(d *DeploymentView) { d.RolloutState = "" })), Pin{Deployment: ours.ID}, Evidence{}, Done, "completed", false, false},
		{"no rollout state: old still there", svc(with(running, func(d *DeploymentView) { d.RolloutState = "" }), old), Pin{Deployment: ours.ID}, Evidence{}, Waiting, "2 of 2", false, false},
		{"circuit breaker failed", svc(old, with(ours, func(d *DeploymentView) {
			d.Status, d.RolloutState, d.Reason, d.Failed = "ACTIVE", "FAILED", "ECS deployment circuit breaker: tasks failed to start.", 3
		})), Pin{Deployment: ours.ID}, Evidence{Stopped: []string{"Essential container in task exited", "Essential container in task exited"}},
			Failed, "failed: ECS deployment circuit breaker: tasks failed to start.; stopped tasks: Essential container in task exited (x2)", false, false},
		{"failed, reasons not read yet", svc(with(ours, func(d *DeploymentView) { d.RolloutState, d.Failed = "FAILED", 2 })), Pin{Deployment: ours.ID}, Evidence{}, Failed, "rollout FAILED", false, true},
		{"rolled back: older deployment is PRIMARY again", svc(with(old, func(d *DeploymentView) { d.Status = "PRIMARY" }), with(ours, func(d *DeploymentView) { d.Status = "ACTIVE" })),
			Pin{Deployment: ours.ID}, Evidence{}, Failed, "no longer the PRIMARY: ecs-svc/old took over (rolled back)", false, false},
		{"replaced by a newer deployment", svc(DeploymentView{ID: "ecs-svc/theirs", Status: "PRIMARY", TaskDef: "api:7", Created: t0.Add(time.Minute)}, with(ours, func(d *DeploymentView) { d.Status = "ACTIVE" })),
			Pin{Deployment: ours.ID}, Evidence{}, Failed, "took over (replaced by another deployment, task definition api:7)", false, false},
		{"gone after a rollback: the services-stable trap", svc(with(old, func(d *DeploymentView) { d.Status = "PRIMARY" })), Pin{Deployment: ours.ID}, Evidence{}, Failed, "deployment ecs-svc/ours is gone: the service now runs ecs-svc/old", false, true},
		{"crash loop at threshold", svc(with(ours, func(d *DeploymentView) { d.Failed = 3 }), old), Pin{Deployment: ours.ID},
			Evidence{Stopped: []string{"CannotPullContainerError: not found"}}, Failed, "3 tasks failed (threshold 3: deploystep's max(3, desired/2): the service's circuit breaker is off); stopped tasks: CannotPullContainerError: not found", false, false},
		{"crash loop, reasons not read yet", svc(with(ours, func(d *DeploymentView) { d.Failed = 3 }), old), Pin{Deployment: ours.ID}, Evidence{}, Failed, "3 tasks failed", false, true},
		{"below threshold keeps waiting", svc(with(ours, func(d *DeploymentView) { d.Failed = 2 }), old), Pin{Deployment: ours.ID}, Evidence{}, Waiting, "2 failed", false, false},
		{"custom threshold", svc(with(ours, func(d *DeploymentView) { d.Failed = 2 }), old), Pin{Deployment: ours.ID, FailedTasks: 2}, Evidence{Stopped: []string{"x"}}, Failed, "threshold 2", false, false},
		{"service draining", with2(svc(ours), func(v *ServiceView) { v.Status = "DRAINING" }), Pin{Deployment: ours.ID}, Evidence{}, Failed, "service api is DRAINING", false, false},
		{"no deployments at all", svc(), Pin{Deployment: ours.ID}, Evidence{}, Failed, "gone from service api", false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Decide(c.view, c.pin, c.ev)
			if c.pin.DigestCheck == "warn" && !strings.Contains(d.Warning, "DIGEST_CHECK=warn accepts it") {
				t.Errorf("warning = %q", d.Warning)
			}
			n := Needed(c.view, c.pin, c.ev)
			if d.Verdict != c.verdict || !strings.Contains(d.Message, c.want) || n.Digests != c.digests || n.Reasons != c.reasons {
				t.Fatalf("Decide = %v %q, needs digests=%v reasons=%v; want %v containing %q, digests=%v reasons=%v",
					d.Verdict, d.Message, n.Digests, n.Reasons, c.verdict, c.want, c.digests, c.reasons)
			}
		})
	}
}

func with2(v ServiceView, f func(*ServiceView)) ServiceView {
	f(&v)
	return v
}

func TestFailureThreshold(t *testing.T) {
	for desired, want := range map[int]int{0: 3, 1: 3, 2: 3, 6: 3, 7: 4, 10: 5, 100: 50, 1000: 200} {
		if got := FailureThreshold(desired); got != want {
			t.Errorf("FailureThreshold(%d) = %d, want %d", desired, got, want)
		}
	}
}

func BenchmarkDecide(b *testing.B) {
	v := svc(with(ours, func(d *DeploymentView) { d.Running, d.Pending = 1, 1 }), old)
	pin := Pin{Deployment: ours.ID, Digest: digest}
	for i := 0; i < b.N; i++ {
		Decide(v, pin, Evidence{})
	}
}

// The circuit breaker's own threshold (ecs v1.98.0's ThresholdConfiguration): COUNT is the
// value; BOUNDED_PERCENT value % of the desired count within 3..200 (the default, 50: the old
// fixed rule); UNBOUNDED_PERCENT the same without the bounds; resetOnHealthyTask (default true)
// leaves the count to ECS once a new task runs. FAILED_TASKS_THRESHOLD overrides; without the
// breaker deploystep keeps max(3, desired/2).
func TestBreakerThreshold(t *testing.T) {
	ten := func(failed, running int) DeploymentView {
		return DeploymentView{ID: "ecs-svc/ours", Status: "PRIMARY", RolloutState: "IN_PROGRESS", Desired: 10, Running: running, Failed: failed}
	}
	view := func(b Breaker, d DeploymentView) ServiceView {
		v := svc(d, old)
		v.Breaker = b
		return v
	}
	cases := []struct {
		name    string
		b       Breaker
		d       DeploymentView
		pin     Pin
		verdict Verdict
		want    string
	}{
		{"breaker off: deploystep's rule", Breaker{}, ten(5, 0), Pin{}, Failed, "5 tasks failed (threshold 5: deploystep's max(3, desired/2): the service's circuit breaker is off)"},
		{"default breaker: 50 % of 10", Breaker{Enabled: true}, ten(5, 0), Pin{}, Failed, "threshold 5: the circuit breaker's BOUNDED_PERCENT 50 of desired 10, within 3..200"},
		{"COUNT 10 tolerates 9", Breaker{Enabled: true, Type: "COUNT", Value: 10}, ten(9, 0), Pin{}, Waiting, "9 failed"},
		{"COUNT 10 at 10", Breaker{Enabled: true, Type: "COUNT", Value: 10}, ten(10, 0), Pin{}, Failed, "threshold 10: the circuit breaker's COUNT 10"},
		{"COUNT 1 fails at the first", Breaker{Enabled: true, Type: "COUNT", Value: 1, Reset: true}, ten(1, 0), Pin{}, Failed, "threshold 1: the circuit breaker's COUNT 1, reset by a healthy task"},
		{"BOUNDED_PERCENT clamps to 3", Breaker{Enabled: true, Type: "BOUNDED_PERCENT", Value: 10}, ten(2, 0), Pin{}, Waiting, "2 failed"},
		{"BOUNDED_PERCENT 10 of 10 is 3", Breaker{Enabled: true, Type: "BOUNDED_PERCENT", Value: 10}, ten(3, 0), Pin{}, Failed, "threshold 3"},
		{"UNBOUNDED_PERCENT 10 of 10 is 1", Breaker{Enabled: true, Type: "UNBOUNDED_PERCENT", Value: 10}, ten(1, 0), Pin{}, Failed, "threshold 1: the circuit breaker's UNBOUNDED_PERCENT 10 of desired 10"},
		{"UNBOUNDED_PERCENT 300 of 10 is 30", Breaker{Enabled: true, Type: "UNBOUNDED_PERCENT", Value: 300}, ten(29, 0), Pin{}, Waiting, "29 failed"},
		{"reset on a healthy task: a running new task leaves it to ECS", Breaker{Enabled: true, Type: "COUNT", Value: 3, Reset: true}, ten(4, 2), Pin{}, Waiting, "4 failed"},
		{"cumulative (no reset): running tasks do not reset", Breaker{Enabled: true, Type: "COUNT", Value: 3}, ten(3, 2), Pin{}, Failed, "threshold 3: the circuit breaker's COUNT 3)"},
		{"FAILED_TASKS_THRESHOLD overrides the breaker", Breaker{Enabled: true, Type: "COUNT", Value: 10, Reset: true}, ten(2, 2), Pin{FailedTasks: 2}, Failed, "threshold 2: FAILED_TASKS_THRESHOLD"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.pin.Deployment = "ecs-svc/ours"
			d := Decide(view(c.b, c.d), c.pin, Evidence{Stopped: []string{"Essential container in task exited"}})
			if d.Verdict != c.verdict || !strings.Contains(d.Message, c.want) {
				t.Fatalf("Decide = %v %q; want %v containing %q", d.Verdict, d.Message, c.verdict, c.want)
			}
		})
	}
}

// Early success (rolling, DEFERRED): the service deployment is SUCCESSFUL with half the new
// revision running and the old tasks still there; the run is done, and the digests judged are
// the new revision's, as many as the criteria need.
func TestEarlySuccess(t *testing.T) {
	half := DeploymentView{ID: "ecs-svc/ours", Status: "PRIMARY", RolloutState: "COMPLETED", Desired: 4, Running: 2}
	old4 := DeploymentView{ID: "ecs-svc/old", Status: "ACTIVE", RolloutState: "COMPLETED", Desired: 4, Running: 4}
	v := svc(half, old4)
	v.EarlySuccess = &EarlySuccess{HealthyPercent: 50, Cleanup: "DEFERRED"}
	sd := &SDView{Status: "SUCCESSFUL"}
	pin := Pin{Deployment: half.ID, Digest: digest}
	if n := Needed(v, pin, Evidence{SD: sd}); !n.Digests {
		t.Fatal("an early success needs the new tasks' digests")
	}
	d := Decide(v, pin, Evidence{SD: sd, Digests: []string{digest, digest}, DigestReads: 1})
	if d.Verdict != Done || !strings.Contains(d.Message, "early success at 50 % (2 of 4 new tasks running): old tasks drain after the release") {
		t.Fatalf("Decide = %v %q", d.Verdict, d.Message)
	}
	// Without the criteria, 2 of 4 digests would be too few: the same snapshot waits.
	v.EarlySuccess = nil
	if d := Decide(v, pin, Evidence{SD: sd, Digests: []string{digest, digest}, DigestReads: 1}); d.Verdict != Waiting {
		t.Fatalf("without early success: %v %q", d.Verdict, d.Message)
	}
	// A wrong digest among the new revision's tasks still fails it.
	v.EarlySuccess = &EarlySuccess{HealthyPercent: 50, Cleanup: "DEFERRED"}
	if d := Decide(v, pin, Evidence{SD: sd, Digests: []string{digest, "sha256:bbbb"}, DigestReads: 1}); d.Verdict != Failed {
		t.Fatalf("a wrong digest at early success: %v %q", d.Verdict, d.Message)
	}
	// Still IN_PROGRESS below the criteria: waiting.
	if d := Decide(v, pin, Evidence{SD: &SDView{Status: "IN_PROGRESS"}}); d.Verdict != Waiting {
		t.Fatalf("in progress: %v %q", d.Verdict, d.Message)
	}
}
