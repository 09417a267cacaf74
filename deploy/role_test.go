package deploy

import (
	"regexp"
	"strings"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/settings"
	"github.com/deploystep/deploystep/deploy/state"
)

// sessionRule is AssumeRole's RoleSessionName (botocore's sts model: min 2, max 64, [\w+=,.@-]*).
var sessionRule = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

func TestSessionName(t *testing.T) {
	long := strings.Repeat("p", 200) + ":0f1e2d3c-4b5a-4c6d-8e7f-0123456789ab"
	release := settings.Settings{Cluster: "c", Services: []string{"api"}}
	cases := []struct {
		name string
		s    settings.Settings
		key  string
		want string // a part the name must hold
	}{
		{"CodeBuild build", release, "tsa-gallery:0f1e2d3c-4b5a-4c6d-8e7f-0123456789ab", "0f1e2d3c-4b5a-4c6d-8e7f-0123456789ab"},
		{"long project name", release, long, "deploystep-0f1e2d3c-4b5a-4c6d-8e7f-0123456789ab-"},
		{"CodePipeline job", release, "6d1aec28-9eea-48fc-a081-84ea6ccdef20", "deploystep-6d1aec28-9eea-48fc-a081-84ea6ccdef20-"},
		{"one-off run", release, "", "deploystep-"},
		{"CALLER_REFERENCE with spaces and slashes", settings.Settings{CallerReference: "release 2026/12/01"}, "", "release-2026-12-01"},
		{"CALLER_REFERENCE of one character", settings.Settings{CallerReference: "r"}, "", "deploystep-r"},
		{"CALLER_REFERENCE of 128", settings.Settings{CallerReference: strings.Repeat("é", 64)}, "", "---"},
	}
	for _, c := range cases {
		got := sessionFor(c.s, state.NewIdentity(c.s, c.key))
		if !sessionRule.MatchString(got) || !strings.Contains(got, c.want) {
			t.Errorf("%s: session name %q; want STS's rule and %q in it", c.name, got, c.want)
		}
	}
	// Two long references that share their first 51 characters keep distinct names.
	a, b := SessionName(strings.Repeat("x", 70)+"a"), SessionName(strings.Repeat("x", 70)+"b")
	if a == b || len(a) != 64 {
		t.Errorf("long names %q and %q", a, b)
	}
}

func TestTrustPrincipal(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:sts::111122223333:assumed-role/tsa-pipeline-codebuild/AWSCodeBuild-0f1e": "arn:aws:iam::111122223333:role/tsa-pipeline-codebuild",
		"arn:aws-cn:sts::111122223333:assumed-role/deploy/s":                              "arn:aws-cn:iam::111122223333:role/deploy",
		"arn:aws:iam::111122223333:user/alice":                                            "arn:aws:iam::111122223333:user/alice",
		"arn:aws:sts::111122223333:federated-user/bob":                                    "arn:aws:sts::111122223333:federated-user/bob",
	} {
		if got := trustPrincipal(in); got != want {
			t.Errorf("trustPrincipal(%s) = %s, want %s", in, got, want)
		}
	}
}

// A refusal and a request STS rejects end the run as configuration errors naming the role and
// the caller; throttling and 5xx are asked again (not final).
func TestRoleRefused(t *testing.T) {
	r := &RoleSession{ARN: "arn:aws:iam::210987654321:role/deploystep-deploy", ExternalID: "tsa-prod-7f3a"}
	caller := "arn:aws:sts::111122223333:assumed-role/tsa-pipeline-codebuild/AWSCodeBuild-0f1e"
	cases := []struct {
		code  string
		final bool
		want  string
	}{
		{"AccessDenied", true, "ROLE_ARN arn:aws:iam::210987654321:role/deploystep-deploy: sts:AssumeRole refused for " + caller + " (AccessDenied: no): the role's trust policy must allow arn:aws:iam::111122223333:role/tsa-pipeline-codebuild, with the sts:ExternalId condition ROLE_EXTERNAL_ID matches"},
		{"ValidationError", true, "sts:AssumeRole for " + caller + " failed: ValidationError: no"},
		{"RegionDisabledException", true, "RegionDisabledException"},
		{"ExpiredToken", true, "the AWS credentials have expired"},
		{"Throttling", false, "sts:AssumeRole of arn:aws:iam::210987654321:role/deploystep-deploy"},
		{"InternalFailure", false, "InternalFailure"},
	}
	for _, c := range cases {
		err := roleRefused(&smithy.GenericAPIError{Code: c.code, Message: "no"}, r, caller, "eu-west-1")
		if failure.IsFinal(err) != c.final || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v (final %v); want final %v and %q", c.code, err, failure.IsFinal(err), c.final, c.want)
		}
	}
}
