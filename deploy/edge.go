package deploy

// Edge verification: after the invalidations complete, the release is proven where users meet
// it. Each VERIFY_URL is fetched until it answers 2xx with the expected version (VERIFY_EXPECT,
// default IMAGE's tag) in its body or in the VERIFY_HEADER header, with backoff from 1 s to 10 s,
// for at most VERIFY_TIMEOUT (across Lambda invocations) and the run's own limit. A failure says
// what the edge served: status, the version seen, and the cache headers that explain it.
//
// The HTTP client is safe by construction: http and https only; TLS verified with the SDK's CA
// settings (AWS_CA_BUNDLE, ca_bundle); at most 5 redirects, never to another scheme; no
// connection to a link-local or instance metadata address, whatever a redirect or DNS says;
// bodies read up to 1 MiB; no credentials sent (a URL with user info is refused); a URL's query
// string is never printed.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

const (
	maxVerifyURLs    = 20
	maxEdgeBody      = 1 << 20
	maxEdgeRedirects = 5
	edgeFirstBackoff = time.Second
	edgeMaxBackoff   = 10 * time.Second
	edgeRequestLimit = 10 * time.Second
)

var headerNameRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")

// errEdgeRefused marks what the client refuses by construction (a redirect to another scheme
// or past the limit, a link-local or metadata address): waiting cannot change it.
var errEdgeRefused = errors.New("refused")

// checkVerifyURL says what is wrong with a VERIFY_URL, or "".
func checkVerifyURL(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil || len(raw) > 2048:
		return fmt.Sprintf("%q is not a URL", clip(raw))
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("%s: only http and https URLs are fetched", redactURL(raw))
	case u.User != nil:
		return fmt.Sprintf("%s: a URL with user info (credentials) is refused: deploystep sends no credentials", redactURL(raw))
	case u.Hostname() == "":
		return fmt.Sprintf("%q has no host", clip(raw))
	}
	if ip := net.ParseIP(u.Hostname()); ip != nil && forbiddenIP(ip) {
		return fmt.Sprintf("%s: a link-local or instance metadata address is never fetched", redactURL(raw))
	}
	return ""
}

// redactURL is a URL as it may be printed: scheme, host and path; the query string (which may
// carry tokens) and any user info are left out.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	out := u.Scheme + "://" + u.Host + u.EscapedPath()
	if u.RawQuery != "" || u.ForceQuery {
		out += "?…"
	}
	return clipTo(out, 200)
}

// metadataIPs are the instance and container metadata endpoints that are not link-local.
var metadataIPs = []net.IP{net.ParseIP("fd00:ec2::254"), net.ParseIP("fd00:ec2::23")}

func forbiddenIP(ip net.IP) bool {
	if ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() {
		return true // 169.254.0.0/16 (169.254.169.254, 169.254.170.2) and fe80::/10
	}
	for _, m := range metadataIPs {
		if ip.Equal(m) {
			return true
		}
	}
	return false
}

// NewEdgeClient is the HTTP client for VERIFY_URL: the SDK's transport (its TLS and CA
// settings, proxy from the environment) with connections to forbidden addresses refused at
// dial time, the redirect rules above, and a per-request limit.
func NewEdgeClient(sdk aws.HTTPClient) *http.Client {
	var tr *http.Transport
	if bc, ok := sdk.(*awshttp.BuildableClient); ok {
		tr = bc.GetTransport()
	} else {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		host, _, _ := net.SplitHostPort(address)
		if ip := net.ParseIP(host); ip != nil && forbiddenIP(ip) {
			return fmt.Errorf("%w: %s is a link-local or instance metadata address", errEdgeRefused, host)
		}
		return nil
	}}
	tr.DialContext = dialer.DialContext
	return &http.Client{
		Transport: tr,
		Timeout:   edgeRequestLimit,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > maxEdgeRedirects {
				return fmt.Errorf("%w: more than %d redirects", errEdgeRefused, maxEdgeRedirects)
			}
			if req.URL.Scheme != via[0].URL.Scheme {
				return fmt.Errorf("%w: a redirect from %s to %s (another scheme)", errEdgeRefused, via[0].URL.Scheme, redactURL(req.URL.String()))
			}
			if req.URL.User != nil {
				return fmt.Errorf("%w: a redirect to a URL with user info", errEdgeRefused)
			}
			return nil
		},
	}
}

