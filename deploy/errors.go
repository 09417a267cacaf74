package deploy

import (
	"context"
	"errors"
	"fmt"
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
	// errPaused: the invocation's own deadline came first (Lambda hands over with a token).
	errPaused = errors.New("paused")
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
	class error
	msg   string
	cause error // the AWS error it was made from, for errors.As; nil for the engine's own
}

func (e *classError) Error() string { return e.msg }
func (e *classError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.class}
	}
	return []error{e.class, e.cause}
}

func newError(class error, format string, args ...any) error {
	return &classError{class: class, msg: fmt.Sprintf(format, args...)}
}

// classify turns an AWS error from doing what into an error of its class: not found and access
// denied are configuration errors; the rest is returned as is (transient, or unknown).
func classify(err error, what string) error {
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
		return config("%s: access denied: %s", what, apiMessage(err))
	case errors.As(err, &api):
		code := api.ErrorCode()
		if strings.Contains(code, "AccessDenied") || code == "UnauthorizedOperation" || code == "UnrecognizedClientException" ||
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

// isFinal reports whether err will not go away by asking again.
func isFinal(err error) bool {
	return errors.Is(err, ErrConfig) || errors.Is(err, ErrFailed)
}
