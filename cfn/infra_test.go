package cfn_test

// infra.yaml and buildspec.yml: validated by the current cfn-lint (the Python package from
// aws-cloudformation, pinned and installed by make tools) and cfn-guard with the AWS Control
// Tower rules (the npm package pinned in cfn/package-lock.json), their wiring checked by parsing,
// and the buildspec's commands run against the simulator.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
	"github.com/deploystep/deploystep/deploy/awsapi"
	"github.com/deploystep/deploystep/internal/testtool"
)

// The files checked, at the top of the repository.
const (
	templateFile  = "../infra.yaml"
	buildspecFile = "../buildspec.yml"
	demoImage     = demo.Image
)

const guardRules = "node_modules/@cdklabs/cdk-validator-cfnguard/rules/control-tower/cfn-guard"

// controlTowerServices are the rule folders of the services infra.yaml uses.
var controlTowerServices = []string{"cloudfront", "cloudwatch", "codebuild", "ec2", "ecr", "ecs", "elasticloadbalancing",
	"identityandaccessmanagement", "lambda", "rds", "s3"}

// cfnLintVersion is the cfn-lint make tools installs; a test fails on another, so that the
// verdict is the pinned linter's.
const cfnLintVersion = "cfn-lint 1.51.0"

func cfnLint(t *testing.T) string {
	lint := testtool.Find(t, "cfn-lint", "make tools")
	if out, _ := command(t, lint, "--version"); strings.TrimSpace(out) != cfnLintVersion {
		t.Fatalf("%s is %q; make tools installs %s", lint, strings.TrimSpace(out), cfnLintVersion)
	}
	return lint
}

func cfnGuard(t *testing.T) string {
	return testtool.Find(t, "cfn-guard", "make tools", "node_modules/@cdklabs/cdk-validator-cfnguard/bin/ubuntu/x86_64/cfn-guard",
		"node_modules/@cdklabs/cdk-validator-cfnguard/bin/ubuntu/aarch64/cfn-guard")
}

func command(t *testing.T, name string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if exit, ok := err.(*exec.ExitError); ok {
		return string(out), exit.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return string(out), 0
}

// brokenTemplate writes a copy of infra.yaml with an unknown property and a dangling !Ref.
func brokenTemplate(t *testing.T) string {
	b, err := os.ReadFile(templateFile)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "\n      TimeoutInMinutes: 60\n", "\n      TimeoutInMinutes: 60\n      NotAProperty: 1\n", 1)
	s = strings.Replace(s, "SubnetId: !Ref PrivateSubnetA", "SubnetId: !Ref NoSuchSubnet", 1)
	p := filepath.Join(t.TempDir(), "broken.yaml")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInfraCfnLint(t *testing.T) {
	t.Parallel()
	lint := cfnLint(t)
	// 0 errors and 0 warnings: any finding is a non-zero exit and a line of output.
	out, code := command(t, lint, templateFile)
	if code != 0 || strings.TrimSpace(out) != "" {
		t.Fatalf("cfn-lint on infra.yaml: exit %d\n%s", code, out)
	}
	out, code = command(t, lint, brokenTemplate(t))
	if code == 0 || !strings.Contains(out, "E3002 Additional properties are not allowed ('NotAProperty' was unexpected)") ||
		!strings.Contains(out, "E1020 'NoSuchSubnet' is not one of") {
		t.Fatalf("cfn-lint passed a broken templateFile: exit %d\n%s", code, out)
	}
}

// suppressed reads suppressed-control-tower-rules.txt: a rule file, optionally ":" and the
// variants it fails in (else every variant), then why.
// Each variant (parameter file) passes the current cfn-lint with nothing to report, with the
// parameters resolved. The one ignore in infra.yaml (E3002/E3003 on APIService, for the PAUSE
// hook cfn-lint 1.51.0 does not know) hides exactly the hook's 4 findings: without it, only they
// come back.
func TestInfraVariantsCfnLint(t *testing.T) {
	t.Parallel()
	lint := cfnLint(t)
	for _, f := range parameterFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			out, code := command(t, lint, "--parameter-files", f, "--", templateFile)
			if code != 0 || strings.TrimSpace(out) != "" {
				t.Fatalf("cfn-lint with %s: exit %d\n%s", f, code, out)
			}
		})
	}
	b, _ := os.ReadFile(templateFile)
	ignore := regexp.MustCompile(`(?s)\n    Metadata:\n      cfn-lint:\n        config:\n(          #[^\n]*\n)*          ignore_checks: \[E3002, E3003\]\n`)
	if n := len(ignore.FindAllIndex(b, -1)); n != 1 {
		t.Fatalf("infra.yaml has %d E3002/E3003 ignores; want the one on APIService", n)
	}
	stripped := ignore.ReplaceAll(b, []byte("\n"))
	p := filepath.Join(t.TempDir(), "no-ignore.yaml")
	os.WriteFile(p, stripped, 0o644)
	out, _ := command(t, lint, "--format", "parseable", "--parameter-files", "parameters/bluegreen-codebuild.json", "--", p)
	hook := strings.Count(string(stripped[:strings.Index(string(stripped), "TargetType: PAUSE")]), "\n") + 1
	early := strings.Count(string(stripped[:strings.Index(string(stripped), "EarlySuccessCriteria:")]), "\n") + 1
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.SplitN(line, ":", 6)
		at := 0
		if len(f) == 6 {
			fmt.Sscan(f[1], &at)
		}
		if (at < hook || at > hook+5) && at != early {
			t.Errorf("without the ignore, a finding outside the PAUSE hook (line %d) and EarlySuccessCriteria (line %d): %s", hook, early, line)
			continue
		}
		got = append(got, f[5])
	}
	slices.Sort(got)
	got = slices.Compact(got) // cfn-lint reports each once per condition scenario
	want := []string{
		"E3002:Additional properties are not allowed ('EarlySuccessCriteria' was unexpected)",
		"E3002:Additional properties are not allowed ('TargetType' was unexpected)",
		"E3002:Additional properties are not allowed ('TimeoutConfiguration' was unexpected)",
		"E3003:'HookTargetArn' is a required property",
		"E3003:'RoleArn' is a required property",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("without the ignore, cfn-lint reports:\n%s\nwant only the PAUSE hook's and EarlySuccessCriteria's:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func suppressed(t *testing.T) map[string][]string {
	b, err := os.ReadFile("suppressed-control-tower-rules.txt")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rule, why, _ := strings.Cut(line, " ")
		if strings.TrimSpace(why) == "" {
			t.Errorf("suppressed rule %s has no reason", rule)
		}
		rule, only, _ := strings.Cut(rule, ":")
		out[rule] = nil
		if only != "" {
			out[rule] = strings.Split(only, ",")
		}
	}
	return out
}

