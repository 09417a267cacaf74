package cfn_test

// What AWS would do with the stack, beyond what a linter sees: each invariant below is a
// property of a rendered variant as CloudFormation, ECS, CodePipeline and EventBridge would
// execute it (the first create on an empty account, what starts the pipeline, architectures,
// deletion, cost and exposure). TestInfraSemantics holds every invariant on every variant;
// TestInfraSemanticsCatchBrokenCopies breaks infra.yaml (or the buildspec, or the Makefile) once
// per invariant and requires that invariant, and only a real change, to report it.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/deploystep/deploystep/internal/release"
	"github.com/deploystep/deploystep/internal/testtool"
)

// repoFiles are the files besides infra.yaml that the invariants read.
type repoFiles struct{ buildspec, makefile string }

func readRepoFiles(t *testing.T) repoFiles {
	b, err := os.ReadFile(buildspecFile)
	if err != nil {
		t.Fatal(err)
	}
	m, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	return repoFiles{string(b), string(m)}
}

// invariant is one property of a rendered variant; check returns what breaks it.
type invariant struct {
	name  string
	check func(v variant, f repoFiles) []string
	// broken is a change (file, old, new) after which check must report on some variant.
	broken [3]string
}

var invariants = []invariant{
	{"the first create starts without tasks, and the releases own the desired count", firstCreate,
		[3]string{"infra.yaml", "DesiredCount: !If [StartsEmpty, 0, !Ref AWS::NoValue]", "DesiredCount: 2"}},
	{"the image, the tasks and the Lambda function agree on the architecture", architecture,
		[3]string{"infra.yaml", "CpuArchitecture: ARM64", "CpuArchitecture: X86_64"}},
	{"a push to the branch starts the pipeline", pushStartsPipeline,
		[3]string{"infra.yaml", "referenceName: [!Ref BranchName]", "referenceName: [master]"}},
	{"the releases own the image: immutable tags, the commit's tag pushed once, the template on the released image", releasedImage,
		[3]string{"infra.yaml", "ImageTagMutability: IMMUTABLE", "ImageTagMutability: MUTABLE"}},
	{"a stack update keeps the released image", updateKeepsImage,
		[3]string{"infra.yaml", "Image: !If [HasTaskImage, !Ref TaskImage, ", "Image: !If [HasTaskImage, !Sub '${ECRRepository.RepositoryUri}:latest', "}},
	{"deleting the stack deletes what it made", deletion,
		[3]string{"infra.yaml", "EmptyOnDelete: true", "EmptyOnDelete: false"}},
	{"an idle lab pays for no NAT gateway, no idle database and no Container Insights", idleCost,
		[3]string{"infra.yaml", "  NatGateway:\n    Type: AWS::EC2::NatGateway\n    Condition: ShiftsTraffic\n", "  NatGateway:\n    Type: AWS::EC2::NatGateway\n"}},
	{"the origin accepts traffic from CloudFront only", originFromCloudFrontOnly,
		[3]string{"infra.yaml", "SourcePrefixListId: !Ref CloudFrontPrefixListId", "CidrIp: 0.0.0.0/0"}},
	{"database logins survive the password's rotation", loginsSurviveRotation,
		[3]string{"infra.yaml", "            - Name: DB_SECRET_ARN\n              Value: !GetAtt DBCluster.MasterUserSecret.SecretArn\n",
			"          Secrets:\n            - Name: DB_CREDENTIALS\n              ValueFrom: !GetAtt DBCluster.MasterUserSecret.SecretArn\n"}},
}

func TestInfraSemantics(t *testing.T) {
	t.Parallel()
	_, vs := renderAll(t)
	f := readRepoFiles(t)
	for _, inv := range invariants {
		t.Run(inv.name, func(t *testing.T) {
			for _, v := range vs {
				for _, p := range inv.check(v, f) {
					t.Errorf("%s: %s", v.Name, p)
				}
			}
		})
	}
}

