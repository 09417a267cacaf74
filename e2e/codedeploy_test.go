package e2e_test

// Services on the CODE_DEPLOY controller: the release is a CodeDeploy blue/green deployment,
// created once and followed to its end, in the command and Lambda modes.

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
)

func codeDeployEffects(sim *awsim.Server) (created, stops int) {
	e := sim.Effects()
	k := demo.CodeDeployApp + "/" + demo.CodeDeployGroup
	return e.CodeDeployments[k], e.CodeDeployStops[k]
}

func TestCodeDeploySucceeds(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(demo.CodeDeployBG, 3*time.Second))
	r := runBin(t, env(sim))
	wantOutput(t, r, 0, "registered task definition api:2 from api:1 (the service's): container api: image ",
		"AppSpec: task definition api:2 (the release's revision), container api:3000; hooks from d-",
		"AfterAllowTestTraffic="+demo.SmokeTestHook,
		"created CodeDeploy deployment d-", "("+demo.CodeDeployApp+"/"+demo.CodeDeployGroup+")",
		"AfterAllowTestTraffic in progress", "succeeded: the replacement task set serves all traffic with the pushed digest", "summary: succeeded")
	if created, _ := codeDeployEffects(sim); created != 1 {
		t.Errorf("%d CodeDeploy deployments, want 1\n%s", created, r)
	}
	if n := sim.CountCalls("ECS", "UpdateService"); n != 0 {
		t.Errorf("UpdateService called %d times on a CODE_DEPLOY service", n)
	}
	wantEffects(t, sim, 0, 1, r)

	// The same release again (same build): it finds its deployment instead of creating another.
	again := runBin(t, env(sim, "CODEBUILD_BUILD_ID=tsa-gallery-api:00000000-0000-4000-8000-00000000c0de"))
	wantOutput(t, again, 0)
	rerun := runBin(t, env(sim, "CODEBUILD_BUILD_ID=tsa-gallery-api:00000000-0000-4000-8000-00000000c0de"))
	wantOutput(t, rerun, 0, "resuming: CodeDeploy deployment d-")
	if created, _ := codeDeployEffects(sim); created != 2 {
		t.Errorf("%d CodeDeploy deployments after a release and its re-run, want 2 (the first run, and one for the build)\n%s", created, rerun)
	}
	wantOutput(t, rerun, 0, "resuming: task definition api:3 was registered by an earlier run of this release")
	if n := sim.Effects().Registrations["api"]; n != 2 {
		t.Errorf("%d revisions registered by two releases and a re-run, want 2\n%s", n, rerun)
	}
}

func TestCodeDeployHookFailsAndRollsBack(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(demo.CodeDeployRollback, 3*time.Second))
	r := runBin(t, env(sim))
	wantOutput(t, r, 1, "failed at AfterAllowTestTraffic ("+demo.SmokeTestHook+": The lifecycle hook "+demo.SmokeTestHook+" returned Failed.)",
		"HOOK_EXECUTION_FAILURE", "CodeDeploy started rollback deployment d-", "summary: failed")
	if created, stops := codeDeployEffects(sim); created != 1 || stops != 0 {
		t.Errorf("created %d, stopped %d; want 1, 0 (CodeDeploy rolls back its own failure)\n%s", created, stops, r)
	}
	wantEffects(t, sim, 0, 0, r)
}

// ROLLBACK=on-failure: deploystep's own verdict (here its timeout) stops the deployment with
// automatic rollback, once, and follows the rollback.
func TestCodeDeployRollbackOnTimeout(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(demo.CodeDeployBG, 20*time.Second))
	r := runBin(t, env(sim, "DEPLOY_TIMEOUT=4s", "ROLLBACK=on-failure"))
	wantOutput(t, r, 3, "timed out after 4s", "ROLLBACK=on-failure: StopDeployment with automatic rollback sent",
		"rollback d-", "Succeeded", "(CodeDeploy goes on with it)")
	if created, stops := codeDeployEffects(sim); created != 1 || stops != 1 {
		t.Errorf("created %d, stopped %d; want 1, 1\n%s", created, stops, r)
	}
}

func TestCodeDeployDryRunCreatesNothing(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(demo.CodeDeployBG, 3*time.Second))
	r := runBin(t, env(sim), "-dry-run")
	wantOutput(t, r, 0, "[ok  ] service api: deployment group "+demo.CodeDeployApp+"/"+demo.CodeDeployGroup+"; AppSpec valid: task definition api:<the revision step 2 registers>",
		"2. task definition: api: registers a revision of api from api:1 (the service's): container api: image ",
		"3. deploy:          api: CodeDeploy CreateDeployment on "+demo.CodeDeployApp+"/"+demo.CodeDeployGroup)
	if created, _ := codeDeployEffects(sim); created != 0 || sim.CountCalls("CodeDeploy", "CreateDeployment") != 0 || sim.CountCalls("ECS", "RegisterTaskDefinition") != 0 {
		t.Errorf("the dry run created a deployment or registered a revision\n%s", r)
	}
	// The revision names IMAGE by the digest its tag resolves to.
	digest := regexp.MustCompile(`digest (sha256:[0-9a-f]{64})`).FindStringSubmatch(r.Stdout)
	if digest == nil || !strings.Contains(r.Stdout, "-> 123456789012.dkr.ecr.us-east-1.amazonaws.com/"+demo.Repository+"@"+digest[1]) {
		t.Fatalf("the dry run did not plan the revision on the digest:\n%s", r)
	}
	// Without IMAGE the service's own revision goes into the AppSpec.
	own := runBin(t, env(sim, "IMAGE="), "-dry-run")
	wantOutput(t, own, 0, "AppSpec valid: task definition api:1 (the service's task definition)")

	// A group named that does not exist is a configuration error naming it.
	bad := runBin(t, env(sim, "CODEDEPLOY_APPLICATION="+demo.CodeDeployApp, "CODEDEPLOY_DEPLOYMENT_GROUP=nope"), "-dry-run")
	wantOutput(t, bad, 2, "nope")
}

