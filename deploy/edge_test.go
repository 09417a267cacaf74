package deploy

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The edge client's limits, each through a real HTTP server on 127.0.0.1.

func TestEdgeRedirects(t *testing.T) {
	var hits int
	var mu sync.Mutex
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
		var n int
		fmt.Sscan(strings.TrimPrefix(r.URL.Path, "/hop/"), &n)
		switch {
		case r.URL.Path == "/health":
			fmt.Fprint(w, `{"version":"3f2c1ab"}`)
		case strings.HasPrefix(r.URL.Path, "/hop/") && n > 0:
			http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusFound)
		case r.URL.Path == "/hop/0":
			http.Redirect(w, r, "/health", http.StatusMovedPermanently)
		case r.URL.Path == "/to-https":
			http.Redirect(w, r, "https://"+r.Host+"/health", http.StatusFound)
		case r.URL.Path == "/to-metadata":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/iam/security-credentials/", http.StatusFound)
		case r.URL.Path == "/to-metadata-v6":
			http.Redirect(w, r, "http://[fd00:ec2::254]/latest/meta-data/", http.StatusFound)
		}
	}))
	defer srv.Close()
	client := NewEdgeClient(nil)
	for _, c := range []struct {
		path, want string
		match      bool
	}{
		{"/hop/4", "3f2c1ab", true}, // 5 redirects: the limit
		{"/hop/5", "more than 5 redirects", false},
		{"/to-https", "a redirect from http to https://", false},
		{"/to-metadata", "169.254.169.254 is a link-local or instance metadata address", false},
		{"/to-metadata-v6", "fd00:ec2::254 is a link-local or instance metadata address", false},
	} {
		t.Run(c.path, func(t *testing.T) {
			r := readEdge(context.Background(), client, srv.URL+c.path, "3f2c1ab", "")
			if r.Match != c.match || !strings.Contains(r.String(), c.want) || !c.match && !r.refused {
				t.Fatalf("%s: %+v (%s); want match=%v and %q, refused", c.path, r, r, c.match, c.want)
			}
		})
	}
}

func TestEdgeBodyLimitAndVersion(t *testing.T) {
	big := bytes.Repeat([]byte("x"), maxEdgeBody)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/late": // the version after the first MiB is not seen
			w.Write(big)
			fmt.Fprint(w, "3f2c1ab")
		case "/early":
			fmt.Fprint(w, "build 3f2c1ab ")
			w.Write(big)
		case "/header":
			w.Header().Set("X-App-Version", "3f2c1ab")
			w.Header().Set("X-Cache", "Hit from cloudfront")
			w.Header().Set("Age", "42")
			fmt.Fprint(w, `{"version":"0a1b2c3"}`)
		case "/old":
			w.Header().Set("X-Cache", "Hit from cloudfront")
			w.Header().Set("Age", "84")
			w.Header().Set("Via", "1.1 b0c1.cloudfront.net (CloudFront)")
			fmt.Fprint(w, `{"status":"ok","version":"0a1b2c3"}`)
		case "/error":
			w.Header().Set("X-Cache", "Error from cloudfront")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, `{"version":"3f2c1ab"}`)
		}
	}))
	defer srv.Close()
	client := NewEdgeClient(nil)
	for _, c := range []struct {
		path, header string
		match        bool
		want         string
	}{
		{"/late", "", false, "(body over 1 MiB: its first 1 MiB was read)"},
		{"/early", "", true, "with version 3f2c1ab"},
		{"/header", "X-App-Version", true, "with version 3f2c1ab (X-Cache: Hit from cloudfront, Age: 42)"},
		{"/header", "", false, "with version 0a1b2c3"},
		{"/old", "", false, "served 200 with version 0a1b2c3 (X-Cache: Hit from cloudfront, Age: 84, Via: 1.1 b0c1.cloudfront.net (CloudFront))"},
		{"/error", "", false, "served 502 with version 3f2c1ab (X-Cache: Error from cloudfront)"},
	} {
		r := readEdge(context.Background(), client, srv.URL+c.path, "3f2c1ab", c.header)
		if r.Match != c.match || !strings.Contains(r.String(), c.want) {
			t.Errorf("%s header=%q: match=%v %s; want match=%v and %q", c.path, c.header, r.Match, r, c.match, c.want)
		}
	}
}

