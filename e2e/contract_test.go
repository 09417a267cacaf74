package e2e_test

// The defects found by holding deploystep to AWS's documented contract (issue 10): each test
// fails on the code before the fix.

import (
	"strings"
	"testing"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
)

const build = "tsa-gallery-build:0b5f3c52-1a2b-4c3d-9e8f-001122334455"

// Two deploy steps in one CodeBuild build are two releases: each its own deployment and its own
// invalidation. The same step again is the same release and resumes; the same service with a
// new IMAGE is a new release, not an adoption of the old deployment.
func TestE2ETwoStepsInOneBuildAreTwoReleases(t *testing.T) {
	t.Parallel()
	cfg := world(awsim.Success, 500*time.Millisecond)
	web := cfg.Clusters[0].Services[0]
	web.Name = "web"
	cfg.Clusters[0].Services = append(cfg.Clusters[0].Services, web)
	sim := startSim(t, cfg)
	inBuild := func(extra ...string) []string {
		return env(sim, append([]string{"CODEBUILD_BUILD_ID=" + build}, extra...)...)
	}

	api := runBin(t, inBuild("SERVICE=api"))
	wantOutput(t, api, 0, "summary: succeeded")
	second := runBin(t, inBuild("SERVICE=web"))
	// The distribution's one behaviour goes to api's load balancer, not web's: the web release
	// has nothing of its own at the edge to invalidate (INVALIDATION_PATHS=auto).
	wantOutput(t, second, 0, "web: started deployment", "no invalidation (auto): nothing the release serves can be cached: "+
		"the default behaviour (*) goes to another load balancer, api-alb-", "summary: succeeded")
	again := runBin(t, inBuild("SERVICE=api"))
	wantOutput(t, again, 0, "resuming: deployment")
	// The same image by digest is another IMAGE value: another release.
	_, after, _ := strings.Cut(api.Stdout, demoImage+" is ")
	digest, _, _ := strings.Cut(after, "\n")
	newImage := runBin(t, inBuild("SERVICE=api", "IMAGE=123456789012.dkr.ecr.us-east-1.amazonaws.com/tsa/gallery@"+digest))
	wantOutput(t, newImage, 0, "api: started deployment")
	if strings.Contains(newImage.Stdout, "resuming") {
		t.Errorf("a new IMAGE adopted the old deployment\n%s", newImage)
	}

	e := sim.Effects()
	if e.Deployments["tsa-gallery/api"] != 2 || e.Deployments["tsa-gallery/web"] != 1 {
		t.Errorf("deployments = %v, want api 2, web 1", e.Deployments)
	}
	if got := e.Invalidations[demo.Distribution]; got != 2 {
		t.Errorf("invalidations = %d, want 2 (api, api with the new image; the re-run reuses api's, web's release needs none)", got)
	}
}

// Tasks that report no digest (older EC2 agents, emulators): with IMAGE the follow phase ends
// within a few polls after COMPLETED, failing by default and passing with DIGEST_CHECK=warn.
func TestE2ENoDigest(t *testing.T) {
	t.Parallel()
	cfg := world(awsim.Success, time.Second)
	cfg.Clusters[0].Services[0].NoDigest = true
	for _, c := range []struct {
		check string
		code  int
		want  []string
	}{
		{"", 1, []string{"only 0 of 2 running tasks report an image digest after 3 reads", "set DIGEST_CHECK=warn", "summary: failed"}},
		{"warn", 0, []string{"DIGEST_CHECK=warn accepts it", "(image digest not confirmed)", "summary: succeeded"}},
	} {
		t.Run("DIGEST_CHECK="+c.check, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, cfg)
			r := runBin(t, env(sim, "DIGEST_CHECK="+c.check, "DEPLOY_TIMEOUT=2m"))
			wantOutput(t, r, c.code, c.want...)
			if r.Took() > 20*time.Second {
				t.Errorf("took %v; it must not wait for digests that cannot come", r.Took())
			}
		})
	}
}

