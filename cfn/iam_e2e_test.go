package cfn_test

// Releases under the policies the stack ships (#32): the built binary runs every kind of release
// against awsim shaped like the stack (its cluster, service, task family, container, roles, log
// group, repository and distribution as the rendered template names them), as the role of the
// deploy path, which carries exactly that role's policies as the variant renders them; awsim
// authorizes every call as IAM does (awsim/iam.go). Every statement of DeployStepPolicy must be
// used by some release, and removing it must make that release fail with the refusal named.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
	"github.com/deploystep/deploystep/internal/testtool"
)

const (
	stackRepo  = "tsa-gallery/api-0f1e2d3c"
	stackImage = "123456789012.dkr.ecr.us-east-1.amazonaws.com/" + stackRepo + ":" + demo.Tag
)

// stackWorld is awsim shaped like the stack tsa-gallery for a scenario kind.
func stackWorld(kind string) awsim.Config {
	cfg := demo.Config(kind, 1500*time.Millisecond, 500*time.Millisecond)
	cfg.Repositories[0].Name = stackRepo
	svc := &cfg.Clusters[0].Services[0]
	svc.Image = stackRepo + ":" + demo.Tag
	svc.Task = &awsim.TaskSpec{Family: "tsa-galleryAPITask", Container: "tsa-galleryAPIContainer",
		TaskRoleARN: physical["TaskRole.Arn"], ExecutionRoleARN: physical["TaskExecutionRole.Arn"], LogGroup: physical["APILogGroup"]}
	cfg.Distributions[0].ID = deployed["CFDistribution"]
	return cfg
}

// releaseKind is one kind of release the policy must allow.
type releaseKind struct {
	name  string
	world func() awsim.Config
	env   []string
	args  []string
	code  int    // how it ends
	want  string // a line of its output that shows it did what it is for
}

var releaseKinds = []releaseKind{
	{name: "rolling with IMAGE, a pre-deploy task, auto invalidation of a caching behaviour and the edge proof",
		world: func() awsim.Config {
			cfg := stackWorld(demo.APICache)
			cfg.RunTasks = awsim.RunTaskSpec{Runtime: awsim.Duration(500 * time.Millisecond), Logs: []string{"Batch 7 run: 2 migrations"}}
			return cfg
		},
		env: []string{"PREDEPLOY_COMMAND=" + demo.Migration, "VERIFY_URL=edge:/api/photos"}, want: "invalidating /api/photos* (auto)"},
	{name: "the dry run", world: func() awsim.Config { return stackWorld(demo.APICache) },
		env: []string{"PREDEPLOY_COMMAND=" + demo.Migration}, args: []string{"-dry-run"}, want: "cluster tsa-gallery: ACTIVE"},
	{name: "BLUE_GREEN with a PAUSE hook answered", world: func() awsim.Config { return stackWorld(awsim.Paused) },
		env: []string{"HOOK_COMMAND=true"}, want: "ContinueServiceDeployment"},
	{name: "ROLLBACK=on-failure", world: func() awsim.Config { return stackWorld(awsim.CrashLoop) },
		env: []string{"ROLLBACK=on-failure", "FAILED_TASKS_THRESHOLD=3"}, code: 1, want: "StopServiceDeployment"},
	{name: "CODE_DEPLOY", world: func() awsim.Config { return stackWorld(demo.CodeDeployBG) }, want: "CodeDeploy deployment d-"},
}

// roleSet is the role a variant's deploystep runs as, with its policies as rendered.
type roleSet struct {
	role     string // CodeBuildRole or DeployFunctionRole
	policies []json.RawMessage
	variants []string
}

// deployRoles groups the variants by the role deploystep runs as and that role's policies.
func deployRoles(t *testing.T) []*roleSet {
	t.Helper()
	_, vs := renderAll(t)
	byKey := map[string]*roleSet{}
	var out []*roleSet
	for _, v := range vs {
		attached := get(resources(v), "DeployStepPolicy", "Properties", "Roles").([]any)
		if len(attached) != 1 {
			t.Fatalf("%s: DeployStepPolicy is attached to %v", v.Name, attached)
		}
		role := attached[0].(map[string]any)["Ref"].(string)
		var policies []json.RawMessage
		for _, d := range policyDocs(t, v) {
			if d.Where == "DeployStepPolicy.PolicyDocument" || strings.HasPrefix(d.Where, role+".Policies[") {
				b, _ := json.Marshal(d.Doc)
				policies = append(policies, b)
			}
		}
		key := role + fmt.Sprint(policies)
		if byKey[key] == nil {
			byKey[key] = &roleSet{role: role, policies: policies}
			out = append(out, byKey[key])
		}
		byKey[key].variants = append(byKey[key].variants, v.Name)
	}
	return out
}

