package e2e_test

// IAM as AWS evaluates it, end to end (#32): the binary against awsim whose caller carries an
// identity-based policy. A refusal is never downgraded: it ends the run with exit 2 naming the
// action, the resource, the identity and the statement that allows it, before anything changes
// where the preflight can know it. Only the service deployment API being not available (as the
// API reference documents it) falls back to deployments[].

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
)

const (
	demoServiceARN = "arn:aws:ecs:us-east-1:123456789012:service/" + demo.Cluster + "/" + demo.Service
	demoSDs        = "arn:aws:ecs:us-east-1:123456789012:service-deployment/" + demo.Cluster + "/" + demo.Service + "/*"
)

// allowAllBut is a policy that allows every action but those named.
func allowAllBut(actions ...string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{
		map[string]any{"Sid": "AllButThese", "Effect": "Allow", "NotAction": actions, "Resource": "*"}}})
	return b
}

// policyOf is a policy of the statements given.
func policyOf(statements ...map[string]any) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": statements})
	return b
}

// The lab stack's old grant (#32): DescribeServiceDeployments on the service deployments only.
// The preflight reads the service deployments as the follow will, so the refusal ends the run
// before anything is registered or deployed, with the statement to add; with the service
// granted too, the release goes through.
func TestIAMServiceDeploymentsDeniedInThePreflight(t *testing.T) {
	t.Parallel()
	cfg := world(awsim.Success, time.Second)
	cfg.Policies = []json.RawMessage{allowAllBut("ecs:DescribeServiceDeployments"), policyOf(map[string]any{"Sid": "ServiceDeployments",
		"Effect": "Allow", "Action": "ecs:DescribeServiceDeployments", "Resource": demoSDs})}
	sim := startSim(t, cfg)
	r := runBin(t, env(sim))
	wantOutput(t, r, 2, "service api: its service deployments, which the follow reads, cannot be: DescribeServiceDeployments api: access denied: "+
		awsim.PlaceholderRoleARN+" may not ecs:DescribeServiceDeployments on "+demoServiceARN,
		`allow it in the policy of role tsa-gallery-codebuild with the statement {"Effect": "Allow", "Action": "ecs:DescribeServiceDeployments", "Resource": "`+demoServiceARN+`"}`,
		"summary: configuration error")
	wantEffects(t, sim, 0, 0, r)
	if n := revisions(sim); n != 0 {
		t.Errorf("%d revisions registered before the preflight failed", n)
	}

	cfg.Policies[1] = policyOf(map[string]any{"Effect": "Allow", "Action": "ecs:DescribeServiceDeployments", "Resource": []string{demoServiceARN, demoSDs}})
	sim = startSim(t, cfg)
	r = runBin(t, env(sim))
	wantOutput(t, r, 0, "summary: succeeded", "service deployment ")
	if strings.Contains(r.Output, "judging deployments[] alone") {
		t.Errorf("the release fell back to deployments[]:\n%s", r)
	}
}

// A refusal only the follow meets (the second service's service deployments; the preflight tries
// the first) ends the run at once, exit 2, naming the explicit Deny; it is not a fallback.
func TestIAMDeniedAfterTheSendEndsTheRun(t *testing.T) {
	t.Parallel()
	cfg := world(awsim.Success, 3*time.Second)
	web := cfg.Clusters[0].Services[0]
	web.Name = "web"
	cfg.Clusters[0].Services = append(cfg.Clusters[0].Services, web)
	webARN := "arn:aws:ecs:us-east-1:123456789012:service/" + demo.Cluster + "/web"
	cfg.Policies = []json.RawMessage{policyOf(map[string]any{"Effect": "Allow", "Action": "*", "Resource": "*"},
		map[string]any{"Sid": "NotWebsDeployments", "Effect": "Deny", "Action": "ecs:ListServiceDeployments", "Resource": webARN})}
	sim := startSim(t, cfg)
	r := runBin(t, env(sim, "SERVICE=api,web", "DEPLOY_TIMEOUT=2m"))
	wantOutput(t, r, 2, "may not ecs:ListServiceDeployments on "+webARN,
		"an explicit Deny in an identity-based policy refuses it, and no Allow overrides a Deny: narrow that Deny")
	if r.Took() > 30*time.Second {
		t.Errorf("took %v: a refusal ends the run at once", r.Took())
	}
	if strings.Contains(r.Output, "judging deployments[] alone") {
		t.Errorf("the refusal was taken as the API being unavailable:\n%s", r)
	}
}