// 150 tasks: ListTasks pages with nextToken and DescribeTasks takes 100 at a time; every task's
// digest is read, so the release succeeds only when all pages were.
func TestE2EManyTasksArePaged(t *testing.T) {
	t.Parallel()
	cfg := world(awsim.Success, time.Second)
	cfg.Clusters[0].Services[0].DesiredCount = 150
	sim := startSim(t, cfg)
	r := runBin(t, env(sim))
	wantOutput(t, r, 0, "completed: 150 of 150 tasks running", "summary: succeeded")
	pages := 0
	for _, c := range sim.Calls() {
		if c.Op == "ListTasks" && c.Params["nextToken"] != "" {
			pages++
		}
		if c.Op == "ListTasks" && c.Params["startedBy"] != "" && (c.Params["serviceName"] != "" || c.Params["desiredStatus"] != "") {
			t.Errorf("ListTasks combined startedBy with another filter: %v", c.Params)
		}
	}
	if pages == 0 {
		t.Errorf("no ListTasks call followed a nextToken\n%s", r)
	}
}

// A final error in the task reads (access denied) ends the run at once with its class, instead
// of a warning every poll until the timeout.
func TestE2EDeniedTaskReadEndsTheRun(t *testing.T) {
	t.Parallel()
	cfg := world(awsim.Success, time.Second)
	cfg.Faults = map[string]awsim.Fault{"ECS.ListTasks": {Deny: 1}}
	sim := startSim(t, cfg)
	r := runBin(t, env(sim, "DEPLOY_TIMEOUT=1m"))
	wantOutput(t, r, 2, "ListTasks: access denied", "not authorized to perform: ecs:ListTasks", "summary: configuration error")
	if r.Took() > 20*time.Second {
		t.Errorf("took %v; a final error must end the run at once", r.Took())
	}
}

// An UpdateService whose answer was lost is sent again only after a successful read, taken
// after the unknown-outcome window, shows it did not land. Here it did land, and every read
// after it fails: the old code sent it again after the window (a second deployment).
func TestE2EUnknownOutcomeIsNotResentWithoutARead(t *testing.T) {
	t.Parallel()
	cfg := world(awsim.Success, time.Second)
	cfg.Faults = map[string]awsim.Fault{
		"ECS.UpdateService":    {ResetAfter: 1},
		"ECS.DescribeServices": {ServerError: 1, SkipFirst: 1}, // the check before UpdateService passes
	}
	sim := startSim(t, cfg)
	r := runBin(t, env(sim, "CODEBUILD_BUILD_ID="+build), "-timeout", "30s")
	wantOutput(t, r, 3, "timed out after 30s during deploy")
	wantEffects(t, sim, 1, 0, r)
	if n := len(callsOf(sim, "UpdateService")); n != 1 {
		t.Errorf("UpdateService sent %d times, want 1\n%s", n, r)
	}
}

// A timeout says what it was waiting for; a setting of the other mode is named, not ignored.
func TestE2ETimeoutSaysWhatItWaitedFor(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(awsim.NeverFinish, time.Second))
	r := runBin(t, env(sim, "ACTION_TIMEOUT=2h"), "-timeout", "3s")
	wantOutput(t, r, 3, "timed out after 3s during follow", "waiting for: 0 of 2 new tasks running, 2 pending",
		"ACTION_TIMEOUT applies to the CodePipeline action (Lambda mode) only")
}

// Distribution ids are checked only as far as AWS defines them: an ARN, or an id of another
// shape (an emulator's), is accepted; CloudFront is the judge of whether it exists.
func TestE2EDistributionARNAndOtherIDs(t *testing.T) {
	t.Parallel()
	cfg := world(awsim.Success, 500*time.Millisecond)
	cfg.Distributions[0].ID = "Z1OJ3BQW9X2KRN"
	sim := startSim(t, cfg)
	r := runBin(t, env(sim, "DISTRIBUTIONID=arn:aws:cloudfront::123456789012:distribution/Z1OJ3BQW9X2KRN"))
	wantOutput(t, r, 0, "Z1OJ3BQW9X2KRN: invalidation", "summary: succeeded")
}

func callsOf(sim *awsim.Server, op string) []awsim.Call {
	var out []awsim.Call
	for _, c := range sim.Calls() {
		if c.Op == op {
			out = append(out, c)
		}
	}
	return out
}