// runKind runs one release of kind k with policies as the caller's, and returns its result and
// the simulator.
func runKind(t *testing.T, k releaseKind, policies []json.RawMessage) (testtool.Result, *awsim.Server) {
	t.Helper()
	cfg := k.world()
	cfg.Policies = policies
	sim := testtool.Sim(t, cfg)
	env := append(sim.Env(), "PATH=/usr/bin:/bin", "HOME="+t.TempDir(), "POLL_INTERVAL=250ms", "CLUSTER="+deployed["APICluster"],
		"SERVICE="+deployed["APIService.Name"], "DISTRIBUTIONID="+deployed["CFDistribution"], "IMAGE="+stackImage, "DEPLOY_TIMEOUT=2m")
	for _, e := range k.env {
		env = append(env, strings.Replace(e, "edge:", sim.EdgeURL(deployed["CFDistribution"]), 1))
	}
	return testtool.RunBinary(env, k.args...), sim
}

func TestReleasesUnderTheShippedPolicies(t *testing.T) {
	t.Parallel()
	sets := deployRoles(t)
	if len(sets) < 2 {
		t.Fatalf("%d role sets over the variants; want the build's and the function's at least", len(sets))
	}
	type use struct {
		set  *roleSet
		kind releaseKind
	}
	used := map[string]use{} // statement → a release that used it
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, set := range sets {
		for _, k := range releaseKinds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, sim := runKind(t, k, set.policies)
				if r.Code != k.code || !strings.Contains(r.Output, k.want) {
					t.Errorf("%s (%s): exit %d (want %d), output lacks %q\n%s", k.name, strings.Join(set.variants, ","), r.Code, k.code, k.want, r)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for _, c := range sim.Calls() {
					if c.DeniedAction != "" {
						t.Errorf("%s (%s): %s %s refused: %s on %s", k.name, set.role, c.Service, c.Op, c.DeniedAction, c.DeniedResource)
					}
					for _, sid := range c.AllowedBy {
						if _, ok := used[sid]; !ok {
							used[sid] = use{set, k}
						}
					}
				}
			}()
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// Each DeployStepPolicy statement removed in turn: the release that used it must now fail
	// with the refusal of one of the statement's actions.
	var dsp map[string]any
	for _, p := range sets[0].policies {
		if strings.Contains(string(p), `"Sid":"Service"`) {
			json.Unmarshal(p, &dsp) //nolint:errcheck // made by json.Marshal
		}
	}
	if dsp == nil {
		t.Fatal("no DeployStepPolicy among the role's policies")
	}
	sts := statements(dsp)
	for i, st := range sts {
		sid, _ := st["Sid"].(string)
		u, ok := used[sid]
		if !ok {
			t.Errorf("DeployStepPolicy statement %s allowed no call of any release on any deploy path: it is not needed, or a release kind is missing", sid)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rest, _ := json.Marshal(map[string]any{"Version": dsp["Version"], "Statement": slices.Delete(toAny(sts), i, i+1)})
			var policies []json.RawMessage
			for _, p := range u.set.policies {
				if strings.Contains(string(p), `"Sid":"Service"`) {
					p = rest
				}
				policies = append(policies, p)
			}
			r, _ := runKind(t, u.kind, policies)
			actions := listOf(st["Action"])
			named := slices.ContainsFunc(actions, func(a string) bool { return strings.Contains(r.Output, "may not "+a+" on ") })
			if r.Code != 2 || !strings.Contains(r.Output, "access denied") || !named {
				t.Errorf("without statement %s (%v), %q as %s: exit %d, want 2 naming one of its actions refused\n%s", sid, actions, u.kind.name, u.set.role, r.Code, r)
			}
		}()
	}
	wg.Wait()
	var names []string
	for s, u := range used {
		names = append(names, s+" ("+u.set.role+": "+u.kind.name+")")
	}
	sort.Strings(names)
	t.Logf("%d statements of DeployStepPolicy, each needed: %s", len(sts), strings.Join(names, "; "))
}

func toAny(sts []map[string]any) []any {
	out := make([]any, len(sts))
	for i, s := range sts {
		out[i] = s
	}
	return out
}

// The Lambda path: the function runs under aws-lambda-rie as DeployFunctionRole (its reporting
// policy and DeployStepPolicy), and the Driver plays CodePipeline as CodePipelineRole, whose
// policy must allow lambda:InvokeFunction on the function. A release succeeds end to end; without
// the invoke statement CodePipeline cannot start it.
func TestLambdaPathUnderTheShippedPolicies(t *testing.T) {
	t.Parallel()
	rie := testtool.RIE(t)
	bin := testtool.Binary(t)
	_, vs := renderAll(t)
	var v variant
	for _, x := range vs {
		if x.Name == "rolling-lambda" {
			v = x
		}
	}
	var function, pipeline []json.RawMessage
	var invoke map[string]any
	for _, d := range policyDocs(t, v) {
		b, _ := json.Marshal(d.Doc)
		switch {
		case d.Where == "DeployStepPolicy.PolicyDocument" || strings.HasPrefix(d.Where, "DeployFunctionRole.Policies["):
			function = append(function, b)
		case strings.HasPrefix(d.Where, "CodePipelineRole.Policies["):
			pipeline = append(pipeline, b)
			for _, st := range statements(d.Doc) {
				if slices.Contains(listOf(st["Action"]), "lambda:InvokeFunction") {
					invoke = st
				}
			}
		}
	}
	if invoke == nil {
		t.Fatal("CodePipelineRole allows no lambda:InvokeFunction")
	}
	cfg := stackWorld(awsim.Success)
	cfg.Policies = function
	sim := testtool.Sim(t, cfg)
	r, err := testtool.LaunchRIE(rie, bin, sim, 30)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	pipelineRole := awsim.IdentitySpec{Account: "123456789012", ARN: "arn:aws:iam::123456789012:role/tsa-gallery-CodePipelineRole-3JX0Q2S5B8NM", Policies: pipeline}
	r.Driver.PipelineRole, r.Driver.FunctionARN = pipelineRole, physical["DeployFunction.Arn"]
	params, _ := json.Marshal(map[string]string{"CLUSTER": deployed["APICluster"], "SERVICE": deployed["APIService.Name"],
		"DISTRIBUTIONID": deployed["CFDistribution"], "IMAGE": stackImage, "POLL_INTERVAL": "250ms"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	x, err := r.Driver.Run(ctx, awsim.JobInput{UserParameters: string(params), FunctionName: physical["DeployFunction"]})
	final, ok := x.Final()
	if err != nil || !ok || !final.Success {
		t.Fatalf("the release under the function's policies: %v, %+v\n%s", err, final, r.Logs)
	}
	for _, c := range sim.Calls() {
		if c.DeniedAction != "" {
			t.Errorf("%s %s refused: %s on %s", c.Service, c.Op, c.DeniedAction, c.DeniedResource)
		}
	}
	if sim.CountCalls("CodePipeline", "PutJobSuccessResult") == 0 {
		t.Error("no job result was reported")
	}

	// Without the statement that allows lambda:InvokeFunction, CodePipeline cannot invoke.
	var rest []json.RawMessage
	for _, p := range pipeline {
		var doc map[string]any
		json.Unmarshal(p, &doc) //nolint:errcheck // made by json.Marshal
		var kept []any
		for _, st := range statements(doc) {
			if !slices.Contains(listOf(st["Action"]), "lambda:InvokeFunction") {
				kept = append(kept, st)
			}
		}
		doc["Statement"] = kept
		b, _ := json.Marshal(doc)
		rest = append(rest, b)
	}
	r.Driver.PipelineRole.Policies = rest
	_, err = r.Driver.Run(ctx, awsim.JobInput{UserParameters: string(params), FunctionName: physical["DeployFunction"]})
	if err == nil || !strings.Contains(err.Error(), "is not authorized to perform: lambda:InvokeFunction on resource: "+physical["DeployFunction.Arn"]) {
		t.Errorf("without the invoke statement: %v", err)
	}
}

// The ListTasks statement as infra.yaml had it before #32, on the cluster's container instances:
// the Service Authorization Reference's format, but a ListTasks by service names no container
// instance, so IAM authorizes it on "*" (the reading AWS's CDK and the ECS guide's users found;
// awsim/iam_actions.go): the release is refused. The static check cannot see this; this can.
func TestListTasksOnContainerInstancesIsRefused(t *testing.T) {
	t.Parallel()
	sets := deployRoles(t)
	var policies []json.RawMessage
	for _, p := range sets[0].policies {
		if strings.Contains(string(p), `"Sid":"ListTasksOfTheCluster"`) {
			var doc map[string]any
			json.Unmarshal(p, &doc) //nolint:errcheck // made by json.Marshal
			for _, st := range statements(doc) {
				if st["Sid"] == "ListTasksOfTheCluster" {
					st["Resource"] = "arn:aws:ecs:us-east-1:123456789012:container-instance/tsa-gallery/*"
				}
			}
			p, _ = json.Marshal(doc)
		}
		policies = append(policies, p)
	}
	r, _ := runKind(t, releaseKinds[0], policies)
	if r.Code != 2 || !strings.Contains(r.Output, "may not ecs:ListTasks on *") {
		t.Errorf("ListTasks granted on the container instances only: exit %d, want 2 naming ecs:ListTasks on *\n%s", r.Code, r)
	}
}
