package e2e_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
)

// The lab's stack is created with no tasks (its image repository is still empty); the first
// release sets the desired count (DESIRED_COUNT, the stack's TaskCount) in the same
// UpdateService and follows the new tasks up.
func TestFirstReleaseBringsUpAServiceCreatedWithoutTasks(t *testing.T) {
	t.Parallel()
	cfg := world(awsim.Success, 2*time.Second)
	cfg.Clusters[0].Services[0].StartEmpty = true
	sim := startSim(t, cfg)
	r := runBin(t, env(sim, "DESIRED_COUNT=2", "CODEBUILD_BUILD_ID=tsa-gallery-api:0c1d2e3f-0000-4000-8000-000000000001"))
	wantOutput(t, r, 0, "with desired count 2", "2 of 2 tasks running", "summary: succeeded")
	wantEffects(t, sim, 1, 1, r)
	var sent []string
	for _, c := range sim.Calls() {
		if c.Op == "UpdateService" {
			sent = append(sent, c.Params["desiredCount"])
		}
	}
	if len(sent) != 1 || sent[0] != "2" {
		t.Errorf("UpdateService desiredCount sent %q, want once 2", sent)
	}
	out, err := ecs.NewFromConfig(sim.AWSConfig()).DescribeServices(context.Background(), &ecs.DescribeServicesInput{
		Cluster: aws.String(demo.Cluster), Services: []string{demo.Service}})
	if err != nil {
		t.Fatal(err)
	}
	if s := out.Services[0]; s.DesiredCount != 2 || s.RunningCount != 2 {
		t.Errorf("after the first release the service wants %d and runs %d tasks, want 2 and 2", s.DesiredCount, s.RunningCount)
	}

	// Without DESIRED_COUNT the release keeps the service's count: an empty service completes
	// with no tasks, which the output says.
	sim2 := startSim(t, cfg)
	r = runBin(t, env(sim2, "IMAGE="))
	wantOutput(t, r, 0, "0 of 0 tasks running")
}

// A CODE_DEPLOY service's count is CodeDeploy's to keep: DESIRED_COUNT is refused before
// anything changes.
func TestDesiredCountRefusedForCodeDeployServices(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(demo.CodeDeployBG, 2*time.Second))
	r := runBin(t, env(sim, "DESIRED_COUNT=2"))
	wantOutput(t, r, 2, "DESIRED_COUNT is set, but the service is on the CODE_DEPLOY controller")
	if n := sim.Effects().CodeDeployments[demo.CodeDeployApp+"/"+demo.CodeDeployGroup]; n != 0 {
		t.Errorf("%d CodeDeploy deployments created", n)
	}
}
