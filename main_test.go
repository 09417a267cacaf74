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
		{"unknown flag", nil, []string{"-force"}, 2, []string{"flag provided but not defined: -force", "deploystep: run deploystep -h for the settings and flags"}},
		{"unexpected argument", nil, []string{"deploy"}, 2, []string{`unexpected argument "deploy"`}},
		{"unparsable variable", map[string]string{"DEPLOY_TIMEOUT": "soon"}, nil, 2, []string{"DEPLOY_TIMEOUT"}},
		{"missing settings", nil, nil, 2, []string{"ERROR configuration: missing CLUSTER (like CLUSTER=tsa-gallery), SERVICE (like SERVICE=api), DISTRIBUTIONID", "summary: configuration error"}},
		{"mistyped names get a hint", map[string]string{"CLUSTER": "tsa-gallery", "SERVICES": "api", "DISTRIBUTION_ID": "E2QWRUHAPOMQZL"}, nil, 2,
			[]string{"missing SERVICE (like SERVICE=api), DISTRIBUTIONID", "DISTRIBUTION_ID is set, but deploystep reads DISTRIBUTIONID: did you mean DISTRIBUTIONID?",
				"SERVICES is set, but deploystep reads SERVICE: did you mean SERVICE?"}},
		{"a flag overrides its variable", map[string]string{"CLUSTER": "tsa-gallery", "SERVICE": "api", "DISTRIBUTIONID": "E2QWRUHAPOMQZL", "OUTPUT": "yaml"},
			[]string{"-output", "xml", "-poll", "1ms"}, 2, []string{`OUTPUT must be text, json or github, got "xml"`, "POLL_INTERVAL must be between 100ms and 5m, got 1ms"}},
		{"-print-policy needs the release's settings", nil, []string{"-print-policy"}, 2, []string{"deploystep -print-policy: configuration: missing CLUSTER (like CLUSTER=tsa-gallery)"}},
		{"skip-invalidation flag", map[string]string{"CLUSTER": "tsa-gallery", "SERVICE": "api", "OUTPUT": "yaml"},
			[]string{"-skip-invalidation"}, 2, []string{"OUTPUT must be text, json or github"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, k := range []string{"CLUSTER", "SERVICE", "DISTRIBUTIONID", "IMAGE", "OUTPUT", "DEPLOY_TIMEOUT", "POLL_INTERVAL", "AWS_REGION", "SERVICES", "DISTRIBUTION_ID"} {
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
			if c.name == "unknown flag" && strings.Count(all, "\n") > 2 {
				t.Errorf("a bad flag printed more than two lines:\n%s", all)
			}
			if strings.Contains(c.name, "skip-invalidation") && strings.Contains(all, "DISTRIBUTIONID") {
				t.Errorf("-skip-invalidation did not drop the need for DISTRIBUTIONID:\n%s", all)
			}
		})
	}
}
