package state

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/deploystep/deploystep/deploy/settings"
)

// Identity names one release. It is derived once, when a run starts, from the key the caller
// gives (the CodeBuild build id, or the first CodePipeline job id) and a fingerprint of what the
// run changes (cluster, services, distributions, paths, image). It is the one owner of both
// idempotency handles:
//
//   - Marker, written into the service tag before UpdateService, lets a re-run of the same
//     release adopt the deployment it started instead of starting another;
//   - CallerRef, the CloudFront CallerReference, makes CreateInvalidation return the release's
//     invalidation when it is sent again.
//
// Running the same step again (same key, same settings) is the same release and resumes. Another
// step in the same build (another service, distribution, path set or image) is another release:
// its own deployment and its own invalidation.
type Identity struct {
	// Key is the build or first job id; "" for a one-off run, which has no re-run to find.
	Key string `json:"k,omitempty"`
	// Marker is hash(key, fingerprint); "" without a key.
	Marker string `json:"m,omitempty"`
	// CallerRef is the invalidations' CallerReference.
	CallerRef string `json:"r"`
}

// NewIdentity derives the identity of the release s describes, run under key. CALLER_REFERENCE,
// when set, is taken as it is.
func NewIdentity(s settings.Settings, key string) Identity {
	fp := Fingerprint(s)
	id := Identity{Key: key}
	if key != "" {
		sum := sha256.Sum256([]byte(key + "\x00" + fp))
		id.Marker = hex.EncodeToString(sum[:8])
	}
	switch {
	case s.CallerReference != "":
		id.CallerRef = s.CallerReference
	case key != "":
		// Readable where it fits: deploystep-<key>-<fingerprint>; a long key is hashed so that two
		// keys with a common prefix never share a reference.
		id.CallerRef = "deploystep-" + key + "-" + fp[:12]
		if len(id.CallerRef) > 128 {
			sum := sha256.Sum256([]byte(key))
			id.CallerRef = "deploystep-" + hex.EncodeToString(sum[:16]) + "-" + fp[:12]
		}
	default:
		b := make([]byte, 6)
		rand.Read(b) //nolint:errcheck // crypto/rand never fails on Linux
		id.CallerRef = fmt.Sprintf("deploystep-%d-%s", time.Now().Unix(), hex.EncodeToString(b))
	}
	return id
}

// Fingerprint identifies what a run changes; a continuation token is bound to it too.
func Fingerprint(s settings.Settings) string {
	h := sha256.New()
	for _, part := range [][]string{{s.Cluster}, s.Services, s.Distributions, s.Paths, s.Tags, {s.Image}, {s.TaskDefinition}} {
		fmt.Fprintf(h, "%q\x00", strings.Join(part, ","))
	}
	if s.DesiredCount != nil {
		fmt.Fprintf(h, "desired=%d\x00", *s.DesiredCount)
	}
	if s.HookAnswer != "" { // the answering step is a release of its own (its own invalidation)
		fmt.Fprintf(h, "answer=%s\x00", s.HookAnswer)
	}
	if s.PredeployCommand != "" { // another migration is another release
		fmt.Fprintf(h, "predeploy=%q,%q,%q\x00", s.PredeployCommand, s.PredeployContainer, s.PredeployOn())
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}