// EdgeRead is what one GET of a VERIFY_URL saw.
type EdgeRead struct {
	URL       string `json:"url"` // redacted
	Status    int    `json:"status,omitempty"`
	Version   string `json:"version,omitempty"` // the version seen (header, JSON "version", or the expected one found in the body)
	Match     bool   `json:"match"`
	XCache    string `json:"xCache,omitempty"`
	Age       string `json:"age,omitempty"`
	Via       string `json:"via,omitempty"`
	Truncated bool   `json:"truncated,omitempty"` // the body was over 1 MiB; its first 1 MiB was read
	Error     string `json:"error,omitempty"`
	refused   bool
}

// String is a read as a message says it.
func (r EdgeRead) String() string {
	if r.Error != "" {
		return r.URL + ": " + r.Error
	}
	msg := fmt.Sprintf("%s served %d", r.URL, r.Status)
	if r.Version != "" {
		msg += " with version " + r.Version
	} else {
		msg += " with no version seen"
	}
	var cache []string
	for _, h := range [][2]string{{"X-Cache", r.XCache}, {"Age", r.Age}, {"Via", r.Via}} {
		if h[1] != "" {
			cache = append(cache, h[0]+": "+h[1])
		}
	}
	if len(cache) > 0 {
		msg += " (" + strings.Join(cache, ", ") + ")"
	}
	if r.Truncated {
		msg += " (body over 1 MiB: its first 1 MiB was read)"
	}
	return msg
}

// same reports whether two reads would be told the same way (progress is said on change).
func (r EdgeRead) same(o EdgeRead) bool {
	return r.Status == o.Status && r.Version == o.Version && r.XCache == o.XCache && r.Error == o.Error && r.Match == o.Match
}

// readEdge GETs one URL and judges it against expect (in the header named header, or the body).
func readEdge(ctx context.Context, client *http.Client, raw, expect, header string) EdgeRead {
	r := EdgeRead{URL: redactURL(raw)}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		r.Error, r.refused = "not a URL", true
		return r
	}
	req.Header.Set("User-Agent", "deploystep/edge-verification")
	req.Header.Set("Accept", "application/json, text/plain;q=0.9, */*;q=0.8")
	resp, err := client.Do(req)
	if err != nil {
		r.refused = errors.Is(err, errEdgeRefused)
		r.Error = edgeError(err)
		return r
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxEdgeBody+1))
	if len(body) > maxEdgeBody {
		body, r.Truncated = body[:maxEdgeBody], true
	}
	r.Status = resp.StatusCode
	r.XCache, r.Age, r.Via = clipTo(resp.Header.Get("X-Cache"), 200), clipTo(resp.Header.Get("Age"), 20), clipTo(resp.Header.Get("Via"), 200)
	ok2xx := resp.StatusCode >= 200 && resp.StatusCode < 300
	if header != "" {
		r.Version = clipTo(printable(resp.Header.Get(header)), 200)
		r.Match = ok2xx && (expect == "" || strings.Contains(resp.Header.Get(header), expect))
		return r
	}
	r.Version = bodyVersion(body, expect)
	r.Match = ok2xx && (expect == "" || strings.Contains(string(body), expect))
	return r
}

// bodyVersion is the version a body shows: a JSON object's "version" field, else the expected
// version when the body carries it, else "".
func bodyVersion(body []byte, expect string) string {
	var doc struct {
		Version any `json:"version"`
	}
	if json.Unmarshal(body, &doc) == nil && doc.Version != nil {
		return clipTo(printable(fmt.Sprint(doc.Version)), 200)
	}
	if expect != "" && strings.Contains(string(body), expect) {
		return expect
	}
	return ""
}

// printable keeps a value from the network fit for one log line.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// edgeError says what a failed GET met, without the URL's query string (url.Error carries the
// full URL: it is replaced by its redacted form).
func edgeError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := err.Error()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		msg = fmt.Sprintf("no answer within %v", edgeRequestLimit)
	}
	return clipTo(printable(msg), 300)
}