// The service deployment API not being available, as the API reference documents it
// (UnsupportedFeatureException: "The specified task isn't supported in this Region"; an endpoint
// without the operation: UnknownOperationException), is the one fallback: the release is judged
// by deployments[], said once, and succeeds.
func TestIAMServiceDeploymentAPINotAvailable(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		fault map[string]awsim.Fault
		said  string
	}{
		{"ListServiceDeployments unsupported in the Region", map[string]awsim.Fault{"ECS.ListServiceDeployments": {Unsupported: 1}},
			"judging deployments[] alone: the service deployment API is not available here (ecs:ListServiceDeployments: operation error ECS: ListServiceDeployments"},
		{"DescribeServiceDeployments unknown to the endpoint", map[string]awsim.Fault{"ECS.DescribeServiceDeployments": {Unknown: 1}},
			"judging deployments[] alone: ecs:DescribeServiceDeployments is not available here"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := world(awsim.Success, time.Second)
			cfg.Faults = c.fault
			sim := startSim(t, cfg)
			r := runBin(t, env(sim))
			wantOutput(t, r, 0, c.said, "summary: succeeded")
			if c.fault["ECS.ListServiceDeployments"].Unsupported > 0 && !strings.Contains(r.Output, "UnsupportedFeatureException: The specified task isn't supported in this Region.") {
				t.Errorf("the fallback does not say why\n%s", r)
			}
			if n := strings.Count(r.Output, "judging deployments[] alone"); n != 1 {
				t.Errorf("said %d times, want once\n%s", n, r)
			}
			wantEffects(t, sim, 1, 1, r)
		})
	}
}

// The run marker (ecs:TagResource on the service) is what keeps a re-run from deploying twice:
// refused, the run ends before its UpdateService.
func TestIAMRunMarkerDenied(t *testing.T) {
	t.Parallel()
	cfg := world(awsim.Success, time.Second)
	cfg.Policies = []json.RawMessage{policyOf(map[string]any{"Effect": "Allow", "Action": "*", "Resource": "*"},
		map[string]any{"Sid": "NoServiceTags", "Effect": "Deny", "Action": "ecs:TagResource", "Resource": demoServiceARN})}
	sim := startSim(t, cfg)
	r := runBin(t, env(sim, "CODEBUILD_BUILD_ID=tsa-gallery-api:0f1e2d3c-4b5a-4978-8a9b-0c1d2e3f4a5b"))
	wantOutput(t, r, 2, "TagResource api: access denied", "may not ecs:TagResource on "+demoServiceARN)
	wantEffects(t, sim, 0, 0, r)
}

// The pre-deploy task's log read is tried before the task runs: refused, nothing runs.
func TestIAMTaskLogDeniedBeforeTheTaskRuns(t *testing.T) {
	t.Parallel()
	cfg := world(demo.Migrate, 2*time.Second)
	cfg.Policies = []json.RawMessage{allowAllBut("logs:GetLogEvents")}
	sim := startSim(t, cfg)
	r := runBin(t, env(sim, "PREDEPLOY_COMMAND="+demo.Migration))
	wantOutput(t, r, 2, "may not logs:GetLogEvents on arn:aws:logs:us-east-1:123456789012:log-group:/ecs/tsa-gallery/APITask:log-stream:ecs/api/deploystep-permission-probe",
		"the pre-deploy task was not started, no service was changed")
	if n := sim.Effects().RunTasks[demo.Service]; n != 0 {
		t.Errorf("%d pre-deploy tasks started", n)
	}
	wantEffects(t, sim, 0, 0, r)

	// The dry run says it too, and changes nothing.
	r = runBin(t, env(sim, "PREDEPLOY_COMMAND="+demo.Migration), "-dry-run")
	wantOutput(t, r, 2, "pre-deploy task: its log cannot be read: GetLogEvents /ecs/tsa-gallery/APITask: access denied")
}
