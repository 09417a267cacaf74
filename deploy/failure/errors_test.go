package failure

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

// A refusal is a configuration error (exit 2) and ErrAccessDenied, whatever the service's error
// type; its message names who, the action, the resource, and what to change, read off IAM's
// message in each of the forms the IAM User Guide gives.
func TestDeniedMessage(t *testing.T) {
	const who = "arn:aws:sts::123456789012:assumed-role/tsa-gallery-codebuild/AWSCodeBuild-5e6f7a8b"
	const svc = "arn:aws:ecs:us-east-1:123456789012:service/tsa-gallery/api"
	for _, c := range []struct {
		name string
		err  error
		want []string
	}{
		{"no identity-based policy allows", &ecstypes.AccessDeniedException{Message: aws.String("User: " + who + " is not authorized to perform: ecs:UpdateService on resource: " + svc + " because no identity-based policy allows the ecs:UpdateService action")},
			[]string{"UpdateService api: access denied: " + who + " may not ecs:UpdateService on " + svc,
				`allow it in the policy of role tsa-gallery-codebuild with the statement {"Effect": "Allow", "Action": "ecs:UpdateService", "Resource": "` + svc + `"}`}},
		{"explicit deny", &cftypes.AccessDenied{Message: aws.String("User: " + who + " is not authorized to perform: cloudfront:CreateInvalidation on resource: arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL with an explicit deny in an identity-based policy")},
			[]string{"may not cloudfront:CreateInvalidation on arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL",
				"an explicit Deny in an identity-based policy refuses it, and no Allow overrides a Deny"}},
		{"a service control policy", &smithy.GenericAPIError{Code: "AccessDenied", Message: "User: " + who + " is not authorized to perform: elasticloadbalancing:DescribeTargetGroups with an explicit deny in a service control policy"},
			[]string{"may not elasticloadbalancing:DescribeTargetGroups on *", "an explicit Deny in a service control policy refuses it"}},
		{"a permissions boundary", &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User: " + who + " is not authorized to perform: logs:GetLogEvents on resource: arn:aws:logs:us-east-1:123456789012:log-group:/ecs/tsa-gallery/APITask:log-stream:ecs/api/0f1e because no permissions boundary policy allows the logs:GetLogEvents action"},
			[]string{"no permissions boundary policy allows it: that policy must allow logs:GetLogEvents on arn:aws:logs:us-east-1:123456789012:log-group:/ecs/tsa-gallery/APITask:log-stream:ecs/api/0f1e as well"}},
		{"a message IAM did not write", &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "You don't have authorization to perform the requested action."},
			[]string{"UpdateService api: access denied: AccessDeniedException: You don't have authorization", "deploystep -print-policy prints the policy a release needs"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := Classify(c.err, "UpdateService api")
			if !errors.Is(err, ErrConfig) || !errors.Is(err, ErrAccessDenied) || ExitCode(err) != ExitConfig {
				t.Fatalf("classify = %v: want ErrConfig and ErrAccessDenied, exit 2", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message lacks %q:\n%s", w, err)
				}
			}
		})
	}
	if err := Classify(&ecstypes.ServiceNotFoundException{Message: aws.String("Service not found.")}, "DescribeServices"); errors.Is(err, ErrAccessDenied) {
		t.Errorf("a missing service is not a refusal: %v", err)
	}
}
