package awsim

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/deploystep/deploystep/internal/iamref"
)

func policy(t *testing.T, doc string) *Policy {
	t.Helper()
	p, err := ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const svcARN = "arn:aws:ecs:us-east-1:123456789012:service/tsa-gallery/api"

// The evaluation rules of the IAM User Guide, one case each.
func TestIAMEvaluate(t *testing.T) {
	for _, c := range []struct {
		name, doc string
		a         authorization
		allowed   bool
		denied    bool
	}{
		{"no statement allows: implicit deny",
			`{"Statement":[{"Effect":"Allow","Action":"ecs:DescribeServices","Resource":"*"}]}`,
			authorization{Action: "ecs:UpdateService", Resource: svcARN}, false, false},
		{"action case-insensitive, wildcard",
			`{"Statement":{"Effect":"Allow","Action":"ECS:describe*","Resource":"*"}}`,
			authorization{Action: "ecs:DescribeServices", Resource: svcARN}, true, false},
		{"explicit deny wins over allow",
			`{"Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"},{"Sid":"NoUpdates","Effect":"Deny","Action":"ecs:UpdateService","Resource":"*"}]}`,
			authorization{Action: "ecs:UpdateService", Resource: svcARN}, false, true},
		{"NotAction",
			`{"Statement":[{"Effect":"Allow","NotAction":"ecs:UpdateService","Resource":"*"}]}`,
			authorization{Action: "ecs:UpdateService", Resource: svcARN}, false, false},
		{"resource wildcard at the end of the ARN",
			`{"Statement":[{"Effect":"Allow","Action":"ecs:DescribeServiceDeployments","Resource":"arn:aws:ecs:us-east-1:123456789012:service-deployment/tsa-gallery/api/*"}]}`,
			authorization{Action: "ecs:DescribeServiceDeployments", Resource: "arn:aws:ecs:us-east-1:123456789012:service-deployment/tsa-gallery/api/M0Y3SEAHQVIFQ0BUWFSTM"}, true, false},
		{"the service-deployment grant does not cover the service",
			`{"Statement":[{"Effect":"Allow","Action":"ecs:DescribeServiceDeployments","Resource":"arn:aws:ecs:us-east-1:123456789012:service-deployment/tsa-gallery/api/*"}]}`,
			authorization{Action: "ecs:DescribeServiceDeployments", Resource: svcARN}, false, false},
		{"ARNs are case-sensitive",
			`{"Statement":[{"Effect":"Allow","Action":"ecs:DescribeServices","Resource":"arn:aws:ecs:us-east-1:123456789012:service/TSA-gallery/api"}]}`,
			authorization{Action: "ecs:DescribeServices", Resource: svcARN}, false, false},
		{"a * inside a segment does not cross a colon",
			`{"Statement":[{"Effect":"Allow","Action":"ecs:DescribeServices","Resource":"arn:aws:ecs:us-*1:123456789012:service/tsa-gallery/api"}]}`,
			authorization{Action: "ecs:DescribeServices", Resource: svcARN}, true, false},
		{"a * ending a segment crosses colons",
			`{"Statement":[{"Effect":"Allow","Action":"ecs:DescribeServices","Resource":"arn:aws:ecs:*"}]}`,
			authorization{Action: "ecs:DescribeServices", Resource: svcARN}, true, false},
		{"an action on no resource needs Resource *",
			`{"Statement":[{"Effect":"Allow","Action":"ecs:ListTasks","Resource":"arn:aws:ecs:us-east-1:123456789012:container-instance/tsa-gallery/*"}]}`,
			authorization{Action: "ecs:ListTasks", Resource: "*"}, false, false},
		{"ArnEquals on the cluster",
			`{"Statement":[{"Effect":"Allow","Action":"ecs:ListTasks","Resource":"*","Condition":{"ArnEquals":{"ecs:cluster":"arn:aws:ecs:us-east-1:123456789012:cluster/tsa-gallery"}}}]}`,
			authorization{Action: "ecs:ListTasks", Resource: "*", Context: map[string][]string{"ecs:cluster": {"arn:aws:ecs:us-east-1:123456789012:cluster/tsa-gallery"}}}, true, false},
		{"ArnEquals on another cluster",
			`{"Statement":[{"Effect":"Allow","Action":"ecs:ListTasks","Resource":"*","Condition":{"ArnEquals":{"ecs:cluster":"arn:aws:ecs:us-east-1:123456789012:cluster/other"}}}]}`,
			authorization{Action: "ecs:ListTasks", Resource: "*", Context: map[string][]string{"ecs:cluster": {"arn:aws:ecs:us-east-1:123456789012:cluster/tsa-gallery"}}}, false, false},
		{"a key the request lacks: the condition is false",
			`{"Statement":[{"Effect":"Allow","Action":"ecs:TagResource","Resource":"*","Condition":{"StringEquals":{"ecs:CreateAction":"RegisterTaskDefinition"}}}]}`,
			authorization{Action: "ecs:TagResource", Resource: svcARN}, false, false},
		{"a key the request lacks: a negated operator is true",
			`{"Statement":[{"Effect":"Allow","Action":"ecs:TagResource","Resource":"*","Condition":{"StringNotEquals":{"ecs:CreateAction":"RunTask"}}}]}`,
			authorization{Action: "ecs:TagResource", Resource: svcARN}, true, false},
		{"IfExists: a missing key holds",
			`{"Statement":[{"Effect":"Allow","Action":"ecs:TagResource","Resource":"*","Condition":{"StringEqualsIfExists":{"ecs:CreateAction":"RegisterTaskDefinition"}}}]}`,
			authorization{Action: "ecs:TagResource", Resource: svcARN}, true, false},
		{"two keys under one operator are ANDed",
			`{"Statement":[{"Effect":"Allow","Action":"codeconnections:UseConnection","Resource":"*","Condition":{"StringEquals":{"codeconnections:FullRepositoryId":"tsa/gallery-api","codestar-connections:FullRepositoryId":"tsa/gallery-api"}}}]}`,
			authorization{Action: "codeconnections:UseConnection", Resource: "arn:aws:codeconnections:us-east-1:123456789012:connection/0f1e2d3c",
				Context: map[string][]string{"codeconnections:FullRepositoryId": {"tsa/gallery-api"}}}, false, false},
		{"values of one key are ORed",
			`{"Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringEquals":{"iam:PassedToService":["lambda.amazonaws.com","ecs-tasks.amazonaws.com"]}}}]}`,
			authorization{Action: "iam:PassRole", Resource: "arn:aws:iam::123456789012:role/tsa-gallery-task", Context: map[string][]string{"iam:PassedToService": {"ecs-tasks.amazonaws.com"}}}, true, false},
		{"Null true: the key is absent",
			`{"Statement":[{"Effect":"Allow","Action":"ecs:RegisterTaskDefinition","Resource":"*","Condition":{"Null":{"aws:RequestTag/team":"true"}}}]}`,
			authorization{Action: "ecs:RegisterTaskDefinition", Resource: "*", Context: map[string][]string{"aws:RequestTag/deploystep:release": {"x"}}}, true, false},
		{"ForAllValues over the tag keys",
			`{"Statement":[{"Effect":"Allow","Action":"ecs:TagResource","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["deploystep:release","app"]}}}]}`,
			authorization{Action: "ecs:TagResource", Resource: "*", Context: map[string][]string{"aws:TagKeys": {"deploystep:release", "team"}}}, false, false},
		{"ForAnyValue over the tag keys",
			`{"Statement":[{"Effect":"Allow","Action":"ecs:TagResource","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":"team"}}}]}`,
			authorization{Action: "ecs:TagResource", Resource: "*", Context: map[string][]string{"aws:TagKeys": {"deploystep:release", "team"}}}, true, false},
		{"condition key names are case-insensitive",
			`{"Statement":[{"Effect":"Allow","Action":"ecs:ListTasks","Resource":"*","Condition":{"ArnEquals":{"ECS:Cluster":"arn:aws:ecs:us-east-1:123456789012:cluster/tsa-gallery"}}}]}`,
			authorization{Action: "ecs:ListTasks", Resource: "*", Context: map[string][]string{"ecs:cluster": {"arn:aws:ecs:us-east-1:123456789012:cluster/tsa-gallery"}}}, true, false},
		{"NotResource",
			`{"Statement":[{"Effect":"Allow","Action":"ecs:DescribeServices","NotResource":"arn:aws:ecs:us-east-1:123456789012:service/tsa-gallery/admin"}]}`,
			authorization{Action: "ecs:DescribeServices", Resource: svcARN}, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := evaluate([]*Policy{policy(t, c.doc)}, c.a)
			if d.Allowed != c.allowed || d.Denied != c.denied {
				t.Errorf("evaluate = %+v, want allowed %v, explicitly denied %v", d, c.allowed, c.denied)
			}
		})
	}
}

