package deploy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"
)

func load(t *testing.T, env map[string]string) (Settings, error) {
	t.Helper()
	s, err := LoadSettings(context.Background(), envconfig.MapLookuper(env))
	if err != nil {
		return s, err
	}
	return s, s.Validate()
}

func TestSettingsDefaultsAndLists(t *testing.T) {
	s, err := load(t, map[string]string{"CLUSTER": "c", "SERVICE": "a, b ,c", "DISTRIBUTIONID": "E2QWRUHAPOMQZL"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(s.Services, "|") != "a|b|c" || strings.Join(s.Paths, "|") != "/*" || s.Timeout != 30*time.Minute ||
		s.Poll != time.Second || s.Output != "text" || s.ActionTimeout != time.Hour {
		t.Fatalf("settings = %+v", s)
	}
}

func TestSettingsErrors(t *testing.T) {
	base := func(kv ...string) map[string]string {
		m := map[string]string{"CLUSTER": "c", "SERVICE": "api", "DISTRIBUTIONID": "E2QWRUHAPOMQZL"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"all missing", map[string]string{}, []string{"missing CLUSTER, SERVICE, DISTRIBUTIONID"}},
		{"skip invalidation", map[string]string{"CLUSTER": "c", "SERVICE": "s", "SKIP_INVALIDATION": "true"}, nil},
		{"bad timeout", base("DEPLOY_TIMEOUT", "soon"), []string{"DEPLOY_TIMEOUT"}},
		{"negative timeout", base("DEPLOY_TIMEOUT", "-1m"), []string{"DEPLOY_TIMEOUT must be positive"}},
		{"poll too small", base("POLL_INTERVAL", "1ms"), []string{"POLL_INTERVAL must be between"}},
		{"bad output", base("OUTPUT", "yaml"), []string{"OUTPUT must be text or json"}},
		{"bad image", base("IMAGE", "nginx:latest"), []string{"IMAGE:", "is not an ECR image URI"}},
		{"path without slash", base("INVALIDATION_PATHS", "index.html"), []string{"must start with /"}},
		{"path with space", base("INVALIDATION_PATHS", "/a b"), []string{"URL-encode"}},
		{"path with unicode", base("INVALIDATION_PATHS", "/café"), []string{"URL-encode"}},
		{"star inside", base("INVALIDATION_PATHS", "/*/x"), []string{"must be the last character"}},
		{"too many paths", base("INVALIDATION_PATHS", strings.Repeat("/p,", 3001)), []string{"3001 paths"}},
		{"too many wildcards", base("INVALIDATION_PATHS", strings.Repeat("/p*,", 16)), []string{"16 wildcard paths"}},
		{"duplicate service", base("SERVICE", "a,a"), []string{`SERVICE lists "a" twice`}},
		{"bad distribution", base("DISTRIBUTIONID", "d123.cloudfront.net"), []string{"is not a distribution id"}},
		{"bad service name", base("SERVICE", "api;rm -rf"), []string{"is not a service name"}},
		{"long caller reference", base("CALLER_REFERENCE", strings.Repeat("x", 129)), []string{"CALLER_REFERENCE is 129"}},
		{"several at once", base("OUTPUT", "xml", "POLL_INTERVAL", "10m"), []string{"OUTPUT", "POLL_INTERVAL"}},
		{"bad threshold", base("FAILED_TASKS_THRESHOLD", "many"), []string{"FAILED_TASKS_THRESHOLD"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := load(t, c.env)
			if c.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) || ExitCode(err) != 2 {
				t.Fatalf("err = %v, want a configuration error", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
		})
	}
}

func TestParseImage(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	cases := []struct {
		in   string
		want ImageRef
		ok   bool
	}{
		{"123456789012.dkr.ecr.eu-west-1.amazonaws.com/tsa/gallery:3f2c1ab", ImageRef{"123456789012", "eu-west-1", "tsa/gallery", "3f2c1ab", ""}, true},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/app@" + d, ImageRef{"123456789012", "us-east-1", "app", "", d}, true},
		{"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app:v1", ImageRef{"123456789012", "cn-north-1", "app", "v1", ""}, true},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/app", ImageRef{}, false},            // no tag
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/App:v1", ImageRef{}, false},         // upper case repo
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:abc", ImageRef{}, false}, // short digest
		{"docker.io/library/nginx:latest", ImageRef{}, false},                              // not ECR
		{"12345.dkr.ecr.us-east-1.amazonaws.com/app:v1", ImageRef{}, false},                // bad account
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/app:" + strings.Repeat("t", 129), ImageRef{}, false},
		{"", ImageRef{}, false},
	}
	for _, c := range cases {
		got, err := ParseImage(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseImage(%q) = %+v, %v; want %+v ok=%v", c.in, got, err, c.want, c.ok)
		}
		if c.ok && got.String() != c.in && !strings.HasSuffix(c.in, ".cn/app:v1") {
			t.Errorf("String() = %q, want %q", got.String(), c.in)
		}
	}
}

func TestCallerRef(t *testing.T) {
	if got := (&Settings{CallerReference: "mine"}).CallerRef(); got != "mine" {
		t.Errorf("explicit: %q", got)
	}
	a, b := (&Settings{BuildID: "p:1"}).CallerRef(), (&Settings{BuildID: "p:1"}).CallerRef()
	if a != b || a != "deploystep-p:1" {
		t.Errorf("from build id: %q %q", a, b)
	}
	if (&Settings{}).CallerRef() == (&Settings{}).CallerRef() {
		t.Error("without a build id two runs got the same reference")
	}
	if got := (&Settings{BuildID: strings.Repeat("x", 200)}).CallerRef(); len(got) != 128 {
		t.Errorf("long build id gave %d characters", len(got))
	}
}

func TestExitCodes(t *testing.T) {
	cases := map[error]int{nil: 0, newError(ErrFailed, "x"): 1, newError(ErrConfig, "x"): 2, newError(ErrTimeout, "x"): 3,
		newError(ErrInterrupted, "x"): 130, errors.New("unknown"): 1}
	for err, want := range cases {
		if got := ExitCode(err); got != want {
			t.Errorf("ExitCode(%v) = %d, want %d", err, got, want)
		}
	}
}