// renderAll renders every parameter file into one directory (cfn-guard takes the directory).
func renderAll(t *testing.T) (string, []variant) {
	dir := t.TempDir()
	var vs []variant
	for _, f := range parameterFiles(t) {
		vs = append(vs, renderVariant(t, f, dir))
	}
	return dir, vs
}

// guardFailures runs one rule file on every rendered variant and returns the variants that fail.
func guardFailures(t *testing.T, guard, rules, dir string) ([]string, string) {
	out, code := command(t, guard, "validate", "-r", rules, "-d", dir, "--show-summary", "fail")
	var failed []string
	for _, m := range regexp.MustCompile(`(?m)^(\S+)\.json Status = FAIL$`).FindAllStringSubmatch(out, -1) {
		failed = append(failed, filepath.Base(m[1]))
	}
	if (code != 0) != (len(failed) > 0) {
		t.Fatalf("cfn-guard on %s: exit %d but %d failing files\n%s", rules, code, len(failed), out)
	}
	slices.Sort(failed)
	return failed, out
}

// Every Control Tower rule of the services used, on every variant (strategy × deploy path):
// a rule fails exactly where suppressed-control-tower-rules.txt says it does, and nowhere else.
func TestInfraControlTowerRules(t *testing.T) {
	t.Parallel()
	guard := cfnGuard(t)
	skip := suppressed(t)
	dir, vs := renderAll(t)
	var all []string
	for _, v := range vs {
		all = append(all, v.Name)
	}
	var files []string
	for _, svc := range controlTowerServices {
		fs, _ := filepath.Glob(filepath.Join(guardRules, svc, "*.guard"))
		if len(fs) == 0 {
			t.Fatalf("no Control Tower rules for %s under %s", svc, guardRules)
		}
		files = append(files, fs...)
	}
	if len(files) < 100 {
		t.Fatalf("only %d Control Tower rules", len(files))
	}
	type result struct {
		rule, out string
		failed    []string
	}
	results := make(chan result)
	sem := make(chan struct{}, 2)
	for _, f := range files {
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			failed, out := guardFailures(t, guard, f, dir)
			results <- result{filepath.Base(f), out, failed}
		}()
	}
	for range files {
		r := <-results
		want, isSuppressed := skip[r.rule]
		if isSuppressed && want == nil {
			want = all
		}
		if !slices.Equal(r.failed, want) {
			t.Errorf("%s fails in %v; suppressed-control-tower-rules.txt says %v\n%s", r.rule, r.failed, want, r.out)
		}
	}
	t.Logf("%d Control Tower rules on %d variants, %d suppressed with reasons", len(files), len(vs), len(skip))
}