// A policy IAM would refuse is refused when the world starts.
func TestIAMPolicyShape(t *testing.T) {
	for _, doc := range []string{
		`{"Statement":[{"Effect":"Permit","Action":"ecs:*","Resource":"*"}]}`,
		`{"Statement":[{"Effect":"Allow","Resource":"*"}]}`,
		`{"Statement":[{"Effect":"Allow","Action":"ecs:*"}]}`,
		`{"Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*","Condition":{"StringMatches":{"ecs:cluster":"x"}}}]}`,
	} {
		if _, err := New(Config{Policies: []json.RawMessage{json.RawMessage(doc)}}); err == nil {
			t.Errorf("a world with %s started", doc)
		}
	}
}

func reference(t *testing.T) *iamref.Ref {
	t.Helper()
	ref, err := iamref.Load()
	if err != nil { // testtool.Missing's rule (testtool imports awsim, so not from here)
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v; install it with %s", err, iamref.Install)
		}
		t.Skipf("%v (install it with %s)", err, iamref.Install)
	}
	return ref
}

// Every row of the table is the Service Authorization Reference's: the same resource types,
// required or not, with the same ARN formats, and the same condition keys.
func TestIAMTableIsTheReference(t *testing.T) {
	ref := reference(t)
	for _, row := range IAMActions {
		want, ok := ref.Action(row.Action)
		if !ok {
			t.Errorf("%s: not an action of the reference (%s)", row.Action, ref.Version())
			continue
		}
		if want.Name != row.Action {
			t.Errorf("%s: the reference spells it %s", row.Action, want.Name)
		}
		var got, exp []string
		for _, r := range row.Resources {
			got = append(got, r.Type+" "+map[bool]string{true: "required", false: "optional"}[r.Required]+" "+r.ARN)
		}
		for _, r := range want.Resources {
			exp = append(exp, r.Type+" "+map[bool]string{true: "required", false: "optional"}[r.Required]+" "+r.ARN)
		}
		if !slices.Equal(got, exp) {
			t.Errorf("%s: resource types\n got  %q\n want %q (the reference %s)", row.Action, got, exp, ref.Version())
		}
		keys := want.AllKeys()
		slices.Sort(keys)
		keys = slices.Compact(keys)
		if !slices.Equal(row.Keys, keys) {
			t.Errorf("%s: condition keys\n got  %q\n want %q", row.Action, row.Keys, keys)
		}
	}
}

