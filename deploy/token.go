package deploy

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// A continuation token carries a State from one Lambda invocation to the next, through
// CodePipeline (PutJobSuccessResult's continuationToken, at most 2,048 characters):
//
//	ds1.<base64url(deflate(JSON))>.<checksum>
//
// The checksum (the first 6 bytes of SHA-256 over the payload) catches truncation and
// corruption; the action fingerprint inside catches a token that belongs to another action
// (other cluster, services, distributions, paths or image). Neither is a secret: CodePipeline,
// not the user, hands the token back, and a token only names what the settings already allow.

const (
	tokenPrefix  = "ds1."
	maxTokenLen  = 2048
	maxTokenJSON = 64 << 10
)

type tokenBody struct {
	Version int    `json:"v"`
	Action  string `json:"a"`
	State   State  `json:"s"`
}

// EncodeToken writes st as a continuation token for the action s.
func EncodeToken(st *State, s Settings) (string, error) {
	raw, err := json.Marshal(tokenBody{Version: 1, Action: fingerprint(s), State: *st})
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write(raw) //nolint:errcheck // writes to memory
	w.Close()
	payload := base64.RawURLEncoding.EncodeToString(buf.Bytes())
	sum := sha256.Sum256([]byte(payload))
	tok := tokenPrefix + payload + "." + hex.EncodeToString(sum[:6])
	if len(tok) > maxTokenLen {
		return "", newError(ErrConfig, "the state of this release needs a %d-character continuation token; CodePipeline takes 2048: deploy fewer services per action", len(tok))
	}
	return tok, nil
}

// tokenFits checks that the largest state the action s can reach still fits a continuation
// token: every service pinned, replaced and marked unknown, with two distinct digests and an event
// id each, every distribution with its invalidation, all at their longest.
func tokenFits(s Settings) error {
	now := time.Now()
	st := &State{Phase: PhaseFollow, Started: now, Digest: "sha256:" + strings.Repeat("f", 64), Run: NewIdentity(s, strings.Repeat("0", 36))}
	st.init()
	for i, svc := range s.Services {
		id := fmt.Sprintf("ecs-svc/%019d", 9000000000000000000+i)
		st.Before[svc], st.Deployments[svc], st.Unknown[svc] = id, id+"1", now
		st.Digests[svc] = []string{st.Digest, "sha256:" + strings.Repeat(fmt.Sprintf("%02x", i%256), 32)}
		st.WantDigests[svc], st.Finished[svc], st.DigestReads[svc] = true, true, DigestReadLimit
		st.LastEvent[svc] = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		st.SD[svc] = fmt.Sprintf("arn:aws:ecs:ap-southeast-2:123456789012:service-deployment/%s/%s/%021d", s.Cluster, svc, i)
		st.BakeSeen[svc], st.Stopped[svc] = now, true
		st.Hooks[fmt.Sprintf("%020d", i)] = "CONTINUE"
	}
	st.Failure = strings.Repeat("f", 300)
	for i, d := range s.Distributions {
		st.Invalidations[d] = fmt.Sprintf("I%013d", i)
	}
	for _, p := range phaseOrder {
		st.Phases[p] = 1234.5
	}
	_, err := EncodeToken(st, s)
	return err
}

// DecodeToken reads a continuation token of the action s. Anything malformed, truncated,
// tampered with or foreign is a configuration error, never a panic.
func DecodeToken(tok string, s Settings, now time.Time) (*State, error) {
	bad := func(format string, args ...any) (*State, error) {
		return nil, newError(ErrConfig, "continuation token: "+format, args...)
	}
	if len(tok) > maxTokenLen {
		return bad("%d characters, more than CodePipeline's 2048", len(tok))
	}
	rest, ok := strings.CutPrefix(tok, tokenPrefix)
	if !ok {
		return bad("not a deploystep token (or an unknown version)")
	}
	payload, sum, ok := strings.Cut(rest, ".")
	if !ok {
		return bad("truncated")
	}
	want := sha256.Sum256([]byte(payload))
	if sum != hex.EncodeToString(want[:6]) {
		return bad("checksum mismatch (truncated or altered)")
	}
	zipped, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return bad("not base64url: %v", err)
	}
	raw, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(zipped)), maxTokenJSON+1))
	if err != nil || len(raw) > maxTokenJSON {
		return bad("does not decompress")
	}
	var body tokenBody
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return bad("not a state: %v", err)
	}
	if body.Version != 1 {
		return bad("version %d, want 1", body.Version)
	}
	if body.Action != fingerprint(s) {
		return bad("it belongs to another action (other cluster, services, distributions, paths or image)")
	}
	st := &body.State
	if err := st.check(s, now); err != "" {
		return bad("%s", err)
	}
	return st, nil
}

// check validates a state read from outside against the settings.
func (st *State) check(s Settings, now time.Time) string {
	known := false
	for _, p := range append(phaseOrder, PhaseDone) {
		known = known || st.Phase == p
	}
	switch {
	case !known:
		return fmt.Sprintf("unknown phase %q", clip(st.Phase))
	case st.Started.IsZero() || st.Started.After(now.Add(time.Minute)):
		return "start time missing or in the future"
	case st.Run.CallerRef == "" || len(st.Run.CallerRef) > 128:
		return "CallerReference missing or too long"
	case st.Run.Key == "" || st.Run.Marker == "":
		return "run identity missing"
	}
	in := func(k string, list []string) bool {
		for _, v := range list {
			if v == k {
				return true
			}
		}
		return false
	}
	for k := range st.Deployments {
		if !in(k, s.Services) {
			return fmt.Sprintf("names service %q, which the settings do not", clip(k))
		}
	}
	for k := range st.Invalidations {
		if !in(k, s.Distributions) {
			return fmt.Sprintf("names distribution %q, which the settings do not", clip(k))
		}
	}
	return ""
}
