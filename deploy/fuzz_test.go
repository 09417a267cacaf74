package deploy

import (
	"context"
	"errors"
	"strings"
	"testing"

	"deploystep/deploy/failure"

	"github.com/sethvargo/go-envconfig"
)

// Hostile input never panics and is always a configuration error (exit 2, or ConfigurationError
// in the Lambda mode). Seeds: the f.Add calls and testdata/fuzz/<Fuzz...>/.

func FuzzSettings(f *testing.F) {
	f.Add("c", "api,web", "E2QWRUHAPOMQZL", "/*", "", "30m", "1s")
	f.Add("", " , ,", "e", "index.html", "nginx:latest", "-1s", "0")
	f.Add("arn:aws:ecs:us-east-1:123456789012:cluster/c", "a,a", "E2QWRUHAPOMQZL,E2QWRUHAPOMQZL", "/a b,/é,/*x", "123456789012.dkr.ecr.us-east-1.amazonaws.com/r@sha256:00", "1e9h", "soon")
	f.Fuzz(func(t *testing.T, cluster, services, dists, paths, image, timeout, poll string) {
		s, err := LoadSettings(context.Background(), envconfig.MapLookuper(map[string]string{
			"CLUSTER": cluster, "SERVICE": services, "DISTRIBUTIONID": dists, "INVALIDATION_PATHS": paths,
			"IMAGE": image, "DEPLOY_TIMEOUT": timeout, "POLL_INTERVAL": poll}))
		if err == nil {
			err = s.Validate()
		}
		if err != nil && !errors.Is(err, failure.ErrConfig) {
			t.Fatalf("error of the wrong class: %v", err)
		}
	})
}

func FuzzUserParameters(f *testing.F) {
	for _, seed := range []string{`{"CLUSTER":"c","SERVICE":"s","DISTRIBUTIONID":"E2QWRUHAPOMQZL"}`, `{"SERVICE":["a","b"],"DRY_RUN":true,"FAILED_TASKS_THRESHOLD":5}`,
		`{"WAIT_UNTIL":"traffic-shifted","HOOK_TIMEOUT":"0s","ROLLBACK":"sometimes","DIGEST_CHECK":"warn","HOOK_COMMAND":"exit 1","DEPLOY_TIMEOUT":"-5m"}`,
		`[]`, `"x"`, `{"CLUSTER":{"a":1}}`, `{"CLUSTER":null}`, `{"SERVICE":[1,2]}`, `{`, strings.Repeat(`{"a":`, 50), ""} {
		f.Add(seed)
	}
	h := &Handler{Env: envconfig.MapLookuper(nil)}
	f.Fuzz(func(t *testing.T, params string) {
		if _, err := h.settings(context.Background(), params); err != nil && !errors.Is(err, failure.ErrConfig) {
			t.Fatalf("error of the wrong class: %v", err)
		}
	})
}

func FuzzParseImage(f *testing.F) {
	f.Add("123456789012.dkr.ecr.eu-west-1.amazonaws.com/tsa/gallery:3f2c1ab")
	f.Add("123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:" + strings.Repeat("ab", 32))
	f.Add("123456789012.dkr.ecr.us-east-1.amazonaws.com/a//b:t")
	f.Fuzz(func(t *testing.T, uri string) {
		ref, err := ParseImage(uri)
		if err != nil {
			return
		}
		// What parses prints back as the same reference.
		again, err := ParseImage(ref.String())
		if err != nil || again != ref {
			t.Fatalf("%q parsed as %+v, which prints as %q and parses as %+v, %v", uri, ref, ref.String(), again, err)
		}
	})
}

func FuzzInvalidationPaths(f *testing.F) {
	f.Add("/*")
	f.Add("/index.html,/static/*")
	f.Add("/a b,/café,relative,/*/x")
	f.Add(strings.Repeat("/p,", 3001))
	f.Fuzz(func(t *testing.T, paths string) {
		s := Settings{Cluster: "c", Services: []string{"s"}, Distributions: []string{"E2QWRUHAPOMQZL"}, Paths: trimAll(strings.Split(paths, ",")),
			Timeout: 1, Poll: 1e9, Output: "text", ActionTimeout: 1}
		err := s.Validate()
		if err != nil && !errors.Is(err, failure.ErrConfig) {
			t.Fatalf("error of the wrong class: %v", err)
		}
		if err == nil {
			for _, p := range s.Paths {
				if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, " \t\n") {
					t.Fatalf("accepted path %q", p)
				}
			}
		}
	})
}