// The authorizations awsim derives from each request name every required resource type of the
// action, with an ARN of the reference's format, and carry only keys the reference lists for
// the action (or global ones). An action authorized on "*" either has no resource types or says
// why in Inferred.
func TestIAMAuthorizationsMatchTheTable(t *testing.T) {
	ref := reference(t)
	s, err := New(demoConfigForIAM())
	if err != nil {
		t.Fatal(err)
	}
	c := caller{identity: IdentitySpec{Account: "123456789012", ARN: PlaceholderRoleARN}, region: "us-east-1", known: true}
	world := &regionWorld{ecs: s.ecs, ecr: s.ecr, cd: s.cd, cp: s.cp, logs: s.logs}
	sd := "arn:aws:ecs:us-east-1:123456789012:service-deployment/tsa-gallery/api/M0Y3SEAHQVIFQ0BUWFSTM"
	requests := []iamRequest{
		{svc: "ECS", op: "DescribeClusters", in: map[string]any{"clusters": []any{"tsa-gallery"}}},
		{svc: "ECS", op: "DescribeServices", in: map[string]any{"cluster": "tsa-gallery", "services": []any{"api"}}},
		{svc: "ECS", op: "UpdateService", in: map[string]any{"cluster": "tsa-gallery", "service": "api", "taskDefinition": "api:1"}},
		{svc: "ECS", op: "TagResource", in: map[string]any{"resourceArn": svcARN, "tags": []any{map[string]any{"key": "deploystep:release", "value": "x"}}}},
		{svc: "ECS", op: "ListTagsForResource", in: map[string]any{"resourceArn": svcARN}},
		{svc: "ECS", op: "ListTasks", in: map[string]any{"cluster": "tsa-gallery", "serviceName": "api"}},
		{svc: "ECS", op: "DescribeTasks", in: map[string]any{"cluster": "tsa-gallery", "tasks": []any{"e34d3152baeb112c9bd77f2381ea0cf9"}}},
		{svc: "ECS", op: "StopTask", in: map[string]any{"cluster": "tsa-gallery", "task": "e34d3152baeb112c9bd77f2381ea0cf9"}},
		{svc: "ECS", op: "DescribeTaskDefinition", in: map[string]any{"taskDefinition": "api"}},
		{svc: "ECS", op: "ListTaskDefinitions", in: map[string]any{"familyPrefix": "api"}},
		{svc: "ECS", op: "RegisterTaskDefinition", in: map[string]any{"family": "api", "taskRoleArn": "arn:aws:iam::123456789012:role/tsa-gallery-task",
			"tags": []any{map[string]any{"key": "deploystep:release", "value": "x"}}}},
		{svc: "ECS", op: "ListServiceDeployments", in: map[string]any{"cluster": "tsa-gallery", "service": "api"}},
		{svc: "ECS", op: "DescribeServiceDeployments", in: map[string]any{"serviceDeploymentArns": []any{sd}}},
		{svc: "ECS", op: "StopServiceDeployment", in: map[string]any{"serviceDeploymentArn": sd}},
		{svc: "ECS", op: "ContinueServiceDeployment", in: map[string]any{"serviceDeploymentArn": sd}},
		{svc: "ECS", op: "RunTask", in: map[string]any{"cluster": "tsa-gallery", "taskDefinition": "api:1"}},
		{svc: "ECR", op: "DescribeImages", in: map[string]any{"repositoryName": "tsa/gallery"}},
		{svc: "CloudFront", op: "GetDistribution", path: []string{"distribution", iamDistribution}},
		{svc: "CloudFront", op: "GetDistributionConfig", path: []string{"distribution", iamDistribution, "config"}},
		{svc: "CloudFront", op: "CreateInvalidation", path: []string{"distribution", iamDistribution, "invalidation"}},
		{svc: "CloudFront", op: "GetInvalidation", path: []string{"distribution", iamDistribution, "invalidation", "I2J0I21PCUYOIK"}},
		{svc: "CloudFront", op: "ListInvalidations", path: []string{"distribution", iamDistribution, "invalidation"}},
		{svc: "CloudFront", op: "GetCachePolicy", path: []string{"cache-policy", "658327ea-f89d-4fab-a63d-7e88639e58f6"}},
		{svc: "CloudFront", op: "GetVpcOrigin", path: []string{"vpc-origin", "vo_0f1e2d3c4b5a69788"}},
		{svc: "ELB", op: "DescribeTargetGroups"},
		{svc: "ELB", op: "DescribeLoadBalancers"},
		{svc: "Logs", op: "GetLogEvents", in: map[string]any{"logGroupName": "/ecs/tsa-gallery/APITask", "logStreamName": "ecs/api/e34d3152baeb112c9bd77f2381ea0cf9"}},
		{svc: "CodeDeploy", op: "ListApplications"},
		{svc: "CodeDeploy", op: "ListDeploymentGroups", in: map[string]any{"applicationName": iamCodeDeployApp}},
		{svc: "CodeDeploy", op: "BatchGetDeploymentGroups", in: map[string]any{"applicationName": iamCodeDeployApp, "deploymentGroupNames": []any{iamCodeDeployGroup}}},
		{svc: "CodeDeploy", op: "CreateDeployment", in: map[string]any{"applicationName": iamCodeDeployApp, "deploymentGroupName": iamCodeDeployGroup}},
		{svc: "CodeDeploy", op: "GetDeployment", in: map[string]any{"deploymentId": s.cd.order[0]}},
		{svc: "CodeDeploy", op: "ListDeployments", in: map[string]any{"applicationName": iamCodeDeployApp, "deploymentGroupName": iamCodeDeployGroup}},
		{svc: "CodeDeploy", op: "StopDeployment", in: map[string]any{"deploymentId": "d-0F1E2D3C4"}},
		{svc: "CodeDeploy", op: "ListDeploymentTargets", in: map[string]any{"deploymentId": "d-0F1E2D3C4"}},
		{svc: "CodeDeploy", op: "GetDeploymentTarget", in: map[string]any{"deploymentId": "d-0F1E2D3C4"}},
		{svc: "CodePipeline", op: "PutJobSuccessResult"},
		{svc: "CodePipeline", op: "PutJobFailureResult"},
		{svc: "STS", op: "AssumeRole", in: map[string]any{"RoleArn": "arn:aws:iam::123456789012:role/deploystep-deploy", "RoleSessionName": "deploystep-x"}},
	}
	seen := map[string]bool{}
	for _, r := range requests {
		r.c, r.w = c, world
		auths := r.authorizations()
		action := iamPrefix[r.svc] + ":" + r.op
		seen[action] = true
		row, ok := iamAction(action)
		if !ok {
			t.Errorf("%s: no row in the table", action)
			continue
		}
		for _, a := range auths {
			seen[a.Action] = true
			arow, ok := iamAction(a.Action)
			want, _ := ref.Action(a.Action)
			if !ok {
				t.Errorf("%s: authorizes %s, which has no row", action, a.Action)
				continue
			}
			matched := a.Resource == "*"
			for _, rt := range arow.Resources {
				if iamref.ARNPattern(rt.ARN).MatchString(a.Resource) {
					matched = true
				}
			}
			if !matched {
				t.Errorf("%s: %s on %s, no resource type of the action has that ARN's format", action, a.Action, a.Resource)
			}
			for k := range a.Context {
				known := ref.Global(k)
				for _, rk := range want.AllKeys() {
					known = known || iamref.KeyMatches(rk, k)
				}
				if !known {
					t.Errorf("%s: %s carries the key %s, which the reference does not list for it", action, a.Action, k)
				}
			}
		}
		for _, rt := range row.Resources {
			if !rt.Required {
				continue
			}
			found := false
			for _, a := range auths {
				found = found || a.Action == action && (iamref.ARNPattern(rt.ARN).MatchString(a.Resource) || a.Resource == "*" && row.Inferred != "")
			}
			if !found {
				t.Errorf("%s: no authorization names its required resource type %s", action, rt.Type)
			}
		}
		if len(row.Resources) == 0 && len(auths) > 0 && auths[0].Resource != "*" {
			t.Errorf("%s takes no resource, but is authorized on %s", action, auths[0].Resource)
		}
	}
	for _, a := range IAMActions {
		if !seen[a.Action] && a.Action != "lambda:InvokeFunction" {
			t.Errorf("%s is in the table, but no request here authorizes it", a.Action)
		}
	}
	// every operation awsim serves is authorized by a row
	for _, op := range servedOperations() {
		if !seen[iamPrefix[strings.Split(op, ".")[0]]+":"+strings.Split(op, ".")[1]] && op != "STS.GetCallerIdentity" {
			t.Errorf("awsim serves %s, which this test does not authorize", op)
		}
	}
}

