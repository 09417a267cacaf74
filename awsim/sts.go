package awsim

// STS: GetCallerIdentity and AssumeRole (awsQuery protocol: a form-encoded POST, an XML answer).
//
// AssumeRole, as the STS API reference states it (botocore's sts 2011-06-15 model, the contract
// rows in contract.go):
//
//   - RoleArn (20..2048) and RoleSessionName (2..64, [\w+=,.@-]*) are required; DurationSeconds
//     is 900..43200 and at most the role's maximum session duration ("If you specify a value
//     higher than this setting ..., the operation fails"; default 1 hour); ExternalId 2..1224,
//     [\w+=,.@:\/-]*. A violation is ValidationError, 400 (STS's common errors).
//   - The caller needs both grants: its own policy's sts:AssumeRole and the role's trust policy.
//     A role this world does not know, a caller the trust policy does not name, or an external id
//     that is not the one the trust policy's sts:ExternalId condition asks for, is AccessDenied,
//     403: "User: <caller> is not authorized to perform: sts:AssumeRole on resource: <role>".
//   - The answer is temporary credentials (an ASIA access key id, a secret, a session token,
//     their Expiration) and the assumed-role user (arn:aws:sts::<account>:assumed-role/<role
//     name>/<session name>). Calls made with them act as that user in the role's account; they
//     need the session token, and after Expiration they are ExpiredToken(Exception).
//
// RoleSpec.SessionTTL makes the credentials expire sooner than asked, so that a test can watch a
// client refresh them within seconds (AWS never shortens a session; the test scales time down).

import (
	"crypto/sha256"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/deploystep/deploystep/awsim/contract"
)

// RoleSpec is an IAM role the world's STS lets callers assume.
type RoleSpec struct {
	// ARN is arn:aws:iam::<account>:role/<name>.
	ARN string `json:"arn"`
	// Trusted are the principals its trust policy names: an account id or its root ARN (any
	// principal of that account), a role ARN (its sessions) or a caller's ARN. Empty: nobody.
	Trusted []string `json:"trusted,omitempty"`
	// ExternalID is the trust policy's sts:ExternalId condition ("" for none).
	ExternalID string `json:"externalId,omitempty"`
	// MaxSessionDuration is the role's maximum session duration (default 1 hour).
	MaxSessionDuration Duration `json:"maxSessionDuration,omitempty"`
	// SessionTTL, when set, is how long the credentials live, whatever was asked (a scaled-down
	// session for a test of refreshing).
	SessionTTL Duration `json:"sessionTtl,omitempty"`
	// Policies are the role's identity-based policies, which its sessions act under (iam.go).
	Policies []json.RawMessage `json:"policies,omitempty"`
}

// serveSTS answers the STS calls.
func (s *Server) serveSTS(w http.ResponseWriter, r *http.Request, form url.Values) {
	call := Call{Time: time.Now(), Service: "STS", Op: form.Get("Action")}
	fault, after := s.injectBefore(w, "STS", call.Op, &call, queryProtocol)
	if fault {
		return
	}
	c := s.callerOf(r)
	call.Caller = c.identity.ARN
	if aerr := c.refusal("STS"); aerr != nil {
		s.record(call, aerr.Status, aerr.Code)
		writeQueryError(w, aerr)
		return
	}
	var body any
	var aerr *apiError
	switch call.Op {
	case "GetCallerIdentity":
		body = s.getCallerIdentity(c)
	case "AssumeRole":
		call.Params = map[string]string{"RoleArn": form.Get("RoleArn"), "RoleSessionName": form.Get("RoleSessionName")}
		if aerr = validate("STS", call.Op, contract.QueryInput(form)); aerr == nil {
			aerr = s.authorize(queryAuthz("STS", call.Op, c, form), &call)
		}
		if aerr == nil {
			body, aerr = s.assumeRole(c, form)
		}
	default:
		aerr = errf(400, "InvalidAction", "Could not find operation %s for version 2011-06-15", call.Op)
	}
	if s.answered(w, call, after, aerr, writeQueryError) {
		return
	}
	s.record(call, 200, "")
	b, _ := xml.Marshal(body)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(200)
	w.Write(b) //nolint:errcheck
}

type stsMetadata struct {
	RequestID string `xml:"RequestId"`
}

func requestID() stsMetadata {
	return stsMetadata{RequestID: fmt.Sprintf("awsim-%d", time.Now().UnixNano())}
}

