// Package edge reads a release's URLs where users meet them (CloudFront's edge) with an HTTP
// client that is safe by construction, and says what each answer shows: its status, the version
// it carries, and the cache headers that explain it. It knows nothing of deploystep's settings or
// phases; package deploy waits on it (VERIFY_URL).
//
// The client: http and https only; TLS verified with the SDK's CA settings (AWS_CA_BUNDLE,
// ca_bundle); at most 5 redirects, never to another scheme; no connection to a link-local or
// instance metadata address, whatever a redirect or DNS says; bodies read up to 1 MiB; no
// credentials sent (a URL with user info is refused); a URL's query string is never printed.
package edge

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

// Limits.
const (
	MaxURLs      = 20
	MaxBody      = 1 << 20
	MaxRedirects = 5
	RequestLimit = 10 * time.Second
)

var headerNameRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")

// ValidHeader reports whether name is an HTTP header name.
func ValidHeader(name string) bool { return headerNameRE.MatchString(name) }

// ErrRefused marks what the client refuses by construction (a redirect to another scheme or past
// the limit, a link-local or metadata address): waiting cannot change it.
var ErrRefused = errors.New("refused")

// Check says what is wrong with a URL to read, or "".
func Check(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil || len(raw) > 2048:
		return fmt.Sprintf("%q is not a URL", clip(raw, 64))
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("%s: only http and https URLs are fetched", Redact(raw))
	case u.User != nil:
		return fmt.Sprintf("%s: a URL with user info (credentials) is refused: deploystep sends no credentials", Redact(raw))
	case u.Hostname() == "":
		return fmt.Sprintf("%q has no host", clip(raw, 64))
	}
	if ip := net.ParseIP(u.Hostname()); ip != nil && forbiddenIP(ip) {
		return fmt.Sprintf("%s: a link-local or instance metadata address is never fetched", Redact(raw))
	}
	return ""
}

// Redact is a URL as it may be printed: scheme, host and path; the query string (which may carry
// tokens) and any user info are left out.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	out := u.Scheme + "://" + u.Host + u.EscapedPath()
	if u.RawQuery != "" || u.ForceQuery {
		out += "?…"
	}
	return clip(out, 200)
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

// NewClient is the HTTP client for the reads: the SDK's transport (its TLS and CA settings,
// proxy from the environment; nil: the default transport) with connections to forbidden
// addresses refused at dial time, the redirect rules above, and a per-request limit.
func NewClient(sdk aws.HTTPClient) *http.Client {
	var tr *http.Transport
	if bc, ok := sdk.(*awshttp.BuildableClient); ok {
		tr = bc.GetTransport()
	} else {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		host, _, _ := net.SplitHostPort(address)
		if ip := net.ParseIP(host); ip != nil && forbiddenIP(ip) {
			return fmt.Errorf("%w: %s is a link-local or instance metadata address", ErrRefused, host)
		}
		return nil
	}}
	tr.DialContext = dialer.DialContext
	return &http.Client{
		Transport: tr,
		Timeout:   RequestLimit,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > MaxRedirects {
				return fmt.Errorf("%w: more than %d redirects", ErrRefused, MaxRedirects)
			}
			if req.URL.Scheme != via[0].URL.Scheme {
				return fmt.Errorf("%w: a redirect from %s to %s (another scheme)", ErrRefused, via[0].URL.Scheme, Redact(req.URL.String()))
			}
			if req.URL.User != nil {
				return fmt.Errorf("%w: a redirect to a URL with user info", ErrRefused)
			}
			return nil
		},
	}
}

