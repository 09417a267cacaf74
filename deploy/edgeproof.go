package deploy

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

	"deploystep/deploy/edge"
	"deploystep/deploy/failure"
	"deploystep/deploy/report"
	"deploystep/deploy/settings"
	"deploystep/deploy/state"
	"deploystep/deploy/step"
)

// verifyEdge runs the verify step: every URL not yet verified is read until it matches;
// VERIFY_TIMEOUT runs from the step's first start (kept in st across invocations).
func (e *Engine) verifyEdge(ctx context.Context, st *state.State) error {
	if len(st.Paused()) > 0 {
		return nil // production traffic has not moved: the answering step proves the edge
	}
	if st.VerifyStarted.IsZero() {
		st.VerifyStarted = e.Now()
	}
	what := e.edgeWant()
	limit := st.VerifyStarted.Add(e.Settings.VerifyTimeout)
	last := map[string]edge.Answer{}
	b := step.Backoff{First: time.Second, Max: 10 * time.Second, Until: limit}
	err := e.Wait(ctx, "verifying the edge", report.Event{}, b, func(ctx context.Context) (bool, error) {
		pending := 0
		for i, u := range e.Settings.VerifyURLs {
			if _, done := st.Verified[i]; done {
				continue
			}
			a := edge.Read(ctx, e.edge(), u, e.Settings.Expected(), e.Settings.VerifyHeader)
			if ctx.Err() != nil {
				e.SetWaiting("edge", fmt.Sprintf("%s to serve %s; last: %s", edge.Redact(u), what, last[u]))
				return false, ctx.Err()
			}
			switch {
			case a.Match:
				st.Verified[i] = a.Version
				e.Emit(report.Event{Kind: report.KindProgress, Message: "verified: " + a.String()})
				continue
			case a.Refused:
				return false, failure.New(failure.ErrFailed, "edge verification: %s", a)
			}
			if prev, seen := last[u]; !seen || !prev.Same(a) {
				e.Emit(report.Event{Kind: report.KindProgress, Message: fmt.Sprintf("waiting for %s: %s", what, a)})
			}
			last[u] = a
			pending++
		}
		if pending == 0 {
			e.SetWaiting("edge", "")
			return true, nil
		}
		e.SetWaiting("edge", "the edge to serve "+what)
		if !e.Now().Before(limit) {
			var msgs []string
			for i, u := range e.Settings.VerifyURLs {
				if _, done := st.Verified[i]; !done {
					msgs = append(msgs, last[u].String()+e.edgeHint(ctx, st, u, last[u]))
				}
			}
			return false, failure.New(failure.ErrFailed, "edge verification: not %s within VERIFY_TIMEOUT (%v): %s", what, e.Settings.VerifyTimeout, strings.Join(msgs, "; "))
		}
		return false, nil
	})
	return err
}

// edgeWant says what the edge must serve.
func (e *Engine) edgeWant() string {
	expect := e.Settings.Expected()
	if expect == "" {
		return "status 2xx"
	}
	what := fmt.Sprintf("status 2xx with version %s", expect)
	if e.Settings.VerifyHeader != "" {
		what += " in " + e.Settings.VerifyHeader
	}
	return what
}

// dryRunEdge reads each URL once and says what it serves now (no waiting, no verdict: the
// release has not happened yet).
func (e *Engine) dryRunEdge(ctx context.Context) {
	expect := e.Settings.Expected()
	for _, u := range e.Settings.VerifyURLs {
		a := edge.Read(ctx, e.edge(), u, expect, e.Settings.VerifyHeader)
		msg := "dry run: " + a.String()
		if expect != "" {
			msg += fmt.Sprintf("; after the release it must serve version %s", expect)
		}
		e.Emit(report.Event{Kind: report.KindProgress, Phase: state.PhaseVerify, Message: msg})
	}
}

// edgeHint explains a failed read from its cache headers: a cached copy the release's
// invalidation did not cover, or an error from the origin behind the edge.
func (e *Engine) edgeHint(ctx context.Context, st *state.State, raw string, a edge.Answer) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	switch {
	case a.Hit() && e.Settings.SkipInvalidation:
		return "; no invalidation was made (-skip-invalidation), so the edge serves its cached copy until it expires"
	case a.Hit() && e.Settings.InvalidationMode() == settings.ModePaths && !pathsCover(e.Settings.Paths, path):
		return fmt.Sprintf("; INVALIDATION_PATHS (%s) does not cover %s, so the edge serves its cached copy until it expires", strings.Join(e.Settings.Paths, " "), path)
	case a.Hit() && e.Settings.InvalidationMode() != settings.ModePaths:
		return e.cacheHint(ctx, st, path)
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

func (e *Engine) edge() *http.Client {
	if e.Edge == nil {
		e.Edge = edge.NewClient(nil) // set once, before the verify step's fetches
	}
	return e.Edge
}

// verifiedVersion is the version the edge served at the first URL, once all are verified.
func verifiedVersion(s settings.Settings, st *state.State) string {
	if len(s.VerifyURLs) == 0 || len(st.Verified) < len(s.VerifyURLs) {
		return ""
	}
	return st.Verified[0]
}
