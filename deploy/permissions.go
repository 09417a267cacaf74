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
// its own (codeDeployImplied). With lambda, the CodePipeline result calls are included.
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
	add("codedeploy", (*CodeDeployAPI)(nil))
	out = append(out, codeDeployImplied...)
	if lambda {
		add("codepipeline", (*CodePipelineAPI)(nil))
	}
	sort.Strings(out)
	return out
}
