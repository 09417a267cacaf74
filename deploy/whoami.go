package deploy

// Who the run acts as, checked before anything else: the credentials are found, STS says whose
// they are, and the first call tells a wrong environment (no credentials, expired or invalid
// ones, no region, an endpoint that refuses or does not answer) apart from a deployment's
// failure: it is a configuration error, in seconds, naming the region, the endpoint and what to
// set. Later in a run, network errors are retried under the retry rule as before.
//
// sts:GetCallerIdentity needs no permission ("No permissions are required to perform this
// operation", STS API reference), so it is not in Permissions.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/report"
	"github.com/deploystep/deploystep/deploy/state"
	"github.com/deploystep/deploystep/deploy/step"
)

// whoami finds the credentials and asks STS whose they are; it says so first thing. read is the
// real run's retry rule (Host.Attempt) or the dry run's single read (step.Once, the reader).
func (e *Engine) whoami(ctx context.Context, st *state.State, read step.Reader) error {
	if e.Region == "" {
		return failure.New(failure.ErrConfig, "configuration: no AWS region: set AWS_REGION (or a profile with a region, AWS_PROFILE), like AWS_REGION=us-east-1")
	}
	if e.Credentials == nil {
		return failure.New(failure.ErrConfig, "configuration: no AWS credentials in %s: %s", e.Region, credentialsHint)
	}
	c, cancel := context.WithTimeout(ctx, 10*time.Second) // the first call: a wrong environment is said in seconds
	defer cancel()
	if _, err := e.Credentials.Retrieve(c); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The SDK's chain says which source it tried last: "failed to refresh cached credentials,
		// no EC2 IMDS role found, ...", "..., the SSO session has expired or is invalid".
		why := strings.TrimPrefix(failure.FirstLine(err), "failed to refresh cached credentials, ")
		return failure.New(failure.ErrConfig, "configuration: no AWS credentials found for %s (%s): %s", e.Region, failure.FirstPhrase(errors.New(why)), credentialsHint)
	}
	// Credentials AWS refuses and an endpoint that cannot be reached end the run at once; a
	// throttled call, a 5xx or a reset is tried again under the retry rule, like any other read.
	var out *sts.GetCallerIdentityOutput
	err := read(ctx, "asking STS whose the credentials are", func(ctx context.Context) error {
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		var err error
		out, err = e.STS.GetCallerIdentity(c, &sts.GetCallerIdentityInput{}, func(o *sts.Options) { o.RetryMaxAttempts = 2 })
		if err != nil && ctx.Err() == nil {
			return environmentError(err, "STS", e.Region)
		}
		return err
	})
	if err != nil {
		return err
	}
	via := ""
	if e.Role != nil { // ROLE_ARN: the caller assumes the role; the release acts as the session
		e.useRole(st)
		via = aws.ToString(out.Arn)
		if out, err = e.assumeRole(ctx, read, via); err != nil {
			return err
		}
	}
	e.SetCaller(state.Caller{ARN: aws.ToString(out.Arn), Account: aws.ToString(out.Account), Region: e.Region, Via: via})
	msg := fmt.Sprintf("acting as %s (account %s) in %s", st.Caller.ARN, st.Caller.Account, e.Region)
	if via != "" {
		msg += fmt.Sprintf(", a session of ROLE_ARN %s assumed by %s", e.Role.ARN, via)
	}
	e.Emit(report.Event{Kind: report.KindIdentity, Message: msg})
	return nil
}

const credentialsHint = "set AWS_PROFILE (a profile from aws configure or aws sso login) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; in CodeBuild and Lambda the service role provides them"

// environmentError says what an environment mistake is and what to set: credentials AWS refuses,
// or an endpoint that cannot be reached.
func environmentError(err error, service, region string) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch code := api.ErrorCode(); {
		case strings.HasPrefix(code, "ExpiredToken"):
			return failure.New(failure.ErrConfig, "configuration: the AWS credentials have expired (%s in %s): get new ones (aws sso login, a new role session) or %s", code, region, credentialsHint)
		case code == "InvalidClientTokenId" || code == "UnrecognizedClientException" || code == "SignatureDoesNotMatch" || code == "InvalidSignatureException":
			return failure.New(failure.ErrConfig, "configuration: %s refuses the AWS credentials in %s (%s: %s): check the access key and secret, or %s", service, region, code, api.ErrorMessage(), credentialsHint)
		}
		return fmt.Errorf("%s in %s: %w", service, region, err) // throttling, a 5xx: asked again
	}
	endpoint, why := unreachable(err)
	if why == "" {
		return fmt.Errorf("%s in %s: %w", service, region, err) // a reset: asked again
	}
	if endpoint == "" { // a call cut off by its deadline names no URL
		endpoint = cmp.Or(os.Getenv("AWS_ENDPOINT_URL"), "https://"+strings.ToLower(service)+"."+region+".amazonaws.com")
	}
	hint := "a build in a VPC needs a route to AWS (a NAT gateway, or VPC endpoints)"
	if v := os.Getenv("AWS_ENDPOINT_URL"); v != "" {
		hint = "AWS_ENDPOINT_URL is " + v + ": is that endpoint running, or should it be unset?"
	}
	return failure.New(failure.ErrConfig, "configuration: cannot reach %s at %s in %s: it %s; %s", service, endpoint, region, why, hint)
}

// unreachable says which endpoint a call could not reach and why ("" when err is no such error).
func unreachable(err error) (endpoint, why string) {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			endpoint = u.Scheme + "://" + u.Host
		}
	}
	var dns *net.DNSError
	var ne net.Error
	switch {
	case errors.As(err, &dns):
		why = "does not resolve (" + dns.Err + ")"
	case errors.Is(err, syscall.ECONNREFUSED):
		why = "refuses the connection"
	case errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH):
		why = "has no route"
	case errors.As(err, &ne) && ne.Timeout():
		why = "does not answer"
	}
	return endpoint, why
}
