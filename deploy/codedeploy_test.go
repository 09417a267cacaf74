package deploy

import (
	"strings"
	"testing"
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

func TestAppSpec(t *testing.T) {
	td := "arn:aws:ecs:us-east-1:123456789012:task-definition/tsa-galleryAPITask:7"
	spec, err := buildAppSpec(td, "tsa-galleryAPIContainer", 3000, []map[string]string{{"AfterAllowTestTraffic": "tsa-gallery-smoke-test"}})
	want := `{"version":0.0,"Resources":[{"TargetService":{"Type":"AWS::ECS::Service","Properties":{"TaskDefinition":"` + td +
		`","LoadBalancerInfo":{"ContainerName":"tsa-galleryAPIContainer","ContainerPort":3000}}}}],"Hooks":[{"AfterAllowTestTraffic":"tsa-gallery-smoke-test"}]}`
	if err != nil || spec != want {
		t.Fatalf("AppSpec %s, %v\nwant %s", spec, err, want)
	}
	for _, c := range []struct {
		container string
		port      int32
		hooks     []map[string]string
		want      string
	}{
		{"", 0, nil, "no load balancer container and port"},
		{"api", 3000, []map[string]string{{"Install": "fn"}}, "hook on Install"},
	} {
		if _, err := buildAppSpec(td, c.container, c.port, c.hooks); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("buildAppSpec(%q, %d, %v) = %v; want %q", c.container, c.port, c.hooks, err, c.want)
		}
	}
}