// A URL's query string and user info never reach the output; no credentials are sent.
func TestEdgeSendsAndPrintsNoSecrets(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	raw := srv.URL + "/api/health?token=s3cr3t-query-token"
	r := readEdge(context.Background(), NewEdgeClient(nil), raw, "", "")
	if strings.Contains(r.String(), "s3cr3t") || !strings.Contains(r.String(), "/api/health?…") {
		t.Errorf("read printed %q", r)
	}
	if got.Get("Authorization") != "" || got.Get("Cookie") != "" || strings.Contains(fmt.Sprint(got), "AKIA") {
		t.Errorf("request carried credentials: %v", got)
	}
	// Unreachable: the transport's error names the URL; only the redacted form is printed.
	r = readEdge(context.Background(), NewEdgeClient(nil), "http://127.0.0.1:1/x?token=s3cr3t", "", "")
	if strings.Contains(r.String(), "s3cr3t") || r.Error == "" {
		t.Errorf("unreachable read printed %q", r)
	}
	s := Settings{VerifyURLs: []string{"https://user:pa55word@d111111abcdef8.cloudfront.net/api/health?sig=s3cr3t"}, VerifyTimeout: time.Minute}
	msg := verifyProblems(s)
	if !strings.Contains(msg, "user info") || strings.Contains(msg, "pa55word") || strings.Contains(msg, "s3cr3t") {
		t.Errorf("validation said %q", msg)
	}
}

func verifyProblems(s Settings) string {
	s.Cluster, s.Services, s.SkipInvalidation, s.Poll = "tsa-gallery", []string{"api"}, true, time.Second
	s.WaitUntil, s.Rollback, s.HookTimeout, s.DigestCheck, s.Output = "completed", "never", time.Minute, "fail", "text"
	if err := s.Validate(); err != nil {
		return err.Error()
	}
	return ""
}