func TestInfraSemanticsCatchBrokenCopies(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(templateFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, inv := range invariants {
		t.Run(inv.name, func(t *testing.T) {
			tpl, f := string(raw), readRepoFiles(t)
			file, old, repl := inv.broken[0], inv.broken[1], inv.broken[2]
			target := map[string]*string{"infra.yaml": &tpl, "buildspec.yml": &f.buildspec, "Makefile": &f.makefile}[file]
			if !strings.Contains(*target, old) {
				t.Fatalf("%s no longer contains %q: update the broken copy", file, old)
			}
			*target = strings.Replace(*target, old, repl, 1)
			dir := t.TempDir()
			var caught []string
			for _, pf := range parameterFiles(t) {
				caught = append(caught, inv.check(renderTemplate(t, []byte(tpl), pf, dir), f)...)
			}
			if len(caught) == 0 {
				t.Fatalf("the broken copy (%s: %q -> %q) passes", file, old, repl)
			}
			t.Logf("caught: %s", caught[0])
		})
	}
}

// --- the invariants ---

// services and parameters of a variant
func resources(v variant) map[string]any { return v.Doc["Resources"].(map[string]any) }

func ofType(v variant, typ string) []string {
	var out []string
	for _, n := range resourceNames(v.Doc) {
		if get(resources(v), n, "Type") == typ {
			out = append(out, n)
		}
	}
	return out
}

// firstCreate: CloudFormation creates a service only once its tasks run, and the stack's own
// repository is empty at first; so the first create asks for 0 tasks. After it the template
// sends no count (CloudFormation omits it from UpdateService, so a stack update keeps the
// releases' count), and every release sets TaskCount through DESIRED_COUNT.
func firstCreate(v variant, _ repoFiles) []string {
	var out []string
	dc, has := get(resources(v), "APIService", "Properties").(map[string]any)["DesiredCount"]
	switch {
	case v.Params["StartWithoutTasks"] == "true" && (!has || fmt.Sprint(dc) != "0"):
		out = append(out, fmt.Sprintf("StartWithoutTasks=true, but the service is created with desired count %v, not 0", dc))
	case v.Params["StartWithoutTasks"] != "true" && has:
		out = append(out, fmt.Sprintf("an update sends DesiredCount %v, which resets the releases' count", dc))
	}
	env := deployEnvOf(v)
	if env["DESIRED_COUNT"] != v.Params["TaskCount"] {
		out = append(out, fmt.Sprintf("deploystep gets DESIRED_COUNT %q, not TaskCount (%s): the first release would leave the service without tasks",
			env["DESIRED_COUNT"], v.Params["TaskCount"]))
	}
	return out
}

// architecture: docker build on the build host makes images of the host's architecture; Fargate
// runs the task's RuntimePlatform (X86_64 when unset); the function runs what make lambda builds.
func architecture(v variant, f repoFiles) []string {
	var out []string
	env := get(resources(v), "APIBuildProject", "Properties", "Environment")
	host := map[string]string{"ARM_CONTAINER": "ARM64", "LINUX_CONTAINER": "X86_64"}[fmt.Sprint(get(env, "Type"))]
	if host == "ARM64" && !strings.Contains(fmt.Sprint(get(env, "Image")), "aarch64") {
		out = append(out, fmt.Sprintf("an ARM_CONTAINER build with the image %v", get(env, "Image")))
	}
	task := get(resources(v), "APITask", "Properties", "RuntimePlatform", "CpuArchitecture")
	if task == nil {
		task = "X86_64"
	}
	if host == "" || fmt.Sprint(task) != host {
		out = append(out, fmt.Sprintf("the build makes %s images, the tasks run %v", host, task))
	}
	// The keys name release assets (package release builds them: make dist, make publish) of
	// the build host's and the function's architecture.
	hostGo := map[string]string{"ARM64": "arm64", "X86_64": "amd64"}[host]
	if a := path.Base(v.Params["DeploystepBinaryKey"]); !isAsset(a) || a != "deploystep-linux-"+hostGo+".tar.gz" {
		out = append(out, fmt.Sprintf("the build host runs %s, but DeploystepBinaryKey (%s) is not that release asset", hostGo, v.Params["DeploystepBinaryKey"]))
	}
	if fn := get(resources(v), "DeployFunction", "Properties"); fn != nil {
		arch := fmt.Sprint(get(fn, "Architectures", "0"))
		if a := path.Base(v.Params["DeployFunctionKey"]); !isAsset(a) || a != "deploystep-lambda-"+arch+".zip" || !strings.Contains(f.makefile, "LAMBDA_ARCH ?= "+arch) {
			out = append(out, fmt.Sprintf("the function is %s, but DeployFunctionKey (%s) or make lambda give another architecture", arch, v.Params["DeployFunctionKey"]))
		}
	}
	return out
}

// isAsset says whether name is one of a release's assets.
func isAsset(name string) bool {
	for _, t := range release.Targets {
		if t.Asset == name {
			return true
		}
	}
	return false
}

// pushStartsPipeline: a CodeCommit source action that does not poll needs the EventBridge rule
// CodePipeline documents (the repository's branch events, a role that may start the pipeline); a
// CodeConnections source detects changes itself.
func pushStartsPipeline(v variant, _ repoFiles) []string {
	var out []string
	res := resources(v)
	src := get(res, "APIPipeline", "Properties", "Stages", "0", "Actions", "0")
	cfg := get(src, "Configuration")
	provider := get(src, "ActionTypeId", "Provider")
	if !refTo(get(cfg, "BranchName"), "BranchName") {
		out = append(out, fmt.Sprintf("the source action follows branch %v, not BranchName", get(cfg, "BranchName")))
	}
	if v.Params["SourceProvider"] == "CodeConnections" {
		if provider != "CodeStarSourceConnection" || get(cfg, "DetectChanges") != true || !refTo(get(cfg, "ConnectionArn"), "ConnectionArn") {
			out = append(out, fmt.Sprintf("a CodeConnections source that does not detect changes: %v %v", provider, cfg))
		}
		return out
	}
	if provider != "CodeCommit" || get(cfg, "PollForSourceChanges") != false {
		out = append(out, fmt.Sprintf("source %v with PollForSourceChanges %v", provider, get(cfg, "PollForSourceChanges")))
	}
	pipelineARN := "arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:${APIPipeline}"
	started := false
	for _, r := range ofType(v, "AWS::Events::Rule") {
		p := get(res, r, "Properties")
		pat := get(p, "EventPattern")
		if fmt.Sprint(get(pat, "source")) != "[aws.codecommit]" || fmt.Sprint(get(pat, "detail-type")) != "[CodeCommit Repository State Change]" ||
			!refTo(get(pat, "resources", "0"), "CodeRepository") || !refTo(get(pat, "detail", "referenceName", "0"), "BranchName") ||
			!strings.Contains(fmt.Sprint(get(pat, "detail", "event")), "referenceUpdated") ||
			fmt.Sprint(get(pat, "detail", "referenceType")) != "[branch]" {
			continue
		}
		target := get(p, "Targets", "0")
		role, _ := get(target, "RoleArn", "Fn::GetAtt").([]any)
		if get(target, "Arn", "Fn::Sub") != pipelineARN || len(role) == 0 {
			continue
		}
		rp := get(res, fmt.Sprint(role[0]), "Properties")
		st := get(rp, "Policies", "0", "PolicyDocument", "Statement", "0")
		if get(rp, "AssumeRolePolicyDocument", "Statement", "0", "Principal", "Service") == "events.amazonaws.com" &&
			get(st, "Action") == "codepipeline:StartPipelineExecution" && get(st, "Resource", "Fn::Sub") == pipelineARN {
			started = true
		}
	}
	if !started {
		out = append(out, "no EventBridge rule starts the pipeline on a push to BranchName of the CodeCommit repository")
	}
	return out
}

// releasedImage: the repository's tags are immutable (Security Hub ECR.2, ct-ecr-pr-3); the build
// pushes its commit's tag only, once (a re-run of the commit deploys the image that is there), and
// hands it to deploystep as IMAGE, which registers a revision of the template's family pinned to
// its digest; no moving tag is pushed or named.
func releasedImage(v variant, f repoFiles) []string {
	var out []string
	for _, n := range ofType(v, "AWS::ECR::Repository") {
		if m := get(resources(v), n, "Properties", "ImageTagMutability"); m != "IMMUTABLE" {
			out = append(out, fmt.Sprintf("repository %s has ImageTagMutability %v", n, m))
		}
	}
	if strings.Count(f.buildspec, "docker push ") != 1 || !strings.Contains(f.buildspec, "docker push $IMAGE") {
		out = append(out, "the buildspec does not push exactly the commit's tag ($IMAGE)")
	}
	if !strings.Contains(f.buildspec, "aws ecr describe-images") || !strings.Contains(f.buildspec, "ImageNotFoundException") {
		out = append(out, "the buildspec does not check whether the commit's tag is pushed already")
	}
	if strings.Contains(f.buildspec, "latest") || strings.Contains(f.buildspec, "TASK_IMAGE_TAG") {
		out = append(out, "the buildspec still names a moving tag")
	}
	return out
}

// updateKeepsImage: after the first create (StartWithoutTasks false) the template's task
// definition names TaskImage, the digest-pinned image the service runs (make stack reads it), and
// a rule refuses an update without it; so a change to the task definition that makes
// CloudFormation register and deploy a new revision deploys the released image, not one that was
// never pushed. On the first create no task runs, whatever the image.
func updateKeepsImage(v variant, _ repoFiles) []string {
	var out []string
	img := get(resources(v), "APITask", "Properties", "ContainerDefinitions", "0", "Image")
	if v.Params["StartWithoutTasks"] == "false" && (get(img, "Ref") != "TaskImage" || !strings.Contains(v.Params["TaskImage"], "@sha256:")) {
		out = append(out, fmt.Sprintf("an update's task definition names %v, not TaskImage (%q, digest-pinned)", img, v.Params["TaskImage"]))
	}
	if len(v.RulesFailed) > 0 {
		out = append(out, fmt.Sprintf("CloudFormation would refuse these parameters: rules %v fail", v.RulesFailed))
	}
	return out
}

// deletion: delete-stack must not stop at a repository that holds images; nothing is retained
// but the database's final snapshot (the README's cleanup says what it costs). S3 buckets cannot
// be emptied by CloudFormation: make destroy empties them first (TestStackScript).
func deletion(v variant, _ repoFiles) []string {
	var out []string
	for _, n := range ofType(v, "AWS::ECR::Repository") {
		if get(resources(v), n, "Properties", "EmptyOnDelete") != true {
			out = append(out, n+" is not EmptyOnDelete: delete-stack fails while it holds images")
		}
	}
	for _, n := range resourceNames(v.Doc) {
		r := resources(v)[n]
		for _, k := range []string{"DeletionPolicy", "UpdateReplacePolicy"} {
			p := get(r, k)
			if p == nil || p == "Delete" || p == "Snapshot" && n == "DBCluster" {
				continue
			}
			out = append(out, fmt.Sprintf("%s has %s %v", n, k, p))
		}
	}
	return out
}

// idleCost: the ROLLING lab runs without a NAT gateway (tasks pull through the internet gateway
// with a public address each), the database scales to zero and pauses, and Container Insights is
// off.
func idleCost(v variant, _ repoFiles) []string {
	var out []string
	res := resources(v)
	if v.Params["DeploymentStrategy"] == "ROLLING" && len(ofType(v, "AWS::EC2::NatGateway"))+len(ofType(v, "AWS::EC2::EIP")) > 0 {
		out = append(out, "a ROLLING stack has a NAT gateway or an Elastic IP ($1.20 a day idle)")
	}
	net := get(res, "APIService", "Properties", "NetworkConfiguration", "AwsvpcConfiguration")
	if get(net, "AssignPublicIp") != "ENABLED" || !refTo(get(net, "Subnets", "0"), "PublicSubnetA") {
		if len(ofType(v, "AWS::EC2::NatGateway")) == 0 {
			out = append(out, "the tasks have no public address and no NAT gateway: they cannot pull their image")
		}
	}
	scaling := get(res, "DBCluster", "Properties", "ServerlessV2ScalingConfiguration")
	if get(res, "DBInstanceA", "Properties", "DBInstanceClass") != "db.serverless" || fmt.Sprint(get(scaling, "MinCapacity")) != "0" || get(scaling, "SecondsUntilAutoPause") == nil {
		out = append(out, "the database does not scale to zero and pause")
	}
	if fmt.Sprint(get(res, "APICluster", "Properties", "ClusterSettings")) != "[map[Name:containerInsights Value:disabled]]" {
		out = append(out, "Container Insights is not off")
	}
	return out
}

// originFromCloudFrontOnly: the load balancer's HTTP port admits CloudFront's origin-facing
// servers only; the test port the deploy step's NAT address only; the tasks the load balancer
// only; the database the tasks only. No rule anywhere admits the whole internet.
func originFromCloudFrontOnly(v variant, _ repoFiles) []string {
	var out []string
	res := resources(v)
	type rule struct{ group, from, source string }
	var rules []rule
	src := func(r any) string {
		for _, k := range []string{"SourcePrefixListId", "SourceSecurityGroupId", "CidrIp", "CidrIpv6"} {
			if s := get(r, k); s != nil {
				return fmt.Sprintf("%s=%v", k, s)
			}
		}
		return "?"
	}
	for _, g := range ofType(v, "AWS::EC2::SecurityGroup") {
		if l, ok := get(res, g, "Properties", "SecurityGroupIngress").([]any); ok {
			for _, r := range l {
				rules = append(rules, rule{g, fmt.Sprint(get(r, "FromPort")), src(r)})
			}
		}
	}
	for _, i := range ofType(v, "AWS::EC2::SecurityGroupIngress") {
		p := get(res, i, "Properties")
		g, _ := get(p, "GroupId", "Ref").(string)
		rules = append(rules, rule{g, fmt.Sprint(get(p, "FromPort")), src(p)})
	}
	want := map[string]string{
		"PublicSecurityGroup 80":    "SourcePrefixListId=map[Ref:CloudFrontPrefixListId]",
		"PublicSecurityGroup 8080":  "CidrIp=map[Fn::Sub:${NatEIP.PublicIp}/32]",
		"FargateSecurityGroup 3000": "SourceSecurityGroupId=map[Ref:PublicSecurityGroup]",
		"PrivateSecurityGroup 3306": "SourceSecurityGroupId=map[Ref:FargateSecurityGroup]",
	}
	for _, r := range rules {
		if w, ok := want[r.group+" "+r.from]; !ok || w != r.source {
			out = append(out, fmt.Sprintf("%s admits port %s from %s", r.group, r.from, r.source))
		}
	}
	return out
}

// loginsSurviveRotation: RDS rotates the managed master secret every 7 days; a password injected
// into the container at start would fail every login after a rotation until the next release. The
// tasks get the secret's ARN and the right to read it when they connect.
func loginsSurviveRotation(v variant, _ repoFiles) []string {
	var out []string
	res := resources(v)
	c := get(res, "APITask", "Properties", "ContainerDefinitions", "0")
	if get(c, "Secrets") != nil {
		out = append(out, fmt.Sprintf("the container is given secrets at start (%v): they go stale at the next rotation", get(c, "Secrets")))
	}
	secret := "map[Fn::GetAtt:[DBCluster MasterUserSecret.SecretArn]]"
	found := false
	for _, e := range get(c, "Environment").([]any) {
		found = found || get(e, "Name") == "DB_SECRET_ARN" && fmt.Sprint(get(e, "Value")) == secret
	}
	if !found {
		out = append(out, "the container is not told the secret's ARN (DB_SECRET_ARN)")
	}
	readable := false
	for _, st := range get(res, "TaskRole", "Properties", "Policies", "0", "PolicyDocument", "Statement").([]any) {
		readable = readable || get(st, "Action") == "secretsmanager:GetSecretValue" && fmt.Sprint(get(st, "Resource")) == secret
	}
	if !readable {
		out = append(out, "the task role cannot read the secret")
	}
	if get(res, "DBCluster", "Properties", "ManageMasterUserPassword") != true {
		out = append(out, "the password is not RDS-managed")
	}
	return out
}

// deployEnvOf is the environment deploystep gets, or none when the variant gives no valid one.
func deployEnvOf(v variant) map[string]string {
	env, _ := settingsOf(v)
	return env
}

// buildVariant is v as the build sees it (the CodeBuild project's variables exist in both paths).
func buildVariant(v variant) variant {
	p := map[string]string{}
	for k, x := range v.Params {
		p[k] = x
	}
	p["DeployPath"] = "codebuild"
	return variant{Name: v.Name, Params: p, Doc: v.Doc, Path: v.Path}
}

// stackNames are names CloudFormation accepts for a stack ([a-zA-Z][-a-zA-Z0-9]*, at most 128
// characters): upper case, and the longest.
var stackNames = []string{"TSA-Gallery", ("TSA-Gallery-Lab7-" + strings.Repeat("Fargate-Release-", 8))[:127] + "X"}

// nameValues lists every property of the rendered resources whose value CloudFormation knows
// before creating anything (literals, and what depends on parameters and the stack's name and id
// only), as the stack named stack would have them.
func nameValues(v variant, stack string) []map[string]any {
	vals := pseudo(v, stack)
	var out []map[string]any
	var walk func(res, typ string, path []any, x any)
	walk = func(res, typ string, path []any, x any) {
		if s, ok := literal(x, vals); ok {
			if _, plain := x.(string); !plain || len(path) > 0 {
				out = append(out, map[string]any{"resource": res, "type": typ, "path": path, "value": s})
			}
			return
		}
		switch c := x.(type) {
		case map[string]any:
			for k, e := range c {
				if !strings.HasPrefix(k, "Fn::") && k != "Ref" {
					walk(res, typ, append(slices.Clone(path), k), e)
				}
			}
		case []any:
			for i, e := range c {
				walk(res, typ, append(slices.Clone(path), i), e)
			}
		}
	}
	for _, n := range resourceNames(v.Doc) {
		walk(n, fmt.Sprint(get(resources(v), n, "Type")), nil, get(resources(v), n, "Properties"))
	}
	return out
}

// nameProblems checks the values of every variant, as stacks of every name, against the
// published resource schemas and botocore's models (testdata/check_names.py).
func nameProblems(t *testing.T, py string, vs []variant) []string {
	var items []map[string]any
	for _, v := range vs {
		for _, stack := range stackNames {
			for _, it := range nameValues(v, stack) {
				it["resource"] = v.Name + " " + stack[:min(len(stack), 20)] + "…: " + it["resource"].(string)
				items = append(items, it)
			}
		}
	}
	out := testtool.PythonScript(t, py, "testdata/check_names.py", items)
	var problems []string
	if err := json.Unmarshal(out, &problems); err != nil {
		t.Fatalf("check_names.py: %v\n%s", err, out)
	}
	t.Logf("%d values of %d variants as stacks named %q checked", len(items), len(vs), stackNames)
	return problems
}

// Every name the stack gives its resources holds for any stack name CloudFormation accepts: the
// upper-case and the 128-character names render within every length, character and case rule.
// A copy that names the target group after the stack again breaks it.
func TestInfraNamesHoldForAnyStackName(t *testing.T) {
	t.Parallel()
	py := testtool.Python(t, "cfnlint", "botocore")
	_, vs := renderAll(t)
	for _, p := range nameProblems(t, py, vs) {
		t.Error(p)
	}
	raw, _ := os.ReadFile(templateFile)
	old := "  APIALBTG:\n    Type: AWS::ElasticLoadBalancingV2::TargetGroup\n    Properties:\n"
	if !bytes.Contains(raw, []byte(old)) {
		t.Fatal("infra.yaml's APIALBTG changed: update the broken copy")
	}
	broken := bytes.Replace(raw, []byte(old), []byte(old+"      Name: !Sub '${AWS::StackName}-api'\n"), 1)
	broken = bytes.Replace(broken, []byte("  ECRRepository:\n    Type: AWS::ECR::Repository\n    Properties:\n      RepositoryName: !Sub\n        - 'tsa-gallery/api-${StackId}'"),
		[]byte("  ECRRepository:\n    Type: AWS::ECR::Repository\n    Properties:\n      RepositoryName: !Sub\n        - '${AWS::StackName}/api-${StackId}'"), 1)
	v := renderTemplate(t, broken, "parameters/rolling-codebuild.json", t.TempDir())
	problems := nameProblems(t, py, []variant{v})
	caught := strings.Join(problems, "\n")
	if !strings.Contains(caught, "APIALBTG.Name") || !strings.Contains(caught, "ECRRepository.RepositoryName") {
		t.Errorf("a target group named after the stack and an upper-case repository name pass:\n%s", caught)
	}
}

// TestInfraOnMotoCloudFormation creates every variant in moto's CloudFormation (moto 5.2.1, a
// third-party emulator), limited to the resource types moto implements (testdata/moto_stack.py),
// then plays the first release (UpdateService desiredCount 2) and a stack update. It proves that
// another implementation of these resource types accepts the properties and references as
// written, that a service created from the template starts with no tasks when StartWithoutTasks
// says so and with CloudFormation's default of 1 otherwise, that the update after the first
// release sends no count and keeps the release's 2, that the repository's name is lower case,
// that only the traffic-shifting variants have a NAT gateway, that nothing admits 0.0.0.0/0, and
// that the CodeCommit variants create the push rule. It cannot prove what only AWS does
// (stabilization, the circuit breaker, quotas, the template size limit, IAM evaluation), nor what
// moto's models skip: its TaskDefinition reads no RuntimePlatform and its inline security group
// rules no SourcePrefixListId (both rest on TestInfraSemantics and cfn-lint's schemas), and the
// resources moto lacks (RDS clusters, CloudFront, CodeCommit, CodeBuild, CodePipeline).
func TestInfraOnMotoCloudFormation(t *testing.T) {
	t.Parallel()
	py := testtool.Python(t, "moto", "boto3")
	endpoint := testtool.Moto(t, py)
	_, vs := renderAll(t)
	for i, v := range vs {
		params, _ := json.Marshal(v.Params)
		pf := filepath.Join(t.TempDir(), "params.json")
		os.WriteFile(pf, params, 0o644)
		stack := fmt.Sprintf("TSA-Gallery-%d", i)
		out, err := exec.Command(py, "testdata/moto_stack.py", endpoint, v.Path, stack, pf).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: moto_stack.py: %v\n%s", v.Name, err, out)
		}
		var got struct {
			Status, Reason, Image, UpdateStatus string
			Dropped                             []string
			DesiredCount                        *int `json:"desiredCount"`
			AfterUpdate                         *int `json:"desiredCountAfterUpdate"`
			Repositories                        []string
			NatGateways                         int
			AlbIngress                          []map[string]any
			EventRules                          []map[string]any
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
			t.Fatalf("%s: %v\n%s", v.Name, err, out)
		}
		t.Run(v.Name, func(t *testing.T) {
			if got.Status != "CREATE_COMPLETE" {
				t.Fatalf("moto: %s %s\n%s", got.Status, got.Reason, out)
			}
			// Without a count CloudFormation creates 1 task (its documented default) and moto 0, so
			// only the empty start is compared.
			if v.Params["StartWithoutTasks"] == "true" && (got.DesiredCount == nil || *got.DesiredCount != 0) {
				t.Errorf("the service was created with desired count %s, want 0", ptr(got.DesiredCount))
			}
			if got.UpdateStatus != "UPDATE_COMPLETE" || got.AfterUpdate == nil || *got.AfterUpdate != 2 {
				t.Errorf("after the first release and a stack update: %s, desired count %s, want 2", got.UpdateStatus, ptr(got.AfterUpdate))
			}
			for _, r := range got.Repositories {
				if r != strings.ToLower(r) {
					t.Errorf("repository %s is not lower case", r)
				}
			}
			if nat := v.Params["DeploymentStrategy"] != "ROLLING"; (got.NatGateways > 0) != nat {
				t.Errorf("%d NAT gateways with %s", got.NatGateways, v.Params["DeploymentStrategy"])
			}
			ingress, _ := json.Marshal(got.AlbIngress)
			if strings.Contains(string(ingress), "0.0.0.0/0") {
				t.Errorf("the ALB admits %s", ingress)
			}
			rule, _ := json.Marshal(got.EventRules)
			if codecommit := v.Params["SourceProvider"] != "CodeConnections"; strings.Contains(string(rule), "aws.codecommit") != codecommit {
				t.Errorf("push rules %s with source %s", rule, v.Params["SourceProvider"])
			}
		})
	}
}

func ptr(n *int) string {
	if n == nil {
		return "none"
	}
	return fmt.Sprint(*n)
}
