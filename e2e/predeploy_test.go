package e2e_test

// The pre-deploy task (issue 23): PREDEPLOY_COMMAND runs once in one task of the release's
// revision before any service moves, gated on its exit code, its log lines in the output;
// failures, capacity and pull errors, PREDEPLOY_TIMEOUT and a bad container end the run before
// any service changes, and a re-run adopts the task instead of running a second migration.

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
)

const migrate = "PREDEPLOY_COMMAND=" + demo.Migration

// runTasks counts the standalone tasks started in the demo family.
func runTasks(sim *awsim.Server) int { return sim.Effects().RunTasks[demo.Service] }

// firstCall is the time of op's first answered call (zero when none).
func firstCall(sim *awsim.Server, op string) (awsim.Call, bool) {
	for _, c := range sim.Calls() {
		if c.Op == op && c.Error == "" {
			return c, true
		}
	}
	return awsim.Call{}, false
}

func migrationWorld(kind string, runs awsim.RunTaskSpec) awsim.Config {
	cfg := world(kind, time.Second)
	if runs.Runtime == 0 {
		runs.Runtime = awsim.Duration(time.Second)
	}
	cfg.RunTasks = runs
	return cfg
}

func TestPredeployMigrationRunsBeforeTheServicesMove(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(demo.Migrate, 2*time.Second))
	build := "CODEBUILD_BUILD_ID=tsa-gallery-api:7d1e0c2a-5b3f-4e8a-9c61-0123456789ab"
	r := runBin(t, env(sim, migrate, build))
	wantOutput(t, r, 0, "started pre-deploy task ", " of api:2: npm run migrate in container api",
		"| > knex migrate:latest", "| Batch 7 run: 2 migrations", "| 20261201094500_index_photos_by_album.js",
		"succeeded: container api exited 0 after ", "the services move now", "pre-deploy:    task ", "summary: succeeded")
	if n := runTasks(sim); n != 1 {
		t.Fatalf("%d pre-deploy tasks started, want 1\n%s", n, r)
	}
	run, _ := firstCall(sim, "RunTask")
	update, ok := firstCall(sim, "UpdateService")
	if !ok || !update.Time.After(run.Time) {
		t.Errorf("UpdateService at %v, RunTask at %v: the services must move after the task", update.Time, run.Time)
	}
	// The task is the release's revision, the command in the container of IMAGE, on the service's network.
	want := map[string]string{"taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/api:2", "container": "api",
		"command": `["sh","-c","npm run migrate"]`, "subnets": strings.Join(awsim.Subnets, ","), "securityGroups": awsim.SecurityGroup,
		"assignPublicIp": "DISABLED", "launchType": "FARGATE", "platformVersion": "LATEST"}
	for k, v := range want {
		if run.Params[k] != v {
			t.Errorf("RunTask %s = %q, want %q", k, run.Params[k], v)
		}
	}
	if !regexp.MustCompile(`^deploystep/[0-9a-f]{24}$`).MatchString(run.Params["startedBy"]) || len(run.Params["clientToken"]) > 64 || run.Params["clientToken"] == "" {
		t.Errorf("startedBy %q, clientToken %q", run.Params["startedBy"], run.Params["clientToken"])
	}
	// The migration finished before the task was judged: every line arrived, in order, once.
	if strings.Count(r.Stdout, "| Batch 7 run: 2 migrations") != 1 || strings.Index(r.Stdout, "| > tsa-gallery-api@1.4.0 migrate") > strings.Index(r.Stdout, "| Batch 7") {
		t.Errorf("log lines out of order or repeated\n%s", r)
	}
	// The same release again: the task is adopted, not run again.
	again := runBin(t, env(sim, migrate, build))
	wantOutput(t, again, 0, "resuming: pre-deploy task ", "was started by an earlier run of this release", "succeeded: container api exited 0")
	if n := runTasks(sim); n != 1 {
		t.Errorf("%d pre-deploy tasks after a re-run of the release, want 1\n%s", n, again)
	}
}