// The project's rules (deploystep.guard) on every rendered variant, and on a variant given an
// extra deploy action, a wildcard action and a PassRole without its condition: each must be caught.
func TestInfraProjectGuardRules(t *testing.T) {
	t.Parallel()
	guard := cfnGuard(t)
	dir, vs := renderAll(t)
	if failed, out := guardFailures(t, guard, "deploystep.guard", dir); len(failed) > 0 {
		t.Fatalf("project rules fail on %v\n%s", failed, out)
	}
	res := vs[0].Doc["Resources"].(map[string]any)
	st := get(res, "DeployStepPolicy", "Properties", "PolicyDocument", "Statement", "0").(map[string]any)
	st["Action"] = append(st["Action"].([]any), "ecs:DeleteService")
	get(res, "CodeBuildRole", "Properties", "Policies", "0", "PolicyDocument", "Statement", "0").(map[string]any)["Action"] = "s3:*"
	for _, s := range get(res, "DeployStepPolicy", "Properties", "PolicyDocument", "Statement").([]any) {
		if m := s.(map[string]any); m["Action"] == "iam:PassRole" {
			delete(m, "Condition") // any service could be passed the task's roles
		}
	}
	js, _ := json.Marshal(vs[0].Doc)
	p := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(p, js, 0o644)
	out, code := command(t, guard, "validate", "-r", "deploystep.guard", "-d", p, "--show-summary", "fail")
	if code == 0 || !strings.Contains(out, "no_wildcard_actions_in_roles") || !strings.Contains(out, "deploystep_policy_is_its_calls") ||
		!strings.Contains(out, "deploystep_passes_roles_to_ecs_tasks_only") {
		t.Fatalf("project rules passed a wildcard, an extra action and a PassRole to any service: exit %d\n%s", code, out)
	}
}

// The guard rule's action list and the templateFile's deploy policy are the code's calls.
func TestInfraDeployPermissionsAreTheCodesCalls(t *testing.T) {
	want := strings.Join(awsapi.Permissions(false), " ")
	g, _ := os.ReadFile("deploystep.guard")
	list := regexp.MustCompile(`(?s)let deploystep_actions = \[(.*?)\]`).FindStringSubmatch(string(g))
	if list == nil {
		t.Fatal("no deploystep_actions in deploystep.guard")
	}
	var inGuard, some []string
	for _, m := range regexp.MustCompile(`'([a-z]+:[A-Za-z]+)'`).FindAllStringSubmatch(list[1], -1) {
		inGuard = append(inGuard, m[1])
	}
	for _, m := range regexp.MustCompile(`some Properties\.PolicyDocument\.Statement\[\*\]\.Action\[\*\] == '([a-z]+:[A-Za-z]+)'`).FindAllStringSubmatch(string(g), -1) {
		some = append(some, m[1])
	}
	sort.Strings(some)
	if got := strings.Join(inGuard, " "); got != want {
		t.Errorf("guard list %s\ncode calls %s", got, want)
	}
	if got := strings.Join(some, " "); got != want {
		t.Errorf("guard requires %s\ncode calls %s", got, want)
	}
	tpl := template(t)
	var actions []string
	for _, st := range tpl.path("Resources", "DeployStepPolicy", "Properties", "PolicyDocument", "Statement").Content {
		a := (&node{st}).path("Action")
		if a.Kind == yaml.ScalarNode {
			actions = append(actions, a.Value)
		}
		for _, c := range a.Content {
			actions = append(actions, c.Value)
		}
	}
	sort.Strings(actions)
	if got := strings.Join(slices.Compact(actions), " "); got != want {
		t.Errorf("DeployStepPolicy grants %s\ncode calls %s", got, want)
	}
}

// node wraps a yaml.Node to walk CloudFormation YAML (short tags like !Ref stay as tags).
type node struct{ *yaml.Node }

