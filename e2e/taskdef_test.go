package e2e_test

// The release's task-definition revision (issue 22): with IMAGE the binary registers a revision
// pinned to the image's digest, once, from the service's revision or TASK_DEFINITION (a revision
// or a file), and deploys it; bad bases are exit 2 before anything changes.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
)

const demoRepoURI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/" + demo.Repository

// updateServiceSent is what the UpdateService calls named: their taskDefinition, or
// "force" for a forced redeployment.
func updateServiceSent(sim *awsim.Server) []string {
	var out []string
	for _, c := range sim.Calls() {
		if c.Op == "UpdateService" && c.Error == "" {
			if td := c.Params["taskDefinition"]; td != "" {
				out = append(out, td)
			} else if c.Params["forceNewDeployment"] == "true" {
				out = append(out, "force")
			}
		}
	}
	return out
}

func TestTaskDefinitionReleaseRegistersTheDigest(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(awsim.Success, time.Second))
	r := runBin(t, env(sim, "OUTPUT=json"))
	wantOutput(t, r, 0, `"kind":"taskdef"`, `"taskDefinition":"arn:aws:ecs:us-east-1:123456789012:task-definition/api:2"`,
		`"taskDefinitions":{"api":"arn:aws:ecs:us-east-1:123456789012:task-definition/api:2"}`,
		`container api: image `+demoRepoURI+`:latest -\u003e `+demoRepoURI+`@sha256:`)
	if got := updateServiceSent(sim); len(got) != 1 || got[0] != "arn:aws:ecs:us-east-1:123456789012:task-definition/api:2" {
		t.Errorf("UpdateService sent %v; want the new revision, once", got)
	}
	if n := revisions(sim); n != 1 {
		t.Errorf("%d revisions registered, want 1", n)
	}
	wantEffects(t, sim, 1, 1, r)
	// Another release (another build) is another revision.
	next := runBin(t, env(sim, "CODEBUILD_BUILD_ID=tsa-gallery-api:ffffffff-1a2b-4c3d-9e8f-001122334455"))
	wantOutput(t, next, 0, "registered task definition api:3 from api:2 (the service's)", "task def:      api arn:aws:ecs:us-east-1:123456789012:task-definition/api:3")
	if n := revisions(sim); n != 2 {
		t.Errorf("%d revisions after two releases, want 2", n)
	}
}

func TestTaskDefinitionNamedRevisionIsDeployedAsItIs(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(awsim.Success, time.Second))
	r := runBin(t, env(sim, "IMAGE=", "TASK_DEFINITION=api:1"))
	wantOutput(t, r, 0, "started deployment", "summary: succeeded")
	if n := revisions(sim); n != 0 {
		t.Errorf("%d revisions registered without IMAGE, want 0", n)
	}
	if got := updateServiceSent(sim); len(got) != 1 || got[0] != "force" {
		t.Errorf("UpdateService sent %v; the service is on api:1 already, so a forced redeployment", got)
	}
	// Without IMAGE and TASK_DEFINITION: today's forced redeployment, no register step.
	plain := runBin(t, env(sim, "IMAGE="))
	wantOutput(t, plain, 0, "summary: succeeded")
	if strings.Contains(plain.Stdout, "register ") || revisions(sim) != 0 {
		t.Errorf("a release without IMAGE and TASK_DEFINITION registered something:\n%s", plain)
	}
}

