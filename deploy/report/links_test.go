package report

import (
	"testing"

	"github.com/deploystep/deploystep/deploy/settings"
	"github.com/deploystep/deploystep/deploy/state"
)

func TestLinks(t *testing.T) {
	st := &state.State{
		Caller:        state.Caller{ARN: "arn:aws-cn:sts::210987654321:assumed-role/deploy/s", Region: "cn-north-1"},
		Services:      map[string]*state.ServiceState{"api": {Deployment: "ecs-svc/1", ServiceDeployment: state.ServiceDeployment{SD: "arn:aws-cn:ecs:cn-north-1:210987654321:service-deployment/c/api/x"}}, "web": {Deployment: "d-2W9EXAMPLE", Controller: state.ControllerCodeDeploy}},
		Predeploy:     &state.PredeployState{Task: "0f1e2d3c4b5a"},
		Invalidations: map[string]string{"E2QWRUHAPOMQZL": "I2J0I21PCUYOIK"},
	}
	s := settings.Settings{Cluster: "arn:aws-cn:ecs:cn-north-1:210987654321:cluster/tsa gallery", Services: []string{"api", "web"}, Distributions: []string{"E2QWRUHAPOMQZL"}}
	got := map[string]string{}
	for _, l := range Links(s, st, st.Caller.Region, "/ecs/tsa-gallery/APITask", "ecs/api/0f1e2d3c4b5a") {
		got[l.Kind+" "+l.Subject] = l.URL
	}
	want := map[string]string{
		"service-deployment api":      "https://cn-north-1.console.amazonaws.cn/ecs/v2/clusters/tsa%20gallery/services/api/deployments?region=cn-north-1",
		"codedeploy-deployment web":   "https://cn-north-1.console.amazonaws.cn/codesuite/codedeploy/deployments/d-2W9EXAMPLE?region=cn-north-1",
		"predeploy-task 0f1e2d3c4b5a": "https://cn-north-1.console.amazonaws.cn/ecs/v2/clusters/tsa%20gallery/tasks/0f1e2d3c4b5a/configuration?region=cn-north-1",
		"predeploy-logs 0f1e2d3c4b5a": "https://cn-north-1.console.amazonaws.cn/cloudwatch/home?region=cn-north-1#logsV2:log-groups/log-group/$252Fecs$252Ftsa-gallery$252FAPITask/log-events/ecs$252Fapi$252F0f1e2d3c4b5a",
		"invalidation E2QWRUHAPOMQZL": "https://cn-north-1.console.amazonaws.cn/cloudfront/v4/home#/distributions/E2QWRUHAPOMQZL/invalidations/details/I2J0I21PCUYOIK",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s\n want %s", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("links %v", got)
	}
	for _, c := range []struct{ arn, region, want string }{
		{"", "us-gov-west-1", "https://us-gov-west-1.console.amazonaws-us-gov.com"},
		{"arn:aws:sts::1:assumed-role/r/s", "eu-west-1", "https://eu-west-1.console.aws.amazon.com"},
		{"", "ap-southeast-2", "https://ap-southeast-2.console.aws.amazon.com"},
	} {
		if got := consoleBase(partitionOf(c.arn, c.region), c.region); got != c.want {
			t.Errorf("console of %s in %s: %s, want %s", c.arn, c.region, got, c.want)
		}
	}
}