// verifyEdge runs the edge verification phase: every URL not yet verified is read until it
// matches; VERIFY_TIMEOUT runs from the phase's first start (kept in st across invocations).
func (e *Engine) verifyEdge(ctx context.Context, st *State) error {
	if st.VerifyStarted.IsZero() {
		st.VerifyStarted = e.now()
	}
	expect := e.Settings.Expected()
	what := "status 2xx"
	if expect != "" {
		what = fmt.Sprintf("status 2xx with version %s", expect)
		if e.Settings.VerifyHeader != "" {
			what += " in " + e.Settings.VerifyHeader
		}
	}
	limit := st.VerifyStarted.Add(e.Settings.VerifyTimeout)
	last := map[string]EdgeRead{}
	backoff := edgeFirstBackoff
	for {
		pending := 0
		for i, u := range e.Settings.VerifyURLs {
			if _, done := st.Verified[i]; done {
				continue
			}
			r := readEdge(ctx, e.edge(), u, expect, e.Settings.VerifyHeader)
			if ctx.Err() != nil {
				e.setWaiting("edge", fmt.Sprintf("%s to serve %s; last: %s", redactURL(u), what, last[u]))
				return ctx.Err()
			}
			switch {
			case r.Match:
				st.Verified[i] = r.Version
				e.emit(Event{Kind: KindProgress, Message: "verified: " + r.String()})
				continue
			case r.refused:
				return newError(ErrFailed, "edge verification: %s", r)
			}
			if prev, seen := last[u]; !seen || !prev.same(r) {
				e.emit(Event{Kind: KindProgress, Message: fmt.Sprintf("waiting for %s: %s", what, r)})
			}
			last[u] = r
			pending++
		}
		if pending == 0 {
			e.setWaiting("edge", "")
			return nil
		}
		e.setWaiting("edge", "the edge to serve "+what)
		left := limit.Sub(e.now())
		if left <= 0 {
			var msgs []string
			for i, u := range e.Settings.VerifyURLs {
				if _, done := st.Verified[i]; !done {
					msgs = append(msgs, last[u].String()+e.edgeHint(u, last[u]))
				}
			}
			return newError(ErrFailed, "edge verification: not %s within VERIFY_TIMEOUT (%v): %s", what, e.Settings.VerifyTimeout, strings.Join(msgs, "; "))
		}
		if err := sleep(ctx, min(backoff, left)); err != nil {
			return err
		}
		backoff = min(backoff*2, edgeMaxBackoff)
	}
}

// dryRunEdge reads each URL once and says what it serves now (no waiting, no verdict: the
// release has not happened yet).
func (e *Engine) dryRunEdge(ctx context.Context) {
	expect := e.Settings.Expected()
	for _, u := range e.Settings.VerifyURLs {
		r := readEdge(ctx, e.edge(), u, expect, e.Settings.VerifyHeader)
		msg := "dry run: " + r.String()
		if expect != "" {
			msg += fmt.Sprintf("; after the release it must serve version %s", expect)
		}
		e.emit(Event{Kind: KindProgress, Phase: PhaseVerify, Message: msg})
	}
}

// edgeHint explains a failed read from its cache headers: a cached copy the release's
// invalidation did not cover, or an error from the origin behind the edge.
func (e *Engine) edgeHint(raw string, r EdgeRead) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	x := strings.ToLower(r.XCache)
	switch {
	case strings.HasPrefix(x, "hit") && e.Settings.SkipInvalidation:
		return "; no invalidation was made (-skip-invalidation), so the edge serves its cached copy until it expires"
	case strings.HasPrefix(x, "hit") && !pathsCover(e.Settings.Paths, path):
		return fmt.Sprintf("; INVALIDATION_PATHS (%s) does not cover %s, so the edge serves its cached copy until it expires", strings.Join(e.Settings.Paths, " "), path)
	case strings.HasPrefix(x, "hit"):
		return "; the edge served a copy cached after the invalidation: the origin still served the old version then"
	case strings.HasPrefix(x, "error") && r.Status >= 500:
		return fmt.Sprintf("; the origin behind the edge answered %d (the new revision, or its load balancer, fails where users reach it)", r.Status)
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
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.Edge == nil {
		e.Edge = NewEdgeClient(nil)
	}
	return e.Edge
}

// verifiedVersion is the version the edge served at the first URL, once all are verified.
func verifiedVersion(s Settings, st *State) string {
	if len(s.VerifyURLs) == 0 || len(st.Verified) < len(s.VerifyURLs) {
		return ""
	}
	return st.Verified[0]
}
