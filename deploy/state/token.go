package state

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"strings"
	"time"

	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/settings"
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
	// tokenVersion is the State's shape: 2 keeps one record per service, 3 its PAUSE hook typed.
	tokenVersion = 3
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
func EncodeToken(st *State, s settings.Settings) (string, error) {
	raw, err := json.Marshal(tokenBody{Version: tokenVersion, Action: Fingerprint(s), State: *st})
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
		return "", failure.New(failure.ErrConfig, "the state of this release needs a %d-character continuation token; CodePipeline takes 2048: deploy fewer services per action", len(tok))
	}
	return tok, nil
}

// TokenFits checks that the largest state the action s can reach (worstState) still fits a
// continuation token.
func TokenFits(s settings.Settings) error {
	_, err := EncodeToken(worstState(s), s)
	return err
}

// DecodeToken reads a continuation token of the action s. Anything malformed, truncated,
// tampered with or foreign is a configuration error, never a panic.
func DecodeToken(tok string, s settings.Settings, now time.Time) (*State, error) {
	bad := func(format string, args ...any) (*State, error) {
		return nil, failure.New(failure.ErrConfig, "continuation token: "+format, args...)
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
	if body.Version != tokenVersion {
		return bad("version %d, want %d (a token of another deploystep version)", body.Version, tokenVersion)
	}
	if body.Action != Fingerprint(s) {
		return bad("it belongs to another action (other cluster, services, distributions, paths or image)")
	}
	st := &body.State
	if err := st.check(s, now); err != "" {
		return bad("%s", err)
	}
	return st, nil
}
