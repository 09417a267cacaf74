package e2e_test

import (
	"strings"
	"testing"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
)

// The looks before the first RegisterTaskDefinition and the first RunTask (a re-run's find)
// go through the retry rule: 5xx on 90 % of the reads they make outlive the SDK's own retries
// now and then, and the release must still end with one revision and one migration task (the
// 20-seed fault matrix found a release that failed there).
func TestLooksBeforeTheFirstSendAreRetried(t *testing.T) {
	t.Parallel()
	cfg := world(demo.Migrate, time.Second)
	cfg.Seed = 23
	bad := awsim.Fault{ServerError: 0.9}
	cfg.Faults = map[string]awsim.Fault{"ECS.ListTaskDefinitions": bad, "ECS.ListTasks": bad}
	sim := startSim(t, cfg)
	r := runBin(t, env(sim, migrate, "SKIP_INVALIDATION=true", "CODEBUILD_BUILD_ID=tsa-gallery-api:9c0ffee0-5b3f-4e8a-9c61-0123456789ab"))
	wantOutput(t, r, 0, "registered task definition api:2", "succeeded: container api exited 0", "summary: succeeded")
	if revisions(sim) != 1 || runTasks(sim) != 1 {
		t.Errorf("revisions %d, migration tasks %d; want 1 and 1\n%s", revisions(sim), runTasks(sim), r)
	}
	if !strings.Contains(r.Stdout, "looking for this release's revision: ") && !strings.Contains(r.Stdout, "looking for this release's pre-deploy task: ") {
		t.Errorf("no look outlived the SDK's retries with this seed: the retry rule was not exercised\n%s", r)
	}
	failed := 0
	for _, c := range sim.Calls() {
		if (c.Op == "ListTaskDefinitions" || c.Op == "ListTasks") && c.Error != "" {
			failed++
		}
	}
	if failed < 8 {
		t.Errorf("only %d of the looks failed: the faults did not reach past the SDK's retries", failed)
	}
}