func TestPredeployMigrationFailsStopsTheRelease(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(demo.MigrateFails, 2*time.Second))
	r := runBin(t, env(sim, migrate))
	wantOutput(t, r, 1, "ERROR pre-deploy task ", "failed: container api exited 1 (EssentialContainerExited: Essential container in task exited); no service was changed",
		"its last 5 log lines (log group /ecs/tsa-gallery/APITask, stream ecs/api/",
		"ER_DUP_FIELDNAME: Duplicate column name 'caption'", "summary: failed")
	if sim.CountCalls("ECS", "UpdateService") != 0 {
		t.Errorf("a service was updated after a failed migration\n%s", r)
	}
	wantEffects(t, sim, 0, 0, r)
}

// The task never starts, or RunTask has no capacity: exit 1 with ECS's reason.
func TestPredeployTaskThatCannotRun(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		runs awsim.RunTaskSpec
		want string
	}{
		{"capacity", awsim.RunTaskSpec{Failure: "Capacity is unavailable at this time. Please try again later or in a different availability zone"},
			"pre-deploy task: RunTask started no task: Capacity is unavailable at this time. Please try again later or in a different availability zone for api:2; nothing else was changed"},
		{"pull", awsim.RunTaskSpec{NotStarted: "CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref"},
			"failed: it never ran (TaskFailedToStart: CannotPullContainerError: pull image manifest has been retried 7 time(s)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, migrationWorld(awsim.Success, c.runs))
			r := runBin(t, env(sim, migrate))
			wantOutput(t, r, 1, c.want)
			if sim.CountCalls("ECS", "UpdateService") != 0 {
				t.Errorf("a service was updated\n%s", r)
			}
		})
	}
}

func TestPredeployTimeoutStopsTheTask(t *testing.T) {
	t.Parallel()
	sim := startSim(t, migrationWorld(awsim.Success, awsim.RunTaskSpec{Never: true, Logs: []string{"waiting for the schema lock"}}))
	r := runBin(t, env(sim, migrate, "PREDEPLOY_TIMEOUT=3s"))
	wantOutput(t, r, 3, "still running after 3s (PREDEPLOY_TIMEOUT): stopped it (StopTask); no service was changed",
		"stopped pre-deploy task ", "(StopTask: deploystep: PREDEPLOY_TIMEOUT)")
	if n := len(sim.Effects().TaskStops); n != 1 || sim.CountCalls("ECS", "StopTask") != 1 {
		t.Errorf("%d tasks stopped with %d StopTask calls, want 1 and 1\n%s", n, sim.CountCalls("ECS", "StopTask"), r)
	}
	if r.Took() > 15*time.Second {
		t.Errorf("took %v with PREDEPLOY_TIMEOUT=3s", r.Took())
	}
	wantEffects(t, sim, 0, 0, r)
}

// A container that is not there is exit 2 before anything changes: no revision, no task.
func TestPredeployBadContainerChangesNothing(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(demo.Migrate, time.Second))
	r := runBin(t, env(sim, migrate, "PREDEPLOY_CONTAINER=migrator"))
	wantOutput(t, r, 2, `PREDEPLOY_CONTAINER "migrator" is not a container of the revision registered from api:1 (the service's): its containers are api (`+demoRepoURI+"@sha256:")
	if revisions(sim) != 0 || runTasks(sim) != 0 {
		t.Errorf("revisions %d, tasks %d after a bad container; want 0 and 0\n%s", revisions(sim), runTasks(sim), r)
	}
	bad := runBin(t, env(sim, `PREDEPLOY_COMMAND=["npm", run]`))
	wantOutput(t, bad, 2, "PREDEPLOY_COMMAND: starts with [ but is not a JSON array of strings")
	other := runBin(t, env(sim, migrate, "PREDEPLOY_SERVICE=web"))
	wantOutput(t, other, 2, `PREDEPLOY_SERVICE "web" is not one of SERVICE (api)`)
}

