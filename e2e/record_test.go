package e2e_test

// The release record (SUMMARY_FILE, #26): checked for what it says, not for being there. Its
// Mermaid gantt is read by mermaid itself (e2e/testdata/mermaid, installed by make tools): the
// chart parses as a gantt and its tasks start and end where the release's phases and stages did.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
	"github.com/deploystep/deploystep/internal/testtool"
)

// ganttTask is a task of the chart as mermaid reads it.
type ganttTask struct {
	Section, Name string
	Start, End    int64
	Milestone     bool
	Crit          bool
}

// mermaidGantt reads the record's chart with mermaid.
func mermaidGantt(t *testing.T, path string) []ganttTask {
	t.Helper()
	node := testtool.Find(t, "node", "apt-get install -y nodejs")
	if _, err := os.Stat("testdata/mermaid/node_modules/mermaid"); err != nil {
		testtool.Missing(t, "mermaid (e2e/testdata/mermaid/node_modules)", "make tools")
	}
	out, err := exec.Command(node, "testdata/mermaid/parse.mjs", path).Output()
	if err != nil {
		t.Fatalf("mermaid: %v\n%s", err, out)
	}
	var got struct {
		Type, Error string
		Tasks       []ganttTask
	}
	if err := json.Unmarshal(out, &got); err != nil || got.Error != "" || got.Type != "gantt" {
		t.Fatalf("mermaid read %s (%v)", out, err)
	}
	for i := range got.Tasks {
		got.Tasks[i].Name = strings.TrimSpace(got.Tasks[i].Name)
	}
	return got.Tasks
}

// record runs a release with SUMMARY_FILE in a fresh directory and returns the run and the record.
func record(t *testing.T, sim *awsim.Server, extra ...string) (result, string, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "release.md")
	r := runBin(t, env(sim, append([]string{"SUMMARY_FILE=" + path}, extra...)...))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no record: %v\n%s", err, r)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) > 0 {
		t.Errorf("temporary files left beside the record: %v", left)
	}
	return r, path, string(b)
}

func wantRecord(t *testing.T, rec string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(rec, p) {
			t.Errorf("the record lacks %q\n%s", p, rec)
		}
	}
}