// taskDefFile writes a task definition file as `aws ecs register-task-definition
// --cli-input-json` takes it, with the placeholder image.
func taskDefFile(t *testing.T, image string) string {
	t.Helper()
	td := map[string]any{"family": "api", "networkMode": "awsvpc", "requiresCompatibilities": []string{"FARGATE"}, "cpu": "1024", "memory": "2048",
		"executionRoleArn": "arn:aws:iam::123456789012:role/tsa-gallery-task-execution", "taskRoleArn": "arn:aws:iam::123456789012:role/tsa-gallery-task",
		"containerDefinitions": []any{map[string]any{"name": "api", "image": image, "essential": true,
			"portMappings": []any{map[string]any{"containerPort": 3000, "protocol": "tcp"}},
			"environment":  []any{map[string]any{"name": "NODE_ENV", "value": "production"}, map[string]any{"name": "FEATURE_UPLOADS", "value": "on"}}}},
		"tags": []any{map[string]any{"key": "team", "value": "gallery"}}}
	b, _ := json.MarshalIndent(td, "", "  ")
	p := filepath.Join(t.TempDir(), "taskdef.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTaskDefinitionFromAFile(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(awsim.Success, time.Second))
	file := taskDefFile(t, "<IMAGE1_NAME>")
	dry := runBin(t, env(sim, "TASK_DEFINITION="+file), "-dry-run")
	wantOutput(t, dry, 0, "2. task definition: api: registers a revision of api from TASK_DEFINITION "+file+": container api: image <IMAGE1_NAME> -> "+demoRepoURI+"@sha256:",
		"changes containerDefinitions", "changes cpu", "changes memory")
	if n := sim.CountCalls("ECS", "RegisterTaskDefinition"); n != 0 {
		t.Fatalf("the dry run registered %d revisions", n)
	}
	r := runBin(t, env(sim, "TASK_DEFINITION="+file))
	wantOutput(t, r, 0, "registered task definition api:2 from TASK_DEFINITION "+file, "summary: succeeded")
	if n := revisions(sim); n != 1 {
		t.Errorf("%d revisions, want 1", n)
	}

	// Without IMAGE, a placeholder left in the file is exit 2 before anything changes.
	left := runBin(t, env(sim, "IMAGE=", "TASK_DEFINITION="+file))
	wantOutput(t, left, 2, "container api names the image placeholder <IMAGE1_NAME> and IMAGE is not set")
	// A file that is no task definition names the member, before anything changes.
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"family":"api","containerDefinitions":[{"name":"api","image":"<IMAGE1_NAME>","portMapings":[]}]}`), 0o644)
	wrong := runBin(t, env(sim, "TASK_DEFINITION="+bad))
	wantOutput(t, wrong, 2, `is not a task definition: unknown field "portMapings"`)
	if n := revisions(sim); n != 1 {
		t.Errorf("%d revisions after two bad files, want still 1", n)
	}
}

func TestTaskDefinitionImageMatchesNoContainer(t *testing.T) {
	t.Parallel()
	cfg := world(awsim.Success, time.Second)
	cfg.Repositories = append(cfg.Repositories, awsim.RepositorySpec{Name: "tsa/worker", Images: []awsim.ImageSpec{{Tags: []string{"v1"}}}})
	sim := startSim(t, cfg)
	r := runBin(t, env(sim, "IMAGE=123456789012.dkr.ecr.us-east-1.amazonaws.com/tsa/worker:v1"))
	wantOutput(t, r, 2, "IMAGE 123456789012.dkr.ecr.us-east-1.amazonaws.com/tsa/worker:v1 matches no container of api:1 (the service's)",
		"its containers are api ("+demoRepoURI+":latest)")
	if n := sim.CountCalls("ECS", "RegisterTaskDefinition") + sim.CountCalls("ECS", "UpdateService"); n != 0 {
		t.Errorf("%d changes made", n)
	}
}

// Several services: each gets a revision from its own base; services that share a base (a file)
// share one revision.
func TestTaskDefinitionSeveralServices(t *testing.T) {
	t.Parallel()
	cfg := world(awsim.Success, time.Second)
	web := cfg.Clusters[0].Services[0]
	web.Name = "web"
	cfg.Clusters[0].Services = append(cfg.Clusters[0].Services, web)
	sim := startSim(t, cfg)
	r := runBin(t, env(sim, "SERVICE=api,web"))
	wantOutput(t, r, 0, "api: registered task definition api:2 from api:1", "web: registered task definition web:2 from web:1", "summary: succeeded")
	if e := sim.Effects(); e.Registrations["api"] != 1 || e.Registrations["web"] != 1 {
		t.Errorf("registrations %v, want one a family", e.Registrations)
	}
	shared := runBin(t, env(sim, "SERVICE=api,web", "TASK_DEFINITION="+taskDefFile(t, "<IMAGE1_NAME>"), "CODEBUILD_BUILD_ID=tsa-gallery-api:5e6f7a8b-0000-4000-8000-0000000000aa"))
	wantOutput(t, shared, 0, "api,web: registered task definition api:3 from TASK_DEFINITION ")
	if n := sim.Effects().Registrations["api"]; n != 2 {
		t.Errorf("%d revisions of api, want 2 (one shared by both services)", n)
	}
	got := updateServiceSent(sim)
	if len(got) != 4 || got[2] != got[3] || !strings.HasSuffix(got[2], "task-definition/api:3") {
		t.Errorf("UpdateService sent %v; the second release puts both services on api:3", got)
	}
}
