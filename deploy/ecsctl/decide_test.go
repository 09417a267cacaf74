package ecsctl

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/deploystep/deploystep/deploy/verdict"
)

// AWS documents the enums upper case but no case rule; an emulator's lower case must not hang.
func TestViewOfIgnoresCase(t *testing.T) {
	s := ecstypes.Service{ServiceName: aws.String("api"), Status: aws.String("active"), DesiredCount: 2, RunningCount: 2,
		Deployments: []ecstypes.Deployment{{Id: aws.String("ecs-svc/1"), Status: aws.String("primary"), RolloutState: "completed",
			DesiredCount: 2, RunningCount: 2, TaskDefinition: aws.String("arn:aws:ecs:us-east-1:123456789012:task-definition/api:1")}}}
	if d := verdict.Decide(viewOf(s), verdict.Pin{Deployment: "ecs-svc/1"}, verdict.Evidence{}); d.Verdict != verdict.Done {
		t.Fatalf("Decide = %v %q", d.Verdict, d.Message)
	}
}
