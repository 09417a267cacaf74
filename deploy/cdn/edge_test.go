package cdn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/report"
	"github.com/deploystep/deploystep/deploy/settings"
	"github.com/deploystep/deploystep/deploy/state"
	"github.com/deploystep/deploystep/deploy/step"
)

// A URL's query string and user info never reach a validation message.
func TestVerifyURLSecretsNotPrinted(t *testing.T) {
	s := settings.Settings{VerifyURLs: []string{"https://user:pa55word@d111111abcdef8.cloudfront.net/api/health?sig=s3cr3t"}, VerifyTimeout: time.Minute}
	msg := verifyProblems(s)
	if !strings.Contains(msg, "user info") || strings.Contains(msg, "pa55word") || strings.Contains(msg, "s3cr3t") {
		t.Errorf("validation said %q", msg)
	}
}

func verifyProblems(s settings.Settings) string {
	s.Cluster, s.Services, s.SkipInvalidation, s.Poll = "tsa-gallery", []string{"api"}, true, time.Second
	s.WaitUntil, s.Rollback, s.HookTimeout, s.DigestCheck, s.Output = "completed", "never", time.Minute, "fail", "text"
	if err := s.Validate(); err != nil {
		return err.Error()
	}
	return ""
}

func TestVerifySettings(t *testing.T) {
	for _, c := range []struct {
		s    settings.Settings
		want string
	}{
		{settings.Settings{VerifyURLs: []string{"https://d111111abcdef8.cloudfront.net/api/health"}, VerifyTimeout: 2 * time.Minute}, ""},
		{settings.Settings{VerifyURLs: []string{"ftp://d111111abcdef8.cloudfront.net/x"}, VerifyTimeout: time.Minute}, "only http and https"},
		{settings.Settings{VerifyURLs: []string{"file:///etc/passwd"}, VerifyTimeout: time.Minute}, "only http and https"},
		{settings.Settings{VerifyURLs: []string{"http://169.254.169.254/latest/meta-data/"}, VerifyTimeout: time.Minute}, "link-local or instance metadata"},
		{settings.Settings{VerifyURLs: []string{"https:///nohost"}, VerifyTimeout: time.Minute}, "has no host"},
		{settings.Settings{VerifyURLs: []string{"https://a.example/x", "https://a.example/x"}, VerifyTimeout: time.Minute}, "twice"},
		{settings.Settings{VerifyURLs: []string{"https://a.example/x"}, VerifyHeader: "X Bad", VerifyTimeout: time.Minute}, "VERIFY_HEADER"},
		{settings.Settings{VerifyURLs: []string{"https://a.example/x"}, VerifyTimeout: time.Millisecond}, "VERIFY_TIMEOUT must be between 1s and 1h"},
		{settings.Settings{VerifyURLs: []string{"https://a.example/x"}, VerifyExpect: "a\nb", VerifyTimeout: time.Minute}, "VERIFY_EXPECT"},
	} {
		if got := verifyProblems(c.s); c.want == "" && got != "" || !strings.Contains(got, c.want) {
			t.Errorf("%+v: %q; want %q", c.s.VerifyURLs, got, c.want)
		}
	}
	s := settings.Settings{Image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/tsa/gallery:3f2c1ab"}
	s.Validate() //nolint:errcheck // parses IMAGE; the missing settings do not matter here
	if s.Expected() != "3f2c1ab" {
		t.Errorf("Expected() = %q", s.Expected())
	}
	s.Image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/tsa/gallery@sha256:" + strings.Repeat("a", 64)
	s.Validate() //nolint:errcheck
	if s.Expected() != "" {
		t.Errorf("a digest IMAGE expects %q; want status-only", s.Expected())
	}
	s.VerifyExpect = "v1.4.2"
	if s.Expected() != "v1.4.2" {
		t.Errorf("VERIFY_EXPECT not taken: %q", s.Expected())
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
	h := &step.Host{Settings: settings.Settings{VerifyURLs: []string{srv.URL + "/api/health"}, VerifyExpect: "3f2c1ab", VerifyTimeout: time.Minute,
		Paths: []string{"/*"}}, Report: report.NewReporter(&out, "text")}
	st := state.NewState(h.Settings, "", time.Now())
	st.Init(nil)
	start := time.Now()
	if err := Verify(context.Background(), h, st); err != nil {
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
	h.Settings.VerifyTimeout, h.Settings.Paths = 2*time.Second, []string{"/static/*"}
	st = state.NewState(h.Settings, "", time.Now())
	st.Init(nil)
	err := Verify(context.Background(), h, st)
	if !errors.Is(err, failure.ErrFailed) || failure.ExitCode(err) != 1 || !strings.Contains(err.Error(), "within VERIFY_TIMEOUT (2s)") ||
		!strings.Contains(err.Error(), "with version 0a1b2c3 (X-Cache: Hit from cloudfront)") ||
		!strings.Contains(err.Error(), "INVALIDATION_PATHS (/static/*) does not cover /api/health") {
		t.Fatalf("err = %v", err)
	}
	if len(times) < 2 || len(times) > 3 {
		t.Errorf("%d reads in a 2s VERIFY_TIMEOUT", len(times))
	}
}
