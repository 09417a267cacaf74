package main

import (
	"bytes"
	"strings"
	"testing"
)

// run in-process: flags, help, version, bad flags and missing settings, before any AWS call.
func TestRun(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want []string // in stdout + stderr
	}{
		{"help", nil, []string{"-h"}, 0, []string{"Exit codes:", "130  interrupted", "DEPLOY_TIMEOUT", "DIGEST_CHECK", "-dry-run"}},
		{"help with a bad environment", map[string]string{"DEPLOY_TIMEOUT": "soon"}, []string{"-h"}, 0, []string{"Exit codes:"}},
		{"version", nil, []string{"-version"}, 0, []string{"deploystep dev"}},
		{"bad flag value", nil, []string{"-poll", "soon"}, 2, []string{`invalid value "soon" for flag -poll`}},
		{"unknown flag", nil, []string{"-force"}, 2, []string{"flag provided but not defined: -force"}},
		{"unexpected argument", nil, []string{"deploy"}, 2, []string{`unexpected argument "deploy"`}},
		{"unparsable variable", map[string]string{"DEPLOY_TIMEOUT": "soon"}, nil, 2, []string{"DEPLOY_TIMEOUT"}},
		{"missing settings", nil, nil, 2, []string{"missing CLUSTER, SERVICE, DISTRIBUTIONID", "summary: configuration error"}},
		{"a flag overrides its variable", map[string]string{"CLUSTER": "tsa-gallery", "SERVICE": "api", "DISTRIBUTIONID": "E2QWRUHAPOMQZL", "OUTPUT": "yaml"},
			[]string{"-output", "xml", "-poll", "1ms"}, 2, []string{`OUTPUT must be text or json, got "xml"`, "POLL_INTERVAL must be between 100ms and 5m, got 1ms"}},
		{"skip-invalidation flag", map[string]string{"CLUSTER": "tsa-gallery", "SERVICE": "api", "OUTPUT": "yaml"},
			[]string{"-skip-invalidation"}, 2, []string{"OUTPUT must be text or json"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, k := range []string{"CLUSTER", "SERVICE", "DISTRIBUTIONID", "IMAGE", "OUTPUT", "DEPLOY_TIMEOUT", "POLL_INTERVAL", "AWS_REGION"} {
				t.Setenv(k, "")
			}
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			var stdout, stderr bytes.Buffer
			code := run(c.args, &stdout, &stderr)
			all := stdout.String() + stderr.String()
			if code != c.code {
				t.Fatalf("exit %d, want %d\n%s", code, c.code, all)
			}
			for _, w := range c.want {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
			if strings.Contains(c.name, "skip-invalidation") && strings.Contains(all, "DISTRIBUTIONID") {
				t.Errorf("-skip-invalidation did not drop the need for DISTRIBUTIONID:\n%s", all)
			}
		})
	}
}
