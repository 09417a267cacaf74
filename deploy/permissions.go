package deploy

import (
	"context"
	"reflect"
	"sort"

	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
)

// CodePipelineAPI is the CodePipeline calls the Lambda mode makes.
type CodePipelineAPI interface {
	PutJobSuccessResult(context.Context, *codepipeline.PutJobSuccessResultInput, ...func(*codepipeline.Options)) (*codepipeline.PutJobSuccessResultOutput, error)
	PutJobFailureResult(context.Context, *codepipeline.PutJobFailureResultInput, ...func(*codepipeline.Options)) (*codepipeline.PutJobFailureResultOutput, error)
}

// Permissions lists the IAM actions deploystep calls, read off the client interfaces so that
// the list cannot drift from the code, plus the actions IAM checks for CreateDeployment beyond
// its own (codeDeployImplied) and for RegisterTaskDefinition (registerImplied). With lambda, the CodePipeline result calls are included.
func Permissions(lambda bool) []string {
	var out []string
	add := func(prefix string, iface any) {
		t := reflect.TypeOf(iface).Elem()
		for i := 0; i < t.NumMethod(); i++ {
			out = append(out, prefix+":"+t.Method(i).Name)
		}
	}
	add("ecs", (*ECSAPI)(nil))
	add("ecr", (*ECRAPI)(nil))
	add("cloudfront", (*CloudFrontAPI)(nil))
	add("elasticloadbalancing", (*ELBAPI)(nil))
	add("codedeploy", (*CodeDeployAPI)(nil))
	add("logs", (*LogsAPI)(nil))
	out = append(out, codeDeployImplied...)
	out = append(out, registerImplied...)
	if lambda {
		add("codepipeline", (*CodePipelineAPI)(nil))
	}
	sort.Strings(out)
	return out
}

// registerImplied is what IAM checks for RegisterTaskDefinition beyond its own action: passing
// the revision's task and execution roles to ECS (iam:PassRole, scoped to those roles with
// iam:PassedToService = ecs-tasks.amazonaws.com; aws-actions/amazon-ecs-deploy-task-definition
// publishes the same statement; RunTask of the pre-deploy task checks it the same way) and tagging the revision on create (ecs:TagResource, already a
// call of deploystep's).
var registerImplied = []string{"iam:PassRole"}