// servedOperations lists "Service.Op" for every operation awsim answers.
func servedOperations() []string {
	var out []string
	for op := range ecsOps {
		out = append(out, "ECS."+op)
	}
	for op := range cdOps {
		out = append(out, "CodeDeploy."+op)
	}
	return append(out, "ECR.DescribeImages", "Logs.GetLogEvents", "CodePipeline.PutJobSuccessResult", "CodePipeline.PutJobFailureResult",
		"CloudFront.GetDistribution", "CloudFront.GetDistributionConfig", "CloudFront.CreateInvalidation", "CloudFront.GetInvalidation",
		"CloudFront.ListInvalidations", "CloudFront.GetCachePolicy", "CloudFront.GetVpcOrigin",
		"ELB.DescribeTargetGroups", "ELB.DescribeLoadBalancers", "STS.AssumeRole", "STS.GetCallerIdentity")
}

// The world of the authorization table's test: the lab's cluster with its service on the
// CODE_DEPLOY controller, so that a CodeDeploy deployment exists to be read, and a distribution.
const (
	iamDistribution    = "E2DEMO0DIST0AB"
	iamCodeDeployApp   = "tsa-gallery-api"
	iamCodeDeployGroup = "tsa-gallery-api-bluegreen"
)

func demoConfigForIAM() Config {
	return Config{
		Clusters: []ClusterSpec{{Name: "tsa-gallery", Services: []ServiceSpec{{Name: "api", DesiredCount: 2, Image: "tsa/gallery:3f2c1ab",
			Scenario:   Scenario{Kind: Success},
			CodeDeploy: &CodeDeploySpec{Application: iamCodeDeployApp, Group: iamCodeDeployGroup}}}}},
		Repositories:  []RepositorySpec{{Name: "tsa/gallery", Images: []ImageSpec{{Tags: []string{"3f2c1ab"}}}}},
		Distributions: []DistributionSpec{{ID: iamDistribution, Warm: []string{"/api/health"}}},
	}
}
