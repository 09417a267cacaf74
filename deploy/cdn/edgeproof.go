package cdn

// The verify step: after the invalidations complete, the release is proven where users meet it.
// Each VERIFY_URL is read (package edge) until it answers 2xx with the expected version
// (VERIFY_EXPECT, default IMAGE's tag) in its body or in the VERIFY_HEADER header, with backoff
// from 1 s to 10 s, for at most VERIFY_TIMEOUT (across Lambda invocations) and the run's own
// limit. A failure says what the edge served and why (edgeHint).

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/deploystep/deploystep/deploy/edge"
	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/report"
	"github.com/deploystep/deploystep/deploy/settings"
	"github.com/deploystep/deploystep/deploy/state"
	"github.com/deploystep/deploystep/deploy/step"
)

// Verify runs the verify step: every URL not yet verified is read until it matches;
// VERIFY_TIMEOUT runs from the step's first start (kept in st across invocations).
func Verify(ctx context.Context, h *step.Host, st *state.State) error {
	if len(st.Paused()) > 0 {
		return nil // production traffic has not moved: the answering step proves the edge
	}
	if st.VerifyStarted.IsZero() {
		st.VerifyStarted = h.Now()
	}
	what := Want(h)
	limit := st.VerifyStarted.Add(h.Settings.VerifyTimeout)
	last := map[string]edge.Answer{}
	b := step.Backoff{First: time.Second, Max: 10 * time.Second, Until: limit}
	err := h.Wait(ctx, "verifying the edge", report.Event{}, b, func(ctx context.Context) (bool, error) {
		pending := 0
		for i, u := range h.Settings.VerifyURLs {
			if _, done := st.Verified[i]; done {
				continue
			}
			a := edge.Read(ctx, edgeClient(h), u, h.Settings.Expected(), h.Settings.VerifyHeader)
			if ctx.Err() != nil {
				h.SetWaiting("edge", fmt.Sprintf("%s to serve %s; last: %s", edge.Redact(u), what, last[u]))
				return false, ctx.Err()
			}
			switch {
			case a.Match:
				st.Verified[i] = a.Version
				h.Emit(report.Event{Kind: report.KindProgress, Message: "verified: " + a.String()})
				continue
			case a.Refused:
				return false, failure.New(failure.ErrFailed, "edge verification: %s", a)
			}
			if prev, seen := last[u]; !seen || !prev.Same(a) {
				h.Emit(report.Event{Kind: report.KindProgress, Message: fmt.Sprintf("waiting for %s: %s", what, a)})
			}
			last[u] = a
			pending++
		}
		if pending == 0 {
			h.SetWaiting("edge", "")
			return true, nil
		}
		h.SetWaiting("edge", "the edge to serve "+what)
		if !h.Now().Before(limit) {
			var msgs []string
			for i, u := range h.Settings.VerifyURLs {
				if _, done := st.Verified[i]; !done {
					msgs = append(msgs, last[u].String()+edgeHint(ctx, h, st, u, last[u]))
				}
			}
			return false, failure.New(failure.ErrFailed, "edge verification: not %s within VERIFY_TIMEOUT (%v): %s", what, h.Settings.VerifyTimeout, strings.Join(msgs, "; "))
		}
		return false, nil
	})
	return err
}

// Want says what the edge must serve.
func Want(h *step.Host) string {
	expect := h.Settings.Expected()
	if expect == "" {
		return "status 2xx"
	}
	what := fmt.Sprintf("status 2xx with version %s", expect)
	if h.Settings.VerifyHeader != "" {
		what += " in " + h.Settings.VerifyHeader
	}
	return what
}

// DryRun reads each URL once and says what it serves now (no waiting, no verdict: the
// release has not happened yet).
func DryRun(ctx context.Context, h *step.Host) {
	expect := h.Settings.Expected()
	for _, u := range h.Settings.VerifyURLs {
		a := edge.Read(ctx, edgeClient(h), u, expect, h.Settings.VerifyHeader)
		msg := "dry run: " + a.String()
		if expect != "" {
			msg += fmt.Sprintf("; after the release it must serve version %s", expect)
		}
		h.Emit(report.Event{Kind: report.KindProgress, Phase: state.PhaseVerify, Message: msg})
	}
}

// edgeHint explains a failed read from its cache headers: a cached copy the release's
// invalidation did not cover, or an error from the origin behind the edge.
func edgeHint(ctx context.Context, h *step.Host, st *state.State, raw string, a edge.Answer) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	switch {
	case a.Hit() && h.Settings.SkipInvalidation:
		return "; no invalidation was made (-skip-invalidation), so the edge serves its cached copy until it expires"
	case a.Hit() && h.Settings.InvalidationMode() == settings.ModePaths && !pathsCover(h.Settings.Paths, path):
		return fmt.Sprintf("; INVALIDATION_PATHS (%s) does not cover %s, so the edge serves its cached copy until it expires", strings.Join(h.Settings.Paths, " "), path)
	case a.Hit() && h.Settings.InvalidationMode() != settings.ModePaths:
		return cacheHint(ctx, h, st, path)
	case a.Hit():
		return "; the edge served a copy cached after the invalidation: the origin still served the old version then"
	case a.FromOriginError():
		return fmt.Sprintf("; the origin behind the edge answered %d (the new revision, or its load balancer, fails where users reach it)", a.Status)
	}
	return ""
}

// pathsCover reports whether an invalidation of paths covers path (exact, or a prefix ending in *).
func pathsCover(paths []string, path string) bool {
	for _, p := range paths {
		if p == path || strings.HasSuffix(p, "*") && strings.HasPrefix(path, strings.TrimSuffix(p, "*")) {
			return true
		}
	}
	return false
}

func edgeClient(h *step.Host) *http.Client {
	if h.Edge == nil {
		h.Edge = edge.NewClient(nil) // set once, before the verify step's fetches
	}
	return h.Edge
}

// VerifiedVersion is the version the edge served at the first URL, once all are verified.
func VerifiedVersion(s settings.Settings, st *state.State) string {
	if len(s.VerifyURLs) == 0 || len(st.Verified) < len(s.VerifyURLs) {
		return ""
	}
	return st.Verified[0]
}
