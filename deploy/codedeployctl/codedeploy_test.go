package codedeployctl

import (
	"strings"
	"testing"
)

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
