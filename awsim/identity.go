package awsim

// Who calls, and where. Every request names its credentials and its region in its SigV4
// Authorization header (Credential=<access key id>/<date>/<region>/<service>/aws4_request); awsim
// reads both, as AWS does before it answers:
//
//   - an access key id the world does not know is refused, an expired identity likewise, with
//     the common errors of the API references ("Common Errors": UnrecognizedClientException,
//     "The X.509 certificate or AWS access key ID provided does not exist in our records.", and
//     ExpiredTokenException, "The security token included in the request is expired", both
//     HTTP 403, for the JSON services; the query services', STS and CloudFront, are
//     InvalidClientTokenId and ExpiredToken, 403);
//   - resources live in one account and one region (Config.Account, Config.Region): a regional
//     service asked in another region, or by an identity of another account, answers from an
//     empty world of that account and region, so a cluster, a repository or a job there is not
//     found, as in AWS; CloudFront and STS are global;
//   - an ECR call that names another account's registry is AccessDeniedException (no repository
//     policy grants it here).
//
// STS (sts.go) answers GetCallerIdentity and AssumeRole; the credentials AssumeRole hands out
// are known from then on, until they expire, and only with their session token.

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// IdentitySpec is credentials the world knows.
type IdentitySpec struct {
	AccessKeyID string `json:"accessKeyId"`
	Account     string `json:"account"`
	ARN         string `json:"arn"`
	// Expired makes every call with these credentials fail as with an expired session token.
	Expired bool `json:"expired,omitempty"`
	// SessionToken and Expires are temporary credentials' (AssumeRole's): a call must carry the
	// token (X-Amz-Security-Token) and is refused as expired after Expires.
	SessionToken string    `json:"sessionToken,omitempty"`
	Expires      time.Time `json:"expires,omitempty"`
	// Policies are the identity's identity-based policies (iam.go): with any, every call is
	// authorized as IAM does; without, everything is allowed.
	Policies []json.RawMessage `json:"policies,omitempty"`
}

// PlaceholderRoleARN is the identity the placeholder credentials act as: the lab's CodeBuild role.
const PlaceholderRoleARN = "arn:aws:sts::123456789012:assumed-role/tsa-gallery-codebuild/AWSCodeBuild-5e6f7a8b-0000-4000-8000-000000000001"

// caller is who sent a request, and to which region.
type caller struct {
	identity IdentitySpec
	region   string
	known    bool
}

// identities are the world's credentials: the placeholder ones (the demo account's CodeBuild
// role, or the configured account's) and Config.Identities.
func (s *Server) identities() map[string]IdentitySpec {
	arn := PlaceholderRoleARN
	if s.cfg.Account != "123456789012" {
		arn = "arn:aws:sts::" + s.cfg.Account + ":assumed-role/deploy/session"
	}
	out := map[string]IdentitySpec{AccessKeyID: {AccessKeyID: AccessKeyID, Account: s.cfg.Account, ARN: arn, Policies: s.cfg.Policies}}
	for _, id := range s.cfg.Identities {
		out[id.AccessKeyID] = id
	}
	s.stsMu.Lock()
	for k, id := range s.sessions {
		out[k] = id
	}
	s.stsMu.Unlock()
	return out
}

// callerOf reads the Authorization header. A request without one (awsim's own routes, a test's
// plain HTTP) is the placeholder identity in the world's region.
func (s *Server) callerOf(r *http.Request) caller {
	ids := s.identities()
	c := caller{identity: ids[AccessKeyID], region: s.cfg.Region, known: true}
	auth := r.Header.Get("Authorization")
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return c
	}
	cred, _, _ = strings.Cut(cred, ",")
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) < 3 {
		return c
	}
	id, known := ids[parts[0]]
	if known && id.SessionToken != "" && r.Header.Get("X-Amz-Security-Token") != id.SessionToken {
		known = false // temporary credentials without their token are not credentials
	}
	return caller{identity: id, region: parts[2], known: known}
}

// refusal is how AWS refuses the caller's credentials, in svc's protocol; nil when they are good.
func (c caller) refusal(svc string) *apiError {
	query := svc == "STS" || svc == "CloudFront" || svc == "ELB"
	switch {
	case !c.known && query:
		return errf(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
	case !c.known:
		return errf(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
	case (c.identity.Expired || !c.identity.Expires.IsZero() && time.Now().After(c.identity.Expires)) && query:
		return errf(403, "ExpiredToken", "The security token included in the request is expired")
	case c.identity.Expired || !c.identity.Expires.IsZero() && time.Now().After(c.identity.Expires):
		return errf(403, "ExpiredTokenException", "The security token included in the request is expired")
	}
	return nil
}

// home reports whether the caller's account and region are the world's, where its resources live.
func (s *Server) home(c caller) bool {
	return c.identity.Account == s.cfg.Account && c.region == s.cfg.Region
}

// regionWorld is a regional service's resources in one account and region.
type regionWorld struct {
	ecs  *ecsWorld
	ecr  *ecrWorld
	cd   *cdWorld
	cp   *cpWorld
	logs *logsWorld
}

// elsewhere is the (empty) world of another account or region; the caller holds s.mu.
func (s *Server) elsewhere(c caller) *regionWorld {
	key := c.identity.Account + "/" + c.region
	if w, ok := s.others[key]; ok {
		return w
	}
	ecsW, _ := newECS(s, nil)
	w := &regionWorld{ecs: ecsW, ecr: newECR(s, nil), cd: newCodeDeploy(s), cp: newCodePipeline(), logs: newLogs()}
	s.others[key] = w
	return w
}

const stsNS = "https://sts.amazonaws.com/doc/2011-06-15/"

// writeQueryError writes an error as the awsQuery protocol does.
func writeQueryError(w http.ResponseWriter, e *apiError) {
	typ := "Sender"
	if e.Status >= 500 {
		typ = "Receiver"
	}
	b, _ := xml.Marshal(struct {
		XMLName xml.Name `xml:"ErrorResponse"`
		NS      string   `xml:"xmlns,attr"`
		Error   struct {
			Type    string `xml:"Type"`
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Error"`
		RequestID string `xml:"RequestId"`
	}{NS: stsNS, Error: struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}{typ, e.Code, e.Message}, RequestID: fmt.Sprintf("awsim-%d", time.Now().UnixNano())})
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.Status)
	w.Write(b) //nolint:errcheck
}

// queryForm reads a form-encoded awsQuery request.
func queryForm(r *http.Request) (url.Values, bool) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return nil, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, false
	}
	form, err := url.ParseQuery(string(body))
	return form, err == nil && form.Get("Action") != ""
}

// crossAccount refuses an ECR call that names another account's registry: without a repository
// policy that grants it, AWS denies it.
func crossAccount(svc, op string, body []byte, c caller) *apiError {
	if svc != "ECR" {
		return nil
	}
	var in struct {
		RegistryID     string `json:"registryId"`
		RepositoryName string `json:"repositoryName"`
	}
	if json.Unmarshal(body, &in) != nil || in.RegistryID == "" || in.RegistryID == c.identity.Account {
		return nil
	}
	return errf(403, "AccessDeniedException", "User: %s is not authorized to perform: ecr:%s on resource: arn:aws:ecr:%s:%s:repository/%s because no resource-based policy allows the ecr:%s action",
		c.identity.ARN, op, c.region, in.RegistryID, in.RepositoryName, op)
}
