// Package failure is how deploystep's runs end badly: the error classes (errors.Is) with their
// documented exit codes, Classify, which turns an AWS error into its class (an AccessDenied into a
// configuration error naming the statement to add), and the text helpers messages share. It is a
// leaf: the engine, its steps and main import it.
package failure

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

// Error classes; test with errors.Is.
var (
	// ErrConfig: missing or invalid settings, a resource that does not exist, access denied.
	ErrConfig = errors.New("configuration error")
	// ErrFailed: the deployment or the invalidation failed.
	ErrFailed = errors.New("deployment failed")
	// ErrTimeout: the overall time limit ran out.
	ErrTimeout = errors.New("timed out")
	// ErrInterrupted: a signal stopped the run.
	ErrInterrupted = errors.New("interrupted")
	// ErrAccessDenied: IAM refused a call; always also ErrConfig. Nothing falls back on it: the
	// message names the action, the resource, the identity and the statement that allows it.
	ErrAccessDenied = errors.New("access denied")
	// ErrPaused: the invocation's own deadline came first (Lambda hands over with a token).
	ErrPaused = errors.New("paused")
)

// Exit codes, documented in the README and in -h.
const (
	ExitOK          = 0
	ExitFailed      = 1
	ExitConfig      = 2
	ExitTimeout     = 3
	ExitInterrupted = 130
)

// ExitCode maps an error's class to the process exit code.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrConfig):
		return ExitConfig
	case errors.Is(err, ErrTimeout):
		return ExitTimeout
	case errors.Is(err, ErrInterrupted):
		return ExitInterrupted
	default:
		return ExitFailed
	}
}

// classError is an error of a class with a message for people.
type classError struct {
	class  error
	msg    string
	cause  error // the AWS error it was made from, for errors.As; nil for the engine's own
	denied bool  // an AccessDenied: also ErrAccessDenied
}

// Error is the message.
func (e *classError) Error() string { return e.msg }

// Unwrap is the class, ErrAccessDenied for a refusal, and the AWS error it was made from.
func (e *classError) Unwrap() []error {
	out := []error{e.class}
	if e.denied {
		out = append(out, ErrAccessDenied)
	}
	if e.cause != nil {
		out = append(out, e.cause)
	}
	return out
}

// New is an error of class (ErrConfig, ErrFailed, ...) with a formatted message.
func New(class error, format string, args ...any) error {
	return &classError{class: class, msg: fmt.Sprintf(format, args...)}
}

