package verdict

import (
	"strings"
	"testing"
	"time"
)

func pct(v float64) *float64 { return &v }

// The verdict on a pinned service deployment, status × stage: the service deployment is
// authoritative where deployments[] is a guess (bake time), and its rollbacks are named.
func TestDecideServiceDeployment(t *testing.T) {
	running := with(ours, func(d *DeploymentView) { d.Running, d.Pending = 2, 0 })
	completed := with(running, func(d *DeploymentView) { d.RolloutState = "COMPLETED" })
	bg := func(f func(*SDView)) *SDView {
		sd := &SDView{Status: "IN_PROGRESS", Strategy: "BLUE_GREEN", BakeLeft: -1}
		f(sd)
		return sd
	}
	cases := []struct {
		name    string
		view    ServiceView
		until   string
		sd      *SDView
		verdict Verdict
		want    string
		own     bool
		paused  int
	}{
		{"scale up", svc(ours, old), "", bg(func(s *SDView) { s.Stage, s.Prod = "SCALE_UP", pct(0) }), Waiting, "SCALE_UP: 0% of production traffic on the new revision", false, 0},
		{"production shift", svc(running, old), "", bg(func(s *SDView) { s.Stage, s.Prod = "PRODUCTION_TRAFFIC_SHIFT", pct(30) }), Waiting,
			"PRODUCTION_TRAFFIC_SHIFT: 30% of production traffic on the new revision; 2 of 2 new tasks running", false, 0},
		{"linear step", svc(running, old), "", bg(func(s *SDView) { s.Strategy, s.Stage, s.Prod = "LINEAR", "PRODUCTION_TRAFFIC_SHIFT", pct(62.5) }), Waiting,
			"62.5% of production traffic", false, 0},
		{"bake time left", svc(running, old), "", bg(func(s *SDView) { s.Stage, s.Prod, s.BakeLeft = "BAKE_TIME", pct(100), 4*time.Minute+10*time.Second }), Waiting,
			"BAKE_TIME: 4m10s left", false, 0},
		{"deployments[] says COMPLETED, the service deployment bakes", svc(completed, old), "", bg(func(s *SDView) { s.Stage, s.Prod = "BAKE_TIME", pct(100) }), Waiting, "BAKE_TIME", false, 0},
		{"bake time, WAIT_UNTIL=traffic-shifted", svc(running, old), "traffic-shifted", bg(func(s *SDView) { s.Stage, s.Prod = "BAKE_TIME", pct(100) }), Done,
			"all production traffic is on the new revision (BAKE_TIME; WAIT_UNTIL=traffic-shifted", false, 0},
		{"shifting, WAIT_UNTIL=traffic-shifted", svc(running, old), "traffic-shifted", bg(func(s *SDView) { s.Stage, s.Prod = "PRODUCTION_TRAFFIC_SHIFT", pct(30) }), Waiting, "30%", false, 0},
		{"successful", svc(completed), "", bg(func(s *SDView) { s.Status, s.Stage, s.Prod = "SUCCESSFUL", "CLEAN_UP", pct(100) }), Done, "completed: 2 of 2 tasks running", false, 0},
		{"rolling successful", svc(completed), "", &SDView{Status: "SUCCESSFUL", Strategy: "ROLLING", BakeLeft: -1}, Done, "completed", false, 0},
		{"rolling, still in progress though deployments[] completed", svc(completed), "", &SDView{Status: "IN_PROGRESS", Strategy: "ROLLING", BakeLeft: -1}, Waiting, "2 of 2 new tasks running", false, 0},
		{"alarm rollback", svc(running, old), "", bg(func(s *SDView) {
			s.Status, s.Stage, s.Rollback, s.Triggered = "ROLLBACK_IN_PROGRESS", "BAKE_TIME", "CloudWatch alarm api-target-5xx went into ALARM during BAKE_TIME", []string{"api-target-5xx"}
		}), Failed, "is ROLLBACK_IN_PROGRESS: CloudWatch alarm api-target-5xx went into ALARM during BAKE_TIME; alarms in ALARM: api-target-5xx", false, 0},
		{"breaker rollback done", svc(old, with(ours, func(d *DeploymentView) { d.Status, d.RolloutState = "ACTIVE", "FAILED" })), "",
			&SDView{Status: "ROLLBACK_SUCCESSFUL", Strategy: "ROLLING", Rollback: "ECS deployment circuit breaker: tasks failed to start.", BakeLeft: -1},
			Failed, "is ROLLBACK_SUCCESSFUL: ECS deployment circuit breaker", false, 0},
		{"stopped", svc(running, old), "", bg(func(s *SDView) { s.Status, s.Reason = "STOPPED", "superseded by a newer service deployment" }), Failed, "is STOPPED: superseded", false, 0},
		{"paused at a hook", svc(running, old), "", bg(func(s *SDView) {
			s.Stage, s.Prod, s.Paused = "POST_TEST_TRAFFIC_SHIFT", pct(0), []HookView{{ID: "h-7", Stage: "POST_TEST_TRAFFIC_SHIFT"}}
		}), Waiting, "paused at POST_TEST_TRAFFIC_SHIFT (PAUSE hook h-7): waiting for ContinueServiceDeployment", false, 1},
		{"a Lambda hook running", svc(running, old), "", bg(func(s *SDView) {
			s.Stage, s.Prod, s.Running = "POST_TEST_TRAFFIC_SHIFT", pct(0), []HookView{{Target: "arn:aws:lambda:us-east-1:123456789012:function:smoke", Stage: "POST_TEST_TRAFFIC_SHIFT"}}
		}), Waiting, "lifecycle hook smoke running at POST_TEST_TRAFFIC_SHIFT", false, 0},
		{"own verdict: crash loop", svc(with(ours, func(d *DeploymentView) { d.Failed = 3 }), old), "", bg(func(s *SDView) { s.Stage = "SCALE_UP" }), Failed, "3 tasks failed", true, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := Evidence{SD: c.sd, Stopped: []string{"x"}}
			d := Decide(c.view, Pin{Deployment: ours.ID, WaitUntil: c.until}, ev)
			if d.Verdict != c.verdict || !strings.Contains(d.Message, c.want) || d.Own != c.own || len(d.Paused) != c.paused {
				t.Fatalf("Decide = %v %q own=%v paused=%d; want %v containing %q own=%v paused=%d", d.Verdict, d.Message, d.Own, len(d.Paused), c.verdict, c.want, c.own, c.paused)
			}
		})
	}
}