// userID is the unique id STS reports for an identity: AROA... for a role, :<session> after it.
func userID(id IdentitySpec) string {
	u := "AROA" + strings.ToUpper(fmt.Sprintf("%x", sha256.Sum256([]byte(roleOf(id.ARN)))))[:17]
	if _, session, ok := strings.Cut(strings.TrimPrefix(id.ARN, "arn:aws:sts::"+id.Account+":assumed-role/"), "/"); ok {
		u += ":" + session
	}
	return u
}

// roleOf is the role ARN an assumed-role ARN is a session of (other ARNs as they are).
func roleOf(arn string) string {
	rest, ok := strings.CutPrefix(arn, "arn:aws:sts::")
	if !ok {
		return arn
	}
	account, path, _ := strings.Cut(rest, ":assumed-role/")
	name, _, ok := strings.Cut(path, "/")
	if !ok {
		return arn
	}
	return "arn:aws:iam::" + account + ":role/" + name
}

func (s *Server) getCallerIdentity(c caller) any {
	type result struct {
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	}
	return struct {
		XMLName  xml.Name    `xml:"GetCallerIdentityResponse"`
		NS       string      `xml:"xmlns,attr"`
		Result   result      `xml:"GetCallerIdentityResult"`
		Metadata stsMetadata `xml:"ResponseMetadata"`
	}{NS: stsNS, Result: result{Arn: c.identity.ARN, UserID: userID(c.identity), Account: c.identity.Account}, Metadata: requestID()}
}

// trusts reports whether the role's trust policy names the caller.
func (r RoleSpec) trusts(c IdentitySpec) bool {
	for _, p := range r.Trusted {
		if p == c.ARN || p == c.Account || p == "arn:aws:iam::"+c.Account+":root" || p == roleOf(c.ARN) {
			return true
		}
	}
	return false
}

func (s *Server) assumeRole(c caller, form url.Values) (any, *apiError) {
	arn, name := form.Get("RoleArn"), form.Get("RoleSessionName")
	var role *RoleSpec
	for i := range s.cfg.Roles {
		if s.cfg.Roles[i].ARN == arn {
			role = &s.cfg.Roles[i]
		}
	}
	if role == nil || !role.trusts(c.identity) || role.ExternalID != form.Get("ExternalId") {
		return nil, errf(403, "AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", c.identity.ARN, arn)
	}
	duration := time.Hour
	if v := form.Get("DurationSeconds"); v != "" {
		n, _ := strconv.Atoi(v)
		duration = time.Duration(n) * time.Second
	}
	if limit := max(role.MaxSessionDuration.D(), time.Hour); duration > limit {
		return nil, errf(400, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	if role.SessionTTL > 0 {
		duration = role.SessionTTL.D()
	}
	account := strings.Split(arn, ":")[4]
	roleName := arn[strings.LastIndex(arn, "/")+1:]
	s.mu.Lock()
	s.idSeq++
	seq := s.idSeq
	s.effects.AssumeRoles[arn]++
	s.mu.Unlock()
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%s/%d/%d", arn, name, seq, time.Now().UnixNano())))
	hex := strings.ToUpper(fmt.Sprintf("%x", sum))
	id := IdentitySpec{
		AccessKeyID:  "ASIA" + hex[:16],
		Account:      account,
		ARN:          "arn:aws:sts::" + account + ":assumed-role/" + roleName + "/" + name,
		SessionToken: "IQoJb3JpZ2luX2Vj" + hex[16:64],
		Expires:      time.Now().Add(duration).UTC(),
		Policies:     role.Policies,
	}
	s.stsMu.Lock()
	s.sessions[id.AccessKeyID] = id
	s.stsMu.Unlock()
	type creds struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string `xml:"SecretAccessKey"`
		SessionToken    string `xml:"SessionToken"`
		Expiration      string `xml:"Expiration"`
	}
	type user struct {
		AssumedRoleID string `xml:"AssumedRoleId"`
		Arn           string `xml:"Arn"`
	}
	type result struct {
		Credentials     creds `xml:"Credentials"`
		AssumedRoleUser user  `xml:"AssumedRoleUser"`
	}
	return struct {
		XMLName  xml.Name    `xml:"AssumeRoleResponse"`
		NS       string      `xml:"xmlns,attr"`
		Result   result      `xml:"AssumeRoleResult"`
		Metadata stsMetadata `xml:"ResponseMetadata"`
	}{NS: stsNS, Result: result{
		Credentials:     creds{id.AccessKeyID, strings.ToLower(hex[24:64]), id.SessionToken, id.Expires.Format(time.RFC3339)},
		AssumedRoleUser: user{userID(id), id.ARN},
	}, Metadata: requestID()}, nil
}
