package deploy

// Releases into another account: with ROLE_ARN every AWS call of the release is signed with the
// credentials of one sts:AssumeRole session of that role, made with the credentials the run
// found (the caller: CodeBuild's or the Lambda function's role in the tooling account). The
// CodePipeline job results stay the caller's: the job is the tooling account's.
//
//   - One session per run (per Lambda invocation: each builds its engine), named after the
//     release (its CallerReference, which carries the build or job id), within STS's rules for
//     RoleSessionName: 2 to 64 characters of [\w+=,.@-] (STS API reference, AssumeRole). The
//     session name shows in the workload account's CloudTrail as the assumed-role ARN.
//   - The session lasts 15 minutes (the least STS grants, DurationSeconds 900; a CodeBuild or
//     Lambda caller is itself a role session, and "role chaining limits ... to a maximum of one
//     hour"), and is renewed a minute before it expires (aws.CredentialsCache), so a release of
//     any length keeps signing with live credentials.
//   - whoami (whoami.go) asks STS who the caller is, then assumes the role before anything
//     changes: a refusal (AccessDenied: the trust policy, the caller's own policy, the external
//     id) is a configuration error naming the role and the caller.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/deploystep/deploystep/deploy/awsapi"
	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/settings"
	"github.com/deploystep/deploystep/deploy/state"
	"github.com/deploystep/deploystep/deploy/step"
)

// Role session timing: STS's least DurationSeconds, and how long before the end it is renewed.
const (
	roleSessionDuration = 15 * time.Minute
	roleRenewBefore     = time.Minute
)

// RoleSession is the ROLE_ARN session every client of the release signs with.
type RoleSession struct {
	ARN, ExternalID string
	// STS asks as the session (whom the release acts as).
	STS awsapi.STSAPI
	// Credentials is what the release's clients sign with: the session's, renewed before expiry.
	Credentials aws.CredentialsProvider

	base  stscreds.AssumeRoleAPIClient
	mu    sync.Mutex
	name  string
	inner *stscreds.AssumeRoleProvider
}

// newRoleSession makes the session provider for arn, assumed through base (the caller's STS).
func newRoleSession(base stscreds.AssumeRoleAPIClient, arn, externalID string) *RoleSession {
	r := &RoleSession{ARN: arn, ExternalID: externalID, base: base}
	r.Credentials = aws.NewCredentialsCache(r, func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = roleRenewBefore })
	return r
}

// named names the session after the release; once a session is made its name stays.
func (r *RoleSession) named(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inner == nil {
		r.name = name
	}
}

// Retrieve assumes the role: the first time and each time the cache renews the session.
func (r *RoleSession) Retrieve(ctx context.Context) (aws.Credentials, error) {
	r.mu.Lock()
	if r.inner == nil {
		name := r.name
		if name == "" {
			name = SessionName(fmt.Sprintf("deploystep-%d", time.Now().Unix()))
		}
		r.inner = stscreds.NewAssumeRoleProvider(r.base, r.ARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName, o.Duration = name, roleSessionDuration
			if r.ExternalID != "" {
				o.ExternalID = aws.String(r.ExternalID)
			}
		})
	}
	p := r.inner
	r.mu.Unlock()
	return p.Retrieve(ctx)
}

// SessionName is a RoleSessionName for release: its characters outside [\w+=,.@-] become -, and
// a name longer than 64 keeps its start and a hash of the whole.
func SessionName(release string) string {
	b := []byte(release)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_+=,.@-", c) >= 0) {
			b[i] = '-'
		}
	}
	name := string(b)
	if len(name) > 64 {
		sum := sha256.Sum256([]byte(release))
		name = name[:51] + "-" + hex.EncodeToString(sum[:6])
	}
	if len(name) < 2 {
		name = "deploystep-" + name
	}
	return name
}

// useRole names the run's role session after the release (a no-op without ROLE_ARN).
func (e *Engine) useRole(st *state.State) {
	if e.Role != nil {
		e.Role.named(sessionFor(e.Settings, st.Run))
	}
}