// Answer is what one GET of a URL saw.
type Answer struct {
	URL       string `json:"url"` // redacted
	Status    int    `json:"status,omitempty"`
	Version   string `json:"version,omitempty"` // the version seen (header, JSON "version", or the expected one found in the body)
	Match     bool   `json:"match"`
	XCache    string `json:"xCache,omitempty"`
	Age       string `json:"age,omitempty"`
	Via       string `json:"via,omitempty"`
	Truncated bool   `json:"truncated,omitempty"` // the body was over 1 MiB; its first 1 MiB was read
	Error     string `json:"error,omitempty"`
	// Refused says the client refused the read by construction: waiting cannot change it.
	Refused bool `json:"-"`
}

// String is an answer as a message says it.
func (a Answer) String() string {
	if a.Error != "" {
		return a.URL + ": " + a.Error
	}
	msg := fmt.Sprintf("%s served %d", a.URL, a.Status)
	if a.Version != "" {
		msg += " with version " + a.Version
	} else {
		msg += " with no version seen"
	}
	var cache []string
	for _, h := range [][2]string{{"X-Cache", a.XCache}, {"Age", a.Age}, {"Via", a.Via}} {
		if h[1] != "" {
			cache = append(cache, h[0]+": "+h[1])
		}
	}
	if len(cache) > 0 {
		msg += " (" + strings.Join(cache, ", ") + ")"
	}
	if a.Truncated {
		msg += " (body over 1 MiB: its first 1 MiB was read)"
	}
	return msg
}

// Same reports whether two answers would be told the same way (progress is said on change).
func (a Answer) Same(o Answer) bool {
	return a.Status == o.Status && a.Version == o.Version && a.XCache == o.XCache && a.Error == o.Error && a.Match == o.Match
}

// Hit, ErrorFromEdge: what X-Cache says of the answer.
func (a Answer) Hit() bool { return strings.HasPrefix(strings.ToLower(a.XCache), "hit") }

// FromOriginError reports an error answer that CloudFront relayed from the origin.
func (a Answer) FromOriginError() bool {
	return strings.HasPrefix(strings.ToLower(a.XCache), "error") && a.Status >= 500
}

// Read GETs one URL and judges the answer against expect ("" for status-only), in the header
// named header, or else in the body.
func Read(ctx context.Context, client *http.Client, raw, expect, header string) Answer {
	a := Answer{URL: Redact(raw)}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		a.Error, a.Refused = "not a URL", true
		return a
	}
	req.Header.Set("User-Agent", "deploystep/edge-verification")
	req.Header.Set("Accept", "application/json, text/plain;q=0.9, */*;q=0.8")
	resp, err := client.Do(req)
	if err != nil {
		a.Refused = errors.Is(err, ErrRefused)
		a.Error = describe(err)
		return a
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if len(body) > MaxBody {
		body, a.Truncated = body[:MaxBody], true
	}
	a.Status = resp.StatusCode
	a.XCache, a.Age, a.Via = clip(resp.Header.Get("X-Cache"), 200), clip(resp.Header.Get("Age"), 20), clip(resp.Header.Get("Via"), 200)
	ok2xx := resp.StatusCode >= 200 && resp.StatusCode < 300
	if header != "" {
		a.Version = clip(printable(resp.Header.Get(header)), 200)
		a.Match = ok2xx && (expect == "" || strings.Contains(resp.Header.Get(header), expect))
		return a
	}
	a.Version = bodyVersion(body, expect)
	a.Match = ok2xx && (expect == "" || strings.Contains(string(body), expect))
	return a
}

// bodyVersion is the version a body shows: a JSON object's "version" field, else the expected
// version when the body carries it, else "".
func bodyVersion(body []byte, expect string) string {
	var doc struct {
		Version any `json:"version"`
	}
	if json.Unmarshal(body, &doc) == nil && doc.Version != nil {
		return clip(printable(fmt.Sprint(doc.Version)), 200)
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

// describe says what a failed GET met, without the URL's query string (url.Error carries the
// full URL: it is left out).
func describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := err.Error()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		msg = fmt.Sprintf("no answer within %v", RequestLimit)
	}
	return clip(printable(msg), 300)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n-3] + "..."
	}
	return s
}