// A blue/green release into the workload account, with a migration and the edge proof.
func TestRecordOfARelease(t *testing.T) {
	t.Parallel()
	cfg := world(demo.Migrate, 4*time.Second)
	cfg.Clusters[0].Services[0].Scenario.Kind = awsim.BlueGreen
	sim := startSim(t, cfg)
	began := time.Now()
	r, path, rec := record(t, sim, "AWS_ACCESS_KEY_ID="+demo.ToolingKey, "ROLE_ARN="+demo.DeployRole, "CODEBUILD_BUILD_ID="+codeBuildID,
		"PREDEPLOY_COMMAND=./migrate", "VERIFY_URL="+edgeURLs(sim, "/api/health"))
	wantOutput(t, r, 0, "summary: succeeded", "release record written to "+path)
	digest := regexp.MustCompile(`image digest:  (sha256:[0-9a-f]{64})`).FindStringSubmatch(r.Stdout)
	deployment := regexp.MustCompile(`api: started deployment (ecs-svc/\d+)`).FindStringSubmatch(r.Stdout)
	invalidation := regexp.MustCompile(`invalidation (I[0-9A-Z]+) of`).FindStringSubmatch(r.Stdout)
	task := regexp.MustCompile(`pre-deploy task ([0-9a-f]{32}) succeeded`).FindStringSubmatch(r.Stdout)
	if digest == nil || deployment == nil || invalidation == nil || task == nil {
		t.Fatalf("the run did not say its digest, deployment, invalidation and task\n%s", r)
	}
	wantRecord(t, rec,
		"# deploystep release: succeeded", "**succeeded**, exit code 0",
		"| Identity | `"+sessionOf, "a session of `"+demo.DeployRole+"` assumed by `"+demo.ToolingCaller+"`",
		"| api | `arn:aws:ecs:us-east-1:123456789012:task-definition/api:2` | ["+deployment[1]+"](https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/tsa-gallery/services/api/deployments?region=us-east-1) | `"+digest[1]+"` | done |",
		"| started |", "PRE_PRODUCTION_TRAFFIC_SHIFT · 0% traffic", "BAKE_TIME · 100% traffic", "| **done** |",
		"ran `./migrate`: **container api exited 0**", "/ecs/v2/clusters/tsa-gallery/tasks/"+task[1]+"/configuration?region=us-east-1",
		"#logsV2:log-groups/log-group/$252Fecs$252Ftsa-gallery$252FAPITask/log-events/ecs$252Fapi$252F"+task[1],
		"| `"+demo.Distribution+"` | auto: ", "| `/*` | ["+invalidation[1]+"](https://us-east-1.console.aws.amazon.com/cloudfront/v4/home#/distributions/"+demo.Distribution+"/invalidations/details/"+invalidation[1]+")",
		"/api/health | version `3f2c1ab` |",
		"```mermaid\ngantt\n")
	tasks := mermaidGantt(t, path)
	sections := map[string][]ganttTask{}
	for _, g := range tasks {
		sections[g.Section] = append(sections[g.Section], g)
		if g.Start < began.Add(-time.Second).UnixMilli() || g.End < g.Start || g.End > time.Now().UnixMilli() {
			t.Errorf("task %+v is outside the run (%v to now)", g, began)
		}
	}
	var phases, stages []string
	for _, g := range sections["release"] {
		phases = append(phases, g.Name)
	}
	for _, g := range sections["api"] {
		stages = append(stages, g.Name)
	}
	if strings.Join(phases, ",") != "preflight,image,register,predeploy,deploy,follow,invalidate,wait,verify" {
		t.Errorf("the chart's phases are %v", phases)
	}
	if len(stages) < 3 || stages[0] != "started" || !slices.Contains(stages, "BAKE_TIME · 100% traffic") || !sections["api"][len(stages)-1].Milestone {
		t.Errorf("the chart's api stages are %v", stages)
	}
	if pd := sections["pre-deploy task"]; len(pd) != 1 || pd[0].Name != "./migrate" || pd[0].Crit {
		t.Errorf("the chart's pre-deploy task is %+v", pd)
	}
}

// A release that fails, one whose migration fails, and a configuration error each leave a record
// that says so.
func TestRecordOfFailures(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(awsim.Rollback, 3*time.Second))
	r, path, rec := record(t, sim)
	wantOutput(t, r, 1)
	wantRecord(t, rec, "# deploystep release: failed", "**failed**, exit code 1", "## What went wrong", "ROLLBACK_IN_PROGRESS: ECS deployment circuit breaker", "| **failed** |", "| `/*` | not created |")
	tasks := mermaidGantt(t, path)
	if last := tasks[len(tasks)-1]; !last.Milestone || !last.Crit || last.Name != "failed" {
		t.Errorf("the chart ends with %+v; want a critical 'failed' milestone", last)
	}

	sim = startSim(t, world(demo.MigrateFails, 2*time.Second))
	r, _, rec = record(t, sim, "PREDEPLOY_COMMAND=./migrate")
	wantOutput(t, r, 1)
	wantRecord(t, rec, "# deploystep release: failed", "**container api exited 1 (EssentialContainerExited", "no service was changed", "|  |  | not started |")
	wantEffects(t, sim, 0, 0, r)

	r, _, rec = record(t, sim, "CLUSTER=", "OUTPUT=json")
	wantOutput(t, r, 2)
	wantRecord(t, rec, "# deploystep release: configuration error", "exit code 2", "missing CLUSTER")
	// The result stays the last event: a consumer reading the last JSON line gets the summary.
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	var last struct{ Kind string }
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last.Kind != "result" || !strings.Contains(r.Stdout, `"kind":"record"`) {
		t.Errorf("the last event is %q (%v); want the result, after the record's\n%s", last.Kind, err, r.Stdout)
	}
}