// sessionFor names a release's role session from what names the release (identity.go):
// deploystep-<key>-<fingerprint>, a CodeBuild build id (<project>:<build uuid>) by its uuid so the
// name fits 64 characters and still says which build it is; CALLER_REFERENCE, or the one-off
// run's reference, as it is.
func sessionFor(s settings.Settings, id state.Identity) string {
	if s.CallerReference != "" || id.Key == "" {
		return SessionName(id.CallerRef)
	}
	key := id.Key
	if project, build, ok := strings.Cut(key, ":"); ok && project != "" && build != "" {
		key = build
	}
	return SessionName("deploystep-" + key + "-" + state.Fingerprint(s)[:12])
}

// assumeRole makes the role session (whoami, after the caller is known) under read, the run's
// retry rule: a refusal is a configuration error naming the role and the caller; throttling and
// 5xx beyond the SDK's own retries are asked again. It returns who the session acts as.
func (e *Engine) assumeRole(ctx context.Context, read step.Reader, caller string) (*sts.GetCallerIdentityOutput, error) {
	err := read(ctx, "assuming ROLE_ARN "+e.Role.ARN, func(ctx context.Context) error {
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := e.Role.Credentials.Retrieve(c)
		if err != nil && ctx.Err() == nil {
			return roleRefused(err, e.Role, caller, e.Region)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	var out *sts.GetCallerIdentityOutput
	err = read(ctx, "asking STS whom the role session acts as", func(ctx context.Context) error {
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		var err error
		out, err = e.Role.STS.GetCallerIdentity(c, &sts.GetCallerIdentityInput{}, func(o *sts.Options) { o.RetryMaxAttempts = 2 })
		if err != nil && ctx.Err() == nil {
			return environmentError(err, "STS", e.Region)
		}
		return err
	})
	return out, err
}

// roleRefused says why the role could not be assumed and what grants it: a refusal or a request
// STS rejects is a configuration error, credentials or an endpoint that fail are the
// environment's (environmentError); throttling and 5xx are returned as they are, to be asked
// again.
func roleRefused(err error, r *RoleSession, caller, region string) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch code := api.ErrorCode(); code {
		case "AccessDenied":
			ext := ""
			if r.ExternalID != "" {
				ext = ", with the sts:ExternalId condition ROLE_EXTERNAL_ID matches"
			}
			return failure.New(failure.ErrConfig, "configuration: ROLE_ARN %s: sts:AssumeRole refused for %s (AccessDenied: %s): the role's trust policy must allow %s%s, and the caller's policy must allow sts:AssumeRole on the role (docs/running.md: \"Releases into another account\")",
				r.ARN, caller, api.ErrorMessage(), trustPrincipal(caller), ext)
		case "ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "SignatureDoesNotMatch":
			return environmentError(err, "STS", region)
		case "ValidationError", "MalformedPolicyDocument", "PackedPolicyTooLarge", "RegionDisabledException":
			return failure.New(failure.ErrConfig, "configuration: ROLE_ARN %s: sts:AssumeRole for %s failed: %s: %s", r.ARN, caller, code, api.ErrorMessage())
		}
		return fmt.Errorf("sts:AssumeRole of %s: %w", r.ARN, err) // throttling, a 5xx: asked again
	}
	return environmentError(err, "STS", region) // unreachable: ErrConfig; a reset: asked again
}

// trustPrincipal is the principal a trust policy names for caller: a role session's role
// (arn:aws:sts::<account>:assumed-role/<role>/<session> is arn:aws:iam::<account>:role/<role>).
func trustPrincipal(caller string) string {
	parts := strings.SplitN(caller, ":", 6)
	if len(parts) < 6 || parts[2] != "sts" {
		return caller
	}
	role, _, ok := strings.Cut(strings.TrimPrefix(parts[5], "assumed-role/"), "/")
	if !ok || !strings.HasPrefix(parts[5], "assumed-role/") {
		return caller
	}
	return "arn:" + parts[1] + ":iam::" + parts[4] + ":role/" + role
}