// Classify turns an AWS error from doing what into an error of its class: not found and access
// denied are configuration errors; the rest is returned as is (transient, or unknown).
func Classify(err error, what string) error {
	if err == nil {
		return nil
	}
	var (
		cnf  *ecstypes.ClusterNotFoundException
		snf  *ecstypes.ServiceNotFoundException
		sna  *ecstypes.ServiceNotActiveException
		ace  *ecstypes.AccessDeniedException
		inf  *ecrtypes.ImageNotFoundException
		rnf  *ecrtypes.RepositoryNotFoundException
		nsd  *cftypes.NoSuchDistribution
		cfad *cftypes.AccessDenied
		api  smithy.APIError
	)
	config := func(format string, args ...any) error {
		return &classError{class: ErrConfig, msg: fmt.Sprintf(format, args...), cause: err}
	}
	switch {
	case errors.As(err, &cnf):
		return config("%s: cluster not found", what)
	case errors.As(err, &snf), errors.As(err, &sna):
		return config("%s: %s", what, apiMessage(err))
	case errors.As(err, &inf), errors.As(err, &rnf):
		return config("%s: %s", what, apiMessage(err))
	case errors.As(err, &nsd):
		return config("%s: distribution not found", what)
	case errors.As(err, &ace), errors.As(err, &cfad):
		return &classError{class: ErrConfig, msg: deniedMessage(what, apiMessage(err)), cause: err, denied: true}
	case errors.As(err, &api) && (strings.Contains(api.ErrorCode(), "AccessDenied") || api.ErrorCode() == "UnauthorizedOperation"):
		return &classError{class: ErrConfig, msg: deniedMessage(what, apiMessage(err)), cause: err, denied: true}
	case errors.As(err, &api):
		code := api.ErrorCode()
		if code == "UnrecognizedClientException" ||
			code == "InvalidClientTokenId" || code == "InvalidParameterException" || code == "ClientException" ||
			code == "InvalidArgument" || code == "ValidationException" ||
			// CodeDeploy names its input errors: ApplicationDoesNotExistException,
			// DeploymentGroupNameRequiredException, InvalidRevisionException, ...
			strings.HasSuffix(code, "DoesNotExistException") || strings.HasSuffix(code, "RequiredException") ||
			strings.HasPrefix(code, "Invalid") && strings.HasSuffix(code, "Exception") || code == "BatchLimitExceededException" {
			return config("%s: %s: %s", what, code, api.ErrorMessage())
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}

// iamDenial is IAM's refusal as AWS words it: "User: <principal> is not authorized to perform:
// <action> [on resource: <arn>] [because no <policy type> policy allows the <action> action | with
// an explicit deny in <a policy type> policy]" (IAM User Guide, "Troubleshoot access denied error
// messages").
var iamDenial = regexp.MustCompile(`User: (\S+) is not authorized to perform: ([\w-]+:[\w*?-]+)(?: on resource: (\S+))?(?: (?:because no ([\w -]+?) policy allows the \S+ action|with an explicit deny in (?:an? )?([\w -]+?) policy))?`)

// deniedMessage says what a refusal means and what to change: the action, the resource, who, and
// the statement that allows it (or that a Deny must be narrowed, since no Allow overrides it).
func deniedMessage(what, aws string) string {
	m := iamDenial.FindStringSubmatch(aws)
	if m == nil {
		return fmt.Sprintf("%s: access denied: %s (deploystep -print-policy prints the policy a release needs; docs/permissions.md says why each call)", what, aws)
	}
	who, action, resource, noAllow, deny := m[1], m[2], strings.TrimRight(m[3], ".,;"), m[4], m[5]
	if resource == "" {
		resource = "*"
	}
	statement := fmt.Sprintf(`{"Effect": "Allow", "Action": "%s", "Resource": "%s"}`, action, resource)
	var fix string
	switch {
	case deny != "":
		fix = fmt.Sprintf("an explicit Deny in %s policy refuses it, and no Allow overrides a Deny: narrow that Deny so it does not match %s on %s", article(deny), action, resource)
	case noAllow != "" && noAllow != "identity-based":
		fix = fmt.Sprintf("no %s policy allows it: that policy must allow %s on %s as well", noAllow, action, resource)
	default:
		fix = fmt.Sprintf("allow it in the policy of %s with the statement %s", principalName(who), statement)
	}
	return fmt.Sprintf("%s: access denied: %s may not %s on %s; %s (AWS: %s)", what, who, action, resource, fix, aws)
}

// principalName is who a policy belongs to: the role of an assumed-role session
// (arn:aws:sts::<account>:assumed-role/<role>/<session>), else the ARN.
func principalName(arn string) string {
	if _, rest, ok := strings.Cut(arn, ":assumed-role/"); ok {
		if role, _, ok := strings.Cut(rest, "/"); ok {
			return "role " + role
		}
	}
	return arn
}

func article(s string) string {
	if strings.IndexAny(s[:1], "aeiouAEIOU") == 0 {
		return "an " + s
	}
	return "a " + s
}

func apiMessage(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		if m := api.ErrorMessage(); m != "" {
			return api.ErrorCode() + ": " + m
		}
		return api.ErrorCode()
	}
	return err.Error()
}

// IsFinal reports whether err will not go away by asking again.
func IsFinal(err error) bool {
	return errors.Is(err, ErrConfig) || errors.Is(err, ErrFailed)
}