func (n *node) path(keys ...string) *node {
	cur := n.Node
	for _, k := range keys {
		if cur == nil {
			return &node{&yaml.Node{}}
		}
		if cur.Kind == yaml.DocumentNode {
			cur = cur.Content[0]
		}
		var next *yaml.Node
		for i := 0; i+1 < len(cur.Content) && cur.Kind == yaml.MappingNode; i += 2 {
			if cur.Content[i].Value == k {
				next = cur.Content[i+1]
			}
		}
		cur = next
	}
	if cur == nil {
		return &node{&yaml.Node{}}
	}
	return &node{cur}
}

func (n *node) str() string { return n.Value }

func template(t *testing.T) *node {
	b, err := os.ReadFile(templateFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return &node{&doc}
}

// refs collects every !Ref, !GetAtt and ${...} name in the templateFile.
func refs(n *yaml.Node, out map[string]bool) {
	switch n.Tag {
	case "!Ref":
		out[n.Value] = true
	case "!GetAtt":
		if n.Kind == yaml.ScalarNode {
			out[strings.Split(n.Value, ".")[0]] = true
		} else if len(n.Content) > 0 {
			out[n.Content[0].Value] = true
		}
	case "!Sub":
		s := n.Value
		vars := map[string]bool{}
		if n.Kind == yaml.SequenceNode && len(n.Content) == 2 {
			s = n.Content[0].Value
			for i := 0; i < len(n.Content[1].Content); i += 2 {
				vars[n.Content[1].Content[i].Value] = true
			}
		}
		for _, m := range regexp.MustCompile(`\$\{([A-Za-z0-9:]+)`).FindAllStringSubmatch(s, -1) {
			if !vars[m[1]] {
				out[m[1]] = true
			}
		}
	}
	for _, c := range n.Content {
		refs(c, out)
	}
}

func TestInfraWiring(t *testing.T) {
	tpl := template(t)
	resources := tpl.path("Resources")
	names := map[string]bool{}
	for i := 0; i < len(resources.Content); i += 2 {
		names[resources.Content[i].Value] = true
	}
	params := tpl.path("Parameters")
	for i := 0; i < len(params.Content); i += 2 {
		names[params.Content[i].Value] = true
		if params.Content[i+1].Kind != yaml.MappingNode || (&node{params.Content[i+1]}).path("Description").str() == "" {
			t.Errorf("parameter %s has no description", params.Content[i].Value)
		}
	}
	used := map[string]bool{}
	refs(tpl.Node, used)
	for r := range used {
		if !names[r] && !strings.HasPrefix(r, "AWS::") && !strings.HasPrefix(r, "BuildVariables.") {
			t.Errorf("!Ref/!GetAtt/${} to %q, which is neither a resource nor a parameter", r)
		}
	}
	for _, want := range []string{"VPC", "InternetGateway", "PublicSubnetA", "PublicSubnetB", "PrivateSubnetA", "PrivateSubnetB",
		"PublicSecurityGroup", "PrivateSecurityGroup", "FargateSecurityGroup", "DBCluster", "DataBucket", "ECRRepository",
		"APILogGroup", "APICluster", "APITask", "APIService", "APIALB", "APIALBListener", "APIALBTG", "CFDistribution",
		"CodeRepository", "APIBuildProject", "APIPipeline", "DeployFunction", "TaskExecutionRole", "TaskRole"} {
		if !names[want] {
			t.Errorf("resource %s is missing", want)
		}
	}
	if names["WebServer"] || names["FargateRole"] {
		t.Error("the lab's WebServer / AllowEverything FargateRole must be gone")
	}
	check := func(what, got, want string) {
		if got != want {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	task := resources.path("APITask", "Properties")
	check("APITask NetworkMode", task.path("NetworkMode").str(), "awsvpc")
	check("APITask RequiresCompatibilities", task.path("RequiresCompatibilities").Content[0].Value, "FARGATE")
	cont := &node{task.path("ContainerDefinitions").Content[0]}
	check("container port", cont.path("PortMappings").Content[0].Content[1].Value, "3000")
	svc := resources.path("APIService", "Properties")
	check("circuit breaker", svc.path("DeploymentConfiguration", "DeploymentCircuitBreaker", "Rollback").str(), "true")
	check("deployment controller", svc.path("DeploymentController", "Type").str(), "ECS")
	tg := resources.path("APIALBTG", "Properties")
	check("health check path", tg.path("HealthCheckPath").str(), "/api/health")
	check("target port", tg.path("Port").str(), "3000")
	check("target type", tg.path("TargetType").str(), "ip")
	check("default origin", resources.path("CFDistribution", "Properties", "DistributionConfig", "DefaultCacheBehavior", "TargetOriginId").str(), "Fargate-Endpoint")
	rule := resources.path("PrivateSecurityGroup", "Properties", "SecurityGroupIngress").Content[0]
	check("database port", (&node{rule}).path("FromPort").str(), "3306")
	check("database source", (&node{rule}).path("SourceSecurityGroupId").str(), "FargateSecurityGroup")
	check("repository scan on push", resources.path("ECRRepository", "Properties", "ImageScanningConfiguration", "ScanOnPush").str(), "true")
	fn := resources.path("DeployFunction", "Properties")
	check("function runtime", fn.path("Runtime").str(), "provided.al2023")
	check("function handler", fn.path("Handler").str(), "bootstrap")
	check("function arch", fn.path("Architectures").Content[0].Value, "arm64")
	if tpl.path("Outputs", "CloudFrontURL", "Value").str() == "" {
		t.Error("no CloudFrontURL output")
	}

	deployStepWiring(t, resources)
}

// deployStepWiring checks that both deploy paths give deploystep its settings.
func deployStepWiring(t *testing.T, resources *node) {
	// The build project sets what the buildspec and deploystep read.
	env := map[string]bool{}
	for _, v := range resources.path("APIBuildProject", "Properties", "Environment", "EnvironmentVariables").Content {
		env[(&node{v}).path("Name").str()] = true
	}
	for _, want := range []string{"CLUSTER", "SERVICE", "DISTRIBUTIONID", "REPOSITORY_URI", "DESIRED_COUNT", "DEPLOY_PATH", "DEPLOYSTEP_URL", "VERIFY_URL"} {
		if !env[want] {
			t.Errorf("APIBuildProject does not set %s", want)
		}
	}

	// The Invoke action sits in a conditional Deploy stage; its UserParameters are decoded into
	// the binary's settings for every lambda variant (variants_test.go, userParameters).
	var up *node
	for _, stage := range resources.path("APIPipeline", "Properties", "Stages").Content {
		if stage.Tag == "!If" {
			up = (&node{stage.Content[1]}).path("Actions")
			up = (&node{up.Content[0]}).path("Configuration", "UserParameters")
		}
	}
	if up == nil || up.Tag != "!Sub" {
		t.Fatal("no Lambda Invoke action with UserParameters (!Sub) in a conditional Deploy stage")
	}
}

type buildspec struct {
	Version string
	Env     struct {
		Exported []string `yaml:"exported-variables"`
	}
	Phases    map[string]struct{ Commands []string }
	Artifacts struct{ Files []string }
}

func readBuildspec(t *testing.T) buildspec {
	b, err := os.ReadFile(buildspecFile)
	if err != nil {
		t.Fatal(err)
	}
	var bs buildspec
	if err := yaml.Unmarshal(b, &bs); err != nil {
		t.Fatal(err)
	}
	return bs
}

func TestBuildspecWiring(t *testing.T) {
	bs := readBuildspec(t)
	if bs.Version != "0.2" {
		t.Errorf("version %q", bs.Version)
	}
	post := strings.Join(bs.Phases["post_build"].Commands, "\n")
	if !strings.Contains(post, "IMAGE=$IMAGE SUMMARY_FILE=release.md ./deploystep") || !strings.Contains(post, "CODEBUILD_BUILD_SUCCEEDING") {
		t.Errorf("post_build does not run deploystep with IMAGE after a successful build:\n%s", post)
	}
	if !strings.Contains(strings.Join(bs.Phases["pre_build"].Commands, "\n"), "get-login-password") {
		t.Error("pre_build does not log in to ECR")
	}
	if !strings.Contains(strings.Join(bs.Env.Exported, " "), "IMAGE") {
		t.Error("IMAGE is not exported for the pipeline")
	}
	if !slices.Equal(bs.Artifacts.Files, []string{"release.md"}) {
		t.Errorf("the build keeps %v as its artifact; want the release record, release.md", bs.Artifacts.Files)
	}
}

// The buildspec's header names every variable it reads and where it comes from: each one the
// project sets (infra.yaml's APIBuildProject environment, every variant's) under "from the
// project", and each one its commands read that they do not set.
func TestBuildspecNamesItsVariables(t *testing.T) {
	raw, err := os.ReadFile(buildspecFile)
	if err != nil {
		t.Fatal(err)
	}
	header, body, _ := strings.Cut(string(raw), "\nversion: 0.2")
	fromProject, rest, ok := strings.Cut(header, "from CodeBuild:")
	if !ok || !strings.Contains(fromProject, "from the project") || !strings.Contains(rest, "set here:") {
		t.Fatalf("the header does not say where the variables come from:\n%s", header)
	}
	_, projectPart, _ := strings.Cut(fromProject, "from the project")
	infra, err := os.ReadFile("../infra.yaml")
	if err != nil {
		t.Fatal(err)
	}
	project := string(infra)[strings.Index(string(infra), "\n  APIBuildProject:"):]
	project = project[:strings.Index(project[1:], "\n  DeployFunctionRole:")]
	word := regexp.MustCompile(`\b[A-Z][A-Z0-9_]{2,}\b`)
	names := regexp.MustCompile(`- Name: ([A-Z][A-Z0-9_]+)`).FindAllStringSubmatch(project, -1)
	if len(names) < 10 {
		t.Fatalf("found %d variables in the project", len(names))
	}
	for _, m := range names {
		if !slices.Contains(word.FindAllString(projectPart, -1), m[1]) {
			t.Errorf("the project sets %s; the header does not name it under \"from the project\"", m[1])
		}
	}
	assigned := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)(?:^|[\s;(])([A-Z][A-Z0-9_]+)=`).FindAllStringSubmatch(body, -1) {
		assigned[m[1]] = true
	}
	for _, m := range regexp.MustCompile(`\$\{?([A-Z][A-Z0-9_]+)`).FindAllStringSubmatch(body, -1) {
		if !assigned[m[1]] && !slices.Contains(word.FindAllString(header, -1), m[1]) {
			t.Errorf("the commands read $%s, which the header does not name", m[1])
		}
	}
	for _, v := range []string{"IMAGE_TAG", "PUSHED"} {
		if !assigned[v] {
			t.Errorf("the header says the buildspec sets %s; it does not", v)
		}
	}
}

// script turns the buildspec into the shell CodeBuild runs: version 0.2 runs every command in
// one shell; a failing command ends its phase; post_build runs even after a failed build, with
// CODEBUILD_BUILD_SUCCEEDING=0.
func script(bs buildspec) string {
	var b strings.Builder
	b.WriteString("export CODEBUILD_BUILD_SUCCEEDING=1\n")
	for _, phase := range []string{"install", "pre_build", "build"} {
		fmt.Fprintf(&b, "if [ \"$CODEBUILD_BUILD_SUCCEEDING\" = 1 ]; then echo '## %s'; set -e\n", phase)
		for _, c := range bs.Phases[phase].Commands {
			b.WriteString(c + "\n")
		}
		b.WriteString("set +e; fi\n")
	}
	b.WriteString("echo '## post_build'\nset -e\n")
	for _, c := range bs.Phases["post_build"].Commands {
		b.WriteString(c + "\n")
	}
	// UPLOAD_ARTIFACTS: a file the artifacts name that is not there fails the build ("no
	// matching artifact paths found").
	for _, f := range bs.Artifacts.Files {
		fmt.Fprintf(&b, "test -e %q || { echo 'CLIENT_ERROR: no matching artifact paths found: %s'; exit 1; }\n", f, f)
	}
	return b.String()
}

// runBuildspec executes the buildspec's commands against sim: docker and aws are PATH shims (no
// Docker engine, no S3 here), deploystep is the real binary. It returns deploystep's and the
// shell's output, the shims' call log and the shell's error.
func runBuildspec(t *testing.T, sim *awsim.Server, failBuild bool, extraEnv ...string) (string, string, error) {
	return runBuildspecPushed(t, sim, failBuild, false, extraEnv...)
}

// runBuildspecPushed runs the buildspec; pushed says the commit's tag is in ECR already (a re-run
// of the build), as the shimmed `aws ecr describe-images` answers.
func runBuildspecPushed(t *testing.T, sim *awsim.Server, failBuild, pushed bool, extraEnv ...string) (string, string, error) {
	src, shims := t.TempDir(), t.TempDir()
	calls := filepath.Join(shims, "calls.log")
	dockerExit := "0"
	if failBuild {
		dockerExit = `$( [ "$1" = build ] && echo 1 || echo 0 )`
	}
	os.WriteFile(filepath.Join(shims, "docker"), []byte("#!/bin/sh\necho \"docker $*\" >> "+calls+"\ncat >/dev/null 2>&1 || true\nexit "+dockerExit+"\n"), 0o755)
	// As the AWS CLI answers describe-images for a tag that is there, and one that is not.
	describe := `echo '{"imageDetails":[{"imageTags":["` + demo.Tag + `"]}]}'`
	if !pushed {
		describe = `echo "An error occurred (ImageNotFoundException) when calling the DescribeImages operation: The image with imageId {imageDigest:'null', imageTag:'` + demo.Tag + `'} does not exist within the repository" >&2; exit 254`
	}
	os.WriteFile(filepath.Join(shims, "aws"), []byte(`#!/bin/sh
echo "aws $*" >> `+calls+`
case "$1 $2" in
  "ecr get-login-password") echo simulated-ecr-password ;;
  "s3 cp") for a; do last=$prev; prev=$a; done; tar -czf "$prev" -C "`+filepath.Dir(testtool.Binary(t))+`" deploystep ;;
  "ecr describe-images") `+describe+` ;;
  *) echo "aws shim: unexpected $*" >&2; exit 1 ;;
esac
`), 0o755)
	cmd := exec.Command("bash", "-c", script(readBuildspec(t)))
	cmd.Dir = src
	cmd.Env = append(append(sim.Env(), demo.Env("IMAGE=")...), "HOME="+os.TempDir(), "PATH="+shims+":"+os.Getenv("PATH"), "CODEBUILD_SRC_DIR="+src,
		"CODEBUILD_RESOLVED_SOURCE_VERSION="+demo.Tag+"9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1",
		"CODEBUILD_BUILD_ID=tsa-gallery-api:5e6f7a8b-0000-4000-8000-000000000001",
		"REPOSITORY_URI=123456789012.dkr.ecr.us-east-1.amazonaws.com/"+demo.Repository,
		"DEPLOY_PATH=codebuild", "DEPLOYSTEP_URL=s3://deploystep-artifacts/deploystep/deploystep-linux-arm64.tar.gz",
		"DESIRED_COUNT=2",
		"POLL_INTERVAL=250ms")
	cmd.Env = append(cmd.Env, extraEnv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	log, _ := os.ReadFile(calls)
	if rec, rerr := os.ReadFile(filepath.Join(src, "release.md")); rerr == nil { // the build's artifact
		out.WriteString("\n== release.md\n" + string(rec))
	}
	return out.String(), string(log), err
}

// TestBuildspecRuns runs the buildspec: a successful build deploys with IMAGE; a failed one
// pushes and deploys nothing.
func TestBuildspecRuns(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		failBuild bool
	}{{"deploys", false}, {"failed build deploys nothing", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim := testtool.Sim(t, demo.Config(awsim.Success, time.Second, 500*time.Millisecond))
			out, log, err := runBuildspec(t, sim, tc.failBuild)
			if tc.failBuild {
				if err == nil || strings.Contains(log, "docker push") || len(sim.Calls()) != 0 {
					t.Fatalf("a failed build pushed or deployed: %v\n%s\n%s", err, out, log)
				}
				return
			}
			if err != nil {
				t.Fatalf("buildspec failed: %v\n%s\n%s", err, out, log)
			}
			image := demo.Image
			for _, want := range []string{"aws s3 cp --only-show-errors s3://deploystep-artifacts/", "aws ecr get-login-password --region us-east-1",
				"docker login --username AWS --password-stdin 123456789012.dkr.ecr.us-east-1.amazonaws.com",
				"aws ecr describe-images --repository-name tsa/gallery --image-ids imageTag=" + demo.Tag,
				"docker build --build-arg VERSION=" + demo.Tag + " -t " + image, "docker push " + image} {
				if !strings.Contains(log, want) {
					t.Errorf("no %q in the shim log:\n%s", want, log)
				}
			}
			if !strings.Contains(out, image+" is sha256:") || !strings.Contains(out, "summary: succeeded") {
				t.Errorf("deploystep did not run with IMAGE=%s:\n%s", image, out)
			}
			if !strings.Contains(out, "== release.md\n# deploystep release: succeeded\n") || !strings.Contains(out, "| Image | `"+image+"` |") {
				t.Errorf("the build's artifact is not the release record:\n%s", out)
			}
			e := sim.Effects()
			if e.Registrations[demo.Service] != 1 || e.Deployments[demo.Cluster+"/"+demo.Service] != 1 || e.Invalidations[demo.Distribution] != 1 {
				t.Errorf("effects %+v\n%s", e, out)
			}
		})
	}
}

// TestBuildspecLambdaPath: with DEPLOY_PATH=lambda the build deploys nothing itself, and its
// artifact says where the release is recorded (the build does not fail for want of release.md).
func TestBuildspecLambdaPath(t *testing.T) {
	t.Parallel()
	sim := testtool.Sim(t, demo.Config(awsim.Success, time.Second, 500*time.Millisecond))
	out, _, err := runBuildspec(t, sim, false, "DEPLOY_PATH=lambda")
	if err != nil || !strings.Contains(out, "== release.md\n# deploystep release\n\n"+demo.Image+" is deployed by the pipeline's Deploy stage") {
		t.Fatalf("%v\n%s", err, out)
	}
	if e := sim.Effects(); len(e.Deployments) != 0 || len(e.Invalidations) != 0 {
		t.Errorf("the lambda path's build deployed: %+v", e)
	}
}

// TestBuildspecRerunOfACommit: the repository's tags are immutable, so a second build of the same
// commit (its tag is in ECR already) builds and pushes nothing and deploys the image that is
// there.
func TestBuildspecRerunOfACommit(t *testing.T) {
	t.Parallel()
	sim := testtool.Sim(t, demo.Config(awsim.Success, time.Second, 500*time.Millisecond))
	out, log, err := runBuildspecPushed(t, sim, false, true)
	if err != nil {
		t.Fatalf("the re-run failed: %v\n%s\n%s", err, out, log)
	}
	if strings.Contains(log, "docker build") || strings.Contains(log, "docker push") {
		t.Errorf("a re-run of the commit built or pushed:\n%s", log)
	}
	if !strings.Contains(out, "is in ECR already (its tag is immutable)") || !strings.Contains(out, "summary: succeeded") ||
		sim.Effects().Registrations[demo.Service] != 1 {
		t.Errorf("the re-run did not deploy the pushed image:\n%s", out)
	}
}

// TestBuildspecSmokeTestGatesTraffic runs the buildspec with the environment the BLUE_GREEN +
// PauseForTests variant gives the build (HOOK_COMMAND exactly as rendered, curl against the test
// listener) on a deployment that pauses at POST_TEST_TRAFFIC_SHIFT. The test listener is a local
// server standing for the green revision: 200 continues the deployment, 502 rolls it back.
func TestBuildspecSmokeTestGatesTraffic(t *testing.T) {
	t.Parallel()
	testtool.Find(t, "curl", "apt-get install curl (.ci/run does)")
	_, vs := renderAll(t)
	var hook string
	for _, v := range vs {
		if v.Name == "bluegreen-codebuild" {
			for _, e := range get(v.Doc, "Resources", "APIBuildProject", "Properties", "Environment", "EnvironmentVariables").([]any) {
				if get(e, "Name") == "HOOK_COMMAND" {
					hook = get(e, "Value").(string)
				}
			}
		}
	}
	if hook == "" {
		t.Fatal("the bluegreen-codebuild variant sets no HOOK_COMMAND")
	}
	for _, tc := range []struct {
		name   string
		status int
		exit   int
		want   []string
	}{
		{"green answers 200", 200, 0, []string{"HOOK_COMMAND passed: ContinueServiceDeployment CONTINUE", "summary: succeeded"}},
		{"green answers 502", 502, 1, []string{"The requested URL returned error: 502", "ContinueServiceDeployment ROLLBACK", "rolled back at the PAUSE hook of POST_TEST_TRAFFIC_SHIFT"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var paths []string
			var mu sync.Mutex
			green := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				paths = append(paths, r.URL.Path)
				mu.Unlock()
				w.WriteHeader(tc.status)
				fmt.Fprintf(w, `{"status":"ok","version":"%s"}`, demo.Tag)
			}))
			defer green.Close()
			cfg := demo.Config(awsim.Paused, 2*time.Second, 500*time.Millisecond)
			cfg.Clusters[0].Services[0].BakeTime = awsim.Duration(time.Second)
			sim := testtool.Sim(t, cfg)
			out, log, err := runBuildspec(t, sim, false, "TEST_LISTENER_URL="+green.URL, "HOOK_COMMAND="+hook)
			code := 0
			if exit, ok := err.(*exec.ExitError); ok {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.exit {
				t.Fatalf("buildspec exit %d, want %d\n%s\n%s", code, tc.exit, out, log)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("no %q in\n%s", w, out)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(paths) != 1 || paths[0] != "/api/health" {
				t.Errorf("the test listener saw %v; want one GET /api/health", paths)
			}
		})
	}
}