// A JSON array is the command as it is; log lines are data, printed escaped and marked, also in JSON.
func TestPredeployJSONCommandAndLogLinesAsData(t *testing.T) {
	t.Parallel()
	sim := startSim(t, migrationWorld(awsim.Success, awsim.RunTaskSpec{Logs: []string{
		"\x1b[31mERROR\x1b[0m not really", "[   9.9s] done       release finished: a forged line", "ok"}}))
	r := runBin(t, env(sim, `PREDEPLOY_COMMAND=["npm","run","migrate","--","--verbose"]`))
	wantOutput(t, r, 0, `| \x1b[31mERROR\x1b[0m not really`, "| [   9.9s] done       release finished: a forged line")
	if run, _ := firstCall(sim, "RunTask"); run.Params["command"] != `["npm","run","migrate","--","--verbose"]` {
		t.Errorf("RunTask command %s", run.Params["command"])
	}
	if strings.Contains(r.Stdout, "\x1b") {
		t.Errorf("an escape sequence reached the output\n%s", r)
	}
	for _, line := range strings.Split(r.Stdout, "\n") {
		if strings.Contains(line, "forged line") && !strings.Contains(line, "predeploy  task ") {
			t.Errorf("a log line is not marked as the task's: %q", line)
		}
	}
	js := runBin(t, env(sim, `PREDEPLOY_COMMAND=["npm","run","migrate"]`, "OUTPUT=json", "CODEBUILD_BUILD_ID=tsa-gallery-api:json"))
	wantOutput(t, js, 0)
	seen := 0
	for _, line := range strings.Split(js.Stdout, "\n") {
		var ev struct{ Kind, Task, Message string }
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Kind == "tasklog" {
			seen++
			if len(ev.Task) != 32 {
				t.Errorf("tasklog event without its task: %s", line)
			}
		}
	}
	if seen != 3 {
		t.Errorf("%d tasklog events, want 3\n%s", seen, js)
	}
}

func TestPredeployDryRunStartsNothing(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(demo.Migrate, time.Second))
	r := runBin(t, env(sim, migrate), "-dry-run")
	wantOutput(t, r, 0, "[ok  ] pre-deploy task: PREDEPLOY_COMMAND runs in container api (api's revision)",
		`3. pre-deploy task: one task of <the revision step 2 registers> (api's) runs ["sh","-c","npm run migrate"] in container api; FARGATE, platform LATEST; subnets `+strings.Join(awsim.Subnets, " ")+", security groups "+awsim.SecurityGroup+", public IP DISABLED; startedBy deploystep/",
		"the services move only when it exits 0 (at most 15m0s)", "4. deploy:")
	if runTasks(sim) != 0 || revisions(sim) != 0 {
		t.Errorf("the dry run started %d tasks, registered %d revisions\n%s", runTasks(sim), revisions(sim), r)
	}
	bad := runBin(t, env(sim, migrate, "PREDEPLOY_CONTAINER=migrator"), "-dry-run")
	wantOutput(t, bad, 2, `[FAIL] pre-deploy task: PREDEPLOY_CONTAINER "migrator" is not a container of`)
}

// A service on the CODE_DEPLOY controller: the migration runs before the CodeDeploy deployment
// is created, in a task of the release's revision.
func TestPredeployBeforeCodeDeploy(t *testing.T) {
	t.Parallel()
	cfg := world(demo.CodeDeployBG, 3*time.Second)
	cfg.RunTasks = awsim.RunTaskSpec{Runtime: awsim.Duration(time.Second), Logs: []string{"Batch 8 run: 1 migrations"}}
	sim := startSim(t, cfg)
	r := runBin(t, env(sim, migrate))
	wantOutput(t, r, 0, "| Batch 8 run: 1 migrations", "succeeded: container api exited 0", "created CodeDeploy deployment d-", "summary: succeeded")
	run, _ := firstCall(sim, "RunTask")
	create, ok := firstCall(sim, "CreateDeployment")
	if !ok || !create.Time.After(run.Time) || run.Params["taskDefinition"] != "arn:aws:ecs:us-east-1:123456789012:task-definition/api:2" {
		t.Errorf("RunTask %v of %s, CreateDeployment %v: the migration must run the release's revision first", run.Time, run.Params["taskDefinition"], create.Time)
	}
	if n := runTasks(sim); n != 1 {
		t.Errorf("%d pre-deploy tasks, want 1", n)
	}
}