// Searching for the group: found within CODEDEPLOY_APPLICATION; none there is a configuration
// error that names what was searched; an unknown application is one too.
func TestCodeDeployFindsTheGroup(t *testing.T) {
	t.Parallel()
	cfg := world(demo.CodeDeployBG, 2*time.Second)
	web := cfg.Clusters[0].Services[0]
	web.Name = "web"
	web.CodeDeploy = &awsim.CodeDeploySpec{Application: "tsa-gallery-web", Group: "tsa-gallery-web-bluegreen"}
	cfg.Clusters[0].Services = append(cfg.Clusters[0].Services, web)
	sim := startSim(t, cfg)
	r := runBin(t, env(sim, "SKIP_INVALIDATION=true", "DISTRIBUTIONID="))
	wantOutput(t, r, 0, "("+demo.CodeDeployApp+"/"+demo.CodeDeployGroup+")")
	none := runBin(t, env(sim, "CODEDEPLOY_APPLICATION=tsa-gallery-web", "SKIP_INVALIDATION=true", "DISTRIBUTIONID="))
	wantOutput(t, none, 2, "no deployment group deploys tsa-gallery/api (searched the deployment groups of application tsa-gallery-web")
	unknown := runBin(t, env(sim, "CODEDEPLOY_APPLICATION=no-such-app", "SKIP_INVALIDATION=true", "DISTRIBUTIONID="))
	wantOutput(t, unknown, 2, "ApplicationDoesNotExistException")

	// Two groups deploy the service: deploystep does not guess.
	two := world(demo.CodeDeployBG, 2*time.Second)
	two.Clusters[0].Services[0].CodeDeploy.ExtraGroups = []string{"tsa-gallery-api-canary"}
	sim2 := startSim(t, two)
	several := runBin(t, env(sim2))
	wantOutput(t, several, 2, "several deployment groups deploy tsa-gallery/api (tsa-gallery-api/tsa-gallery-api-bluegreen, tsa-gallery-api/tsa-gallery-api-canary)")
	if n := sim2.CountCalls("CodeDeploy", "CreateDeployment"); n != 0 {
		t.Errorf("CreateDeployment called %d times with an ambiguous group", n)
	}
}

func TestLambdaCodeDeploy(t *testing.T) {
	t.Parallel()
	sim := startSim(t, demo.Config(demo.CodeDeployBG, 8*time.Second, time.Second))
	d, logs := startRIE(t, sim, 4)
	x, err := d.Run(context.Background(), jobInput(userParameters(nil)))
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, results(x), logs)
	}
	final, ok := x.Final()
	if !ok || !final.Success || len(x.Invocations) < 2 || !strings.HasPrefix(final.OutputVariables["DeploymentIds"], "api=d-") {
		t.Fatalf("no final success across invocations:\n%s\n%s", results(x), logs)
	}
	if created, _ := codeDeployEffects(sim); created != 1 {
		t.Errorf("%d CodeDeploy deployments across %d invocations, want 1", created, len(x.Invocations))
	}
	noSecrets(t, "the function's log", logs.String())
}

// WAIT_UNTIL=traffic-shifted ends when all production traffic is on the replacement task set,
// before the original task set's termination wait is over.
func TestCodeDeployTrafficShifted(t *testing.T) {
	t.Parallel()
	cfg := world(demo.CodeDeployBG, 3*time.Second)
	cfg.Clusters[0].Services[0].CodeDeploy.TerminationWait = awsim.Duration(time.Minute)
	sim := startSim(t, cfg)
	r := runBin(t, env(sim, "WAIT_UNTIL=traffic-shifted", "SKIP_INVALIDATION=true", "DISTRIBUTIONID="))
	wantOutput(t, r, 0, "all production traffic on the replacement task set (the original task set ends after the termination wait)")
	if r.Took() > 30*time.Second {
		t.Errorf("took %v: it waited for the termination wait (1 min)", r.Took())
	}
}

// A re-delivered Lambda event finds the CodeDeploy deployment the first delivery created.
func TestLambdaCodeDeployDuplicateDelivery(t *testing.T) {
	t.Parallel()
	sim := startSim(t, demo.Config(demo.CodeDeployBG, 8*time.Second, time.Second))
	d, logs := startRIE(t, sim, 3)
	deliverFirstTwice(t, sim, d, jobInput(userParameters(nil)), logs)
	if created, _ := codeDeployEffects(sim); created != 1 {
		t.Errorf("%d CodeDeploy deployments for one release delivered twice\n%s", created, logs)
	}
	if !strings.Contains(logs.String(), "resuming: CodeDeploy deployment d-") {
		t.Errorf("the duplicate did not say it found the deployment:\n%s", logs)
	}
}

// One digest rule for both controllers: a CodeDeploy release where one of the two replacement
// tasks runs another digest than IMAGE's fails, as an ECS-controller deployment does (it used
// to pass when any one replacement task matched).
func TestCodeDeployPartlyWrongDigestFails(t *testing.T) {
	t.Parallel()
	cfg := world(demo.CodeDeployBG, 3*time.Second)
	cfg.Clusters[0].Services[0].CodeDeploy.StaleTasks = 1
	sim := startSim(t, cfg)
	r := runBin(t, env(sim))
	wantOutput(t, r, 1, "1 of 2 tasks run sha256:", "instead of the pushed sha256:", "summary: failed")
}