func TestVerifySettings(t *testing.T) {
	for _, c := range []struct {
		s    Settings
		want string
	}{
		{Settings{VerifyURLs: []string{"https://d111111abcdef8.cloudfront.net/api/health"}, VerifyTimeout: 2 * time.Minute}, ""},
		{Settings{VerifyURLs: []string{"ftp://d111111abcdef8.cloudfront.net/x"}, VerifyTimeout: time.Minute}, "only http and https"},
		{Settings{VerifyURLs: []string{"file:///etc/passwd"}, VerifyTimeout: time.Minute}, "only http and https"},
		{Settings{VerifyURLs: []string{"http://169.254.169.254/latest/meta-data/"}, VerifyTimeout: time.Minute}, "link-local or instance metadata"},
		{Settings{VerifyURLs: []string{"https:///nohost"}, VerifyTimeout: time.Minute}, "has no host"},
		{Settings{VerifyURLs: []string{"https://a.example/x", "https://a.example/x"}, VerifyTimeout: time.Minute}, "twice"},
		{Settings{VerifyURLs: []string{"https://a.example/x"}, VerifyHeader: "X Bad", VerifyTimeout: time.Minute}, "VERIFY_HEADER"},
		{Settings{VerifyURLs: []string{"https://a.example/x"}, VerifyTimeout: time.Millisecond}, "VERIFY_TIMEOUT must be between 1s and 1h"},
		{Settings{VerifyURLs: []string{"https://a.example/x"}, VerifyExpect: "a\nb", VerifyTimeout: time.Minute}, "VERIFY_EXPECT"},
	} {
		if got := verifyProblems(c.s); c.want == "" && got != "" || !strings.Contains(got, c.want) {
			t.Errorf("%+v: %q; want %q", c.s.VerifyURLs, got, c.want)
		}
	}
	s := Settings{Image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/tsa/gallery:3f2c1ab"}
	if s.Expected() != "3f2c1ab" {
		t.Errorf("Expected() = %q", s.Expected())
	}
	s.Image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/tsa/gallery@sha256:" + strings.Repeat("a", 64)
	if s.Expected() != "" {
		t.Errorf("a digest IMAGE expects %q; want status-only", s.Expected())
	}
	s.VerifyExpect = "v1.4.2"
	if s.Expected() != "v1.4.2" {
		t.Errorf("VERIFY_EXPECT not taken: %q", s.Expected())
	}
}

// TLS is verified, with the SDK's CA settings: an unknown CA fails; the same CA given as the
// SDK's custom CA bundle (AWS_CA_BUNDLE) passes.
func TestEdgeTLSUsesTheSDKsCABundle(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"version":"3f2c1ab"}`)
	}))
	defer srv.Close()
	r := readEdge(context.Background(), NewEdgeClient(nil), srv.URL+"/api/health", "3f2c1ab", "")
	if r.Match || !strings.Contains(r.Error, "certificate") {
		t.Fatalf("an unknown CA was trusted: %s", r)
	}
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(bundle, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CA_BUNDLE", bundle)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	cfg, err := LoadAWS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r = readEdge(context.Background(), NewEdgeClient(cfg.HTTPClient), srv.URL+"/api/health", "3f2c1ab", "")
	if !r.Match {
		t.Fatalf("with AWS_CA_BUNDLE: %s", r)
	}
}

// The verify phase: backoff, VERIFY_TIMEOUT, and the class of each end.
func TestVerifyEdgePhase(t *testing.T) {
	var mu sync.Mutex
	var times []time.Time
	serveNewAfter := 3
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		times = append(times, time.Now())
		n := len(times)
		mu.Unlock()
		w.Header().Set("X-Cache", "Hit from cloudfront")
		if n > serveNewAfter {
			w.Header().Set("X-Cache", "Miss from cloudfront")
			fmt.Fprint(w, `{"version":"3f2c1ab"}`)
			return
		}
		fmt.Fprint(w, `{"version":"0a1b2c3"}`)
	}))
	defer srv.Close()
	var out bytes.Buffer
	e := &Engine{Settings: Settings{VerifyURLs: []string{srv.URL + "/api/health"}, VerifyExpect: "3f2c1ab", VerifyTimeout: time.Minute,
		Paths: []string{"/*"}}, Report: NewReporter(&out, "text")}
	st := NewState(e.Settings, "", time.Now())
	st.init()
	start := time.Now()
	if err := e.verifyEdge(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	// Reads at 0, 1, 3, 7 s (backoff 1, 2, 4): the fourth serves the new version.
	if len(times) != 4 || st.Verified[0] != "3f2c1ab" {
		t.Fatalf("%d reads, verified %v\n%s", len(times), st.Verified, out.String())
	}
	if gaps := []time.Duration{times[1].Sub(times[0]), times[2].Sub(times[1]), times[3].Sub(times[2])}; gaps[0] < 900*time.Millisecond ||
		gaps[1] < 1900*time.Millisecond || gaps[2] < 3900*time.Millisecond || time.Since(start) > 12*time.Second {
		t.Errorf("backoff gaps %v", gaps)
	}
	if n := strings.Count(out.String(), "waiting for"); n != 1 {
		t.Errorf("the same answer was reported %d times (once expected):\n%s", n, out.String())
	}

	// VERIFY_TIMEOUT: exit 1 (ErrFailed), naming what was served and why.
	mu.Lock()
	times, serveNewAfter = nil, 1000
	mu.Unlock()
	e.Settings.VerifyTimeout, e.Settings.Paths = 2*time.Second, []string{"/static/*"}
	st = NewState(e.Settings, "", time.Now())
	st.init()
	err := e.verifyEdge(context.Background(), st)
	if !errors.Is(err, ErrFailed) || ExitCode(err) != 1 || !strings.Contains(err.Error(), "within VERIFY_TIMEOUT (2s)") ||
		!strings.Contains(err.Error(), "with version 0a1b2c3 (X-Cache: Hit from cloudfront)") ||
		!strings.Contains(err.Error(), "INVALIDATION_PATHS (/static/*) does not cover /api/health") {
		t.Fatalf("err = %v", err)
	}
	if len(times) < 2 || len(times) > 3 {
		t.Errorf("%d reads in a 2s VERIFY_TIMEOUT", len(times))
	}
}
