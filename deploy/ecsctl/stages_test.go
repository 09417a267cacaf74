package ecsctl

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/deploystep/deploystep/deploy/verdict"
	"github.com/deploystep/deploystep/internal/testtool"
)

// The stages the first read names are ECS's, in its order: the SDK's enum and botocore's model
// (two readings of the API reference) list the same stages as verdict.Stages, each with a meaning.
func TestLifecycleStagesAreTheReference(t *testing.T) {
	var ours []string
	for _, s := range verdict.Stages {
		ours = append(ours, s.Stage)
		if s.Meaning == "" {
			t.Errorf("stage %s has no meaning", s.Stage)
		}
	}
	var sdk []string
	for _, v := range ecstypes.ServiceDeploymentLifecycleStage("").Values() {
		sdk = append(sdk, string(v))
	}
	if !slices.Equal(ours, sdk) {
		t.Errorf("verdict.Stages %v; the SDK's enum %v", ours, sdk)
	}
	py := testtool.Python(t, "botocore")
	out, err := exec.Command(py, "testdata/lifecycle_stages.py").Output()
	if err != nil {
		t.Fatal(err)
	}
	if model := strings.Fields(string(out)); !slices.Equal(ours, model) {
		t.Errorf("verdict.Stages %v; botocore's model %v", ours, model)
	}
	if verdict.StageMeaning("POST_TEST_TRAFFIC_SHIFT") == "" || verdict.StageMeaning("NOT_A_STAGE") != "" {
		t.Error("StageMeaning does not look the stages up")
	}
}
