package edge_test

// The edge client's limits, each through a real HTTP server on 127.0.0.1.

import (
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/deploystep/deploystep/deploy"
	"github.com/deploystep/deploystep/deploy/edge"
)

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
	client := edge.NewClient(nil)
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
			r := edge.Read(context.Background(), client, srv.URL+c.path, "3f2c1ab", "")
			if r.Match != c.match || !strings.Contains(r.String(), c.want) || !c.match && !r.Refused {
				t.Fatalf("%s: %+v (%s); want match=%v and %q, refused", c.path, r, r, c.match, c.want)
			}
		})
	}
}

func TestEdgeBodyLimitAndVersion(t *testing.T) {
	big := bytes.Repeat([]byte("x"), edge.MaxBody)
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
	client := edge.NewClient(nil)
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
		r := edge.Read(context.Background(), client, srv.URL+c.path, "3f2c1ab", c.header)
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
	r := edge.Read(context.Background(), edge.NewClient(nil), raw, "", "")
	if strings.Contains(r.String(), "s3cr3t") || !strings.Contains(r.String(), "/api/health?…") {
		t.Errorf("read printed %q", r)
	}
	if got.Get("Authorization") != "" || got.Get("Cookie") != "" || strings.Contains(fmt.Sprint(got), "AKIA") {
		t.Errorf("request carried credentials: %v", got)
	}
	// Unreachable: the transport's error names the URL; only the redacted form is printed.
	r = edge.Read(context.Background(), edge.NewClient(nil), "http://127.0.0.1:1/x?token=s3cr3t", "", "")
	if strings.Contains(r.String(), "s3cr3t") || r.Error == "" {
		t.Errorf("unreachable read printed %q", r)
	}
}

// TLS is verified, with the SDK's CA settings: an unknown CA fails; the same CA given as the
// SDK's custom CA bundle (AWS_CA_BUNDLE) passes.
func TestEdgeTLSUsesTheSDKsCABundle(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"version":"3f2c1ab"}`)
	}))
	defer srv.Close()
	r := edge.Read(context.Background(), edge.NewClient(nil), srv.URL+"/api/health", "3f2c1ab", "")
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
	cfg, err := deploy.LoadAWS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r = edge.Read(context.Background(), edge.NewClient(cfg.HTTPClient), srv.URL+"/api/health", "3f2c1ab", "")
	if !r.Match {
		t.Fatalf("with AWS_CA_BUNDLE: %s", r)
	}
}
