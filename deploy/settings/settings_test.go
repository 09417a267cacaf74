package settings

import (
	"context"
	"errors"
	"flag"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/internal/testtool"
)

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

func load(t *testing.T, env map[string]string) (Settings, error) {
	t.Helper()
	s, err := LoadSettings(context.Background(), envconfig.MapLookuper(env))
	return s, AllProblems(err, &s)
}

func TestSettingsDefaultsAndLists(t *testing.T) {
	s, err := load(t, map[string]string{"CLUSTER": "c", "SERVICE": "a, b ,c", "DISTRIBUTIONID": "E2QWRUHAPOMQZL"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(s.Services, "|") != "a|b|c" || strings.Join(s.Paths, "|") != "auto" || s.InvalidationMode() != ModeAuto || s.Timeout != 0 ||
		s.Poll != time.Second || s.Output != "text" || s.ActionTimeout != 0 || s.DigestCheck != "fail" {
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
		{"all missing", map[string]string{}, []string{"missing CLUSTER (like CLUSTER=tsa-gallery), SERVICE (like SERVICE=api), DISTRIBUTIONID (like DISTRIBUTIONID=E2QWRUHAPOMQZL; or SKIP_INVALIDATION=true"}},
		{"bad values and missing ones at once", map[string]string{"POLL_INTERVAL": "5", "DEPLOY_TIMEOUT": "1h30", "DRY_RUN": "yes", "SERVICE": "api"},
			[]string{`POLL_INTERVAL="5" is not a duration with its unit, like POLL_INTERVAL=`, `DEPLOY_TIMEOUT="1h30" is not a duration`, `DRY_RUN="yes" is not true or false, like DRY_RUN=true`,
				"missing CLUSTER (like CLUSTER=tsa-gallery), DISTRIBUTIONID"}},
		{"skip invalidation", map[string]string{"CLUSTER": "c", "SERVICE": "s", "SKIP_INVALIDATION": "true"}, nil},
		{"bad timeout", base("DEPLOY_TIMEOUT", "soon"), []string{"DEPLOY_TIMEOUT"}},
		{"negative timeout", base("DEPLOY_TIMEOUT", "-1m"), []string{"DEPLOY_TIMEOUT must be positive"}},
		{"poll too small", base("POLL_INTERVAL", "1ms"), []string{"POLL_INTERVAL must be between"}},
		{"bad output", base("OUTPUT", "yaml"), []string{"OUTPUT must be text, json or github"}},
		{"bad image", base("IMAGE", "nginx:latest"), []string{"IMAGE:", "is not an ECR image URI"}},
		{"path without slash", base("INVALIDATION_PATHS", "index.html"), []string{"must start with /"}},
		{"path with space", base("INVALIDATION_PATHS", "/a b"), []string{"URL-encode"}},
		{"path with unicode", base("INVALIDATION_PATHS", "/café"), []string{"URL-encode"}},
		{"star inside", base("INVALIDATION_PATHS", "/*/x"), []string{"must be the last character"}},
		{"too many paths", base("INVALIDATION_PATHS", strings.Repeat("/p,", 3001)), []string{"3001 paths"}},
		{"too many wildcards", base("INVALIDATION_PATHS", strings.Repeat("/p*,", 16)), []string{"16 wildcard paths"}},
		{"duplicate service", base("SERVICE", "a,a"), []string{`SERVICE lists "a" twice`}},
		{"distribution domain", base("DISTRIBUTIONID", "d111111abcdef8.cloudfront.net"), []string{`DISTRIBUTIONID "d111111abcdef8.cloudfront.net" is a domain name, not the distribution's id`, "DomainName=='d111111abcdef8.cloudfront.net'"}},
		{"distribution with a path", base("DISTRIBUTIONID", "E2QWRUHAPOMQZL/x"), []string{"is not a distribution id"}},
		{"distribution with space", base("DISTRIBUTIONID", "E2QW RUHA"), []string{"is not a distribution id"}},
		{"distribution ARN", base("DISTRIBUTIONID", "arn:aws:cloudfront::123456789012:distribution/EDFDVBD6EXAMPLE"), nil},
		{"desired count", base("DESIRED_COUNT", "2"), nil},
		{"desired count zero", base("DESIRED_COUNT", "0"), []string{"DESIRED_COUNT must be between 1 and 5000", "got 0"}},
		{"desired count over the quota", base("DESIRED_COUNT", "5001"), []string{"DESIRED_COUNT must be between 1 and 5000"}},
		{"desired count not a number", base("DESIRED_COUNT", "two"), []string{"DESIRED_COUNT"}},
		{"emulator's distribution id", base("DISTRIBUTIONID", "Z1OJ3BQW9X2KRN"), nil},
		{"bad digest check", base("DIGEST_CHECK", "maybe"), []string{"DIGEST_CHECK must be fail or warn"}},
		{"action timeout too long", base("ACTION_TIMEOUT", "25h"), []string{"ACTION_TIMEOUT must be between"}},
		{"bad service name", base("SERVICE", "api;rm -rf"), []string{"is not a service name"}},
		{"long caller reference", base("CALLER_REFERENCE", strings.Repeat("x", 129)), []string{"CALLER_REFERENCE is 129"}},
		{"several at once", base("OUTPUT", "xml", "POLL_INTERVAL", "10m"), []string{"OUTPUT", "POLL_INTERVAL"}},
		{"bad threshold", base("FAILED_TASKS_THRESHOLD", "many"), []string{"FAILED_TASKS_THRESHOLD"}},
		{"role", base("ROLE_ARN", "arn:aws:iam::210987654321:role/deploystep-deploy", "ROLE_EXTERNAL_ID", "tsa-prod-7f3a"), nil},
		{"role with a path", base("ROLE_ARN", "arn:aws-us-gov:iam::210987654321:role/service-role/deploystep-deploy"), nil},
		{"role name, not ARN", base("ROLE_ARN", "deploystep-deploy"), []string{`ROLE_ARN "deploystep-deploy" is not an IAM role ARN, like ROLE_ARN=arn:aws:iam::`}},
		{"a user, not a role", base("ROLE_ARN", "arn:aws:iam::210987654321:user/alice"), []string{"is not an IAM role ARN"}},
		{"an assumed-role session, not a role", base("ROLE_ARN", "arn:aws:sts::210987654321:assumed-role/deploy/s"), []string{"is not an IAM role ARN"}},
		{"role name too long", base("ROLE_ARN", "arn:aws:iam::210987654321:role/"+strings.Repeat("r", 65)), []string{"is not an IAM role ARN"}},
		{"external id without role", base("ROLE_EXTERNAL_ID", "tsa-prod-7f3a"), []string{"ROLE_EXTERNAL_ID needs ROLE_ARN"}},
		{"external id too short", base("ROLE_ARN", "arn:aws:iam::210987654321:role/d", "ROLE_EXTERNAL_ID", "x"), []string{"ROLE_EXTERNAL_ID must be 2 to 1224"}},
		{"external id with a space", base("ROLE_ARN", "arn:aws:iam::210987654321:role/d", "ROLE_EXTERNAL_ID", "tsa prod"), []string{"ROLE_EXTERNAL_ID must be 2 to 1224"}},
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
			if !errors.Is(err, failure.ErrConfig) || failure.ExitCode(err) != 2 {
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

func TestLimitPerMode(t *testing.T) {
	cases := []struct {
		name           string
		deploy, action time.Duration
		lambda         bool
		want           time.Duration
		note           string
	}{
		{"command default", 0, 0, false, 30 * time.Minute, ""},
		{"command DEPLOY_TIMEOUT", 5 * time.Minute, 0, false, 5 * time.Minute, ""},
		{"command with ACTION_TIMEOUT", 0, 2 * time.Hour, false, 30 * time.Minute, "ACTION_TIMEOUT applies to the CodePipeline action"},
		{"lambda default", 0, 0, true, time.Hour, ""},
		{"lambda ACTION_TIMEOUT", 0, 3 * time.Hour, true, 3 * time.Hour, ""},
		{"lambda DEPLOY_TIMEOUT shorter", 10 * time.Minute, 0, true, 10 * time.Minute, "DEPLOY_TIMEOUT (10m0s) is shorter"},
		{"lambda DEPLOY_TIMEOUT longer", 2 * time.Hour, 0, true, time.Hour, ""},
	}
	for _, c := range cases {
		s := Settings{Timeout: c.deploy, ActionTimeout: c.action}
		limit, note := s.Limit(c.lambda)
		if limit != c.want || (c.note == "") != (note == "") || !strings.Contains(note, c.note) {
			t.Errorf("%s: limit %v note %q; want %v %q", c.name, limit, note, c.want, c.note)
		}
		if s.Timeout != c.deploy || s.ActionTimeout != c.action {
			t.Errorf("%s: Limit changed the settings: DEPLOY_TIMEOUT %v, ACTION_TIMEOUT %v", c.name, s.Timeout, s.ActionTimeout)
		}
	}
}

// Each variable Settings reads is described once, in settingsTable, and the README's table is
// that table: a setting added to one and not the others fails here.
func TestSettingsTableIsComplete(t *testing.T) {
	var inTable []string
	for _, r := range settingsTable {
		inTable = append(inTable, r.Env)
		if r.Help == "" || r.Doc == "" {
			t.Errorf("%s has no help or no meaning", r.Env)
		}
		if _, ok := field(r.Env); !ok {
			t.Errorf("%s is in the table but Settings has no field for it", r.Env)
		}
	}
	slices.Sort(inTable)
	names := SettingNames()
	slices.Sort(names)
	if !slices.Equal(inTable, names) {
		t.Errorf("the table describes\n  %v\nSettings reads\n  %v", inTable, names)
	}
	if got := testtool.DocBlock(t, "docs/settings.md", "settings"); got != SettingsTable() {
		t.Errorf("docs/settings.md's settings table is not settings.SettingsTable(); it should read:\n%s", SettingsTable())
	}
	// -h describes every variable Settings reads (its struct tags, not the table -h is made from),
	// and every flag the flag set binds.
	usage := Usage("dev")
	for _, name := range names {
		if !strings.Contains(usage, name) {
			t.Errorf("-h does not describe %s", name)
		}
	}
	fs := flag.NewFlagSet("deploystep", flag.ContinueOnError)
	BindFlags(fs, &Settings{})
	fs.VisitAll(func(f *flag.Flag) {
		if !strings.Contains(usage, "-"+f.Name+" ") && !strings.Contains(usage, "-"+f.Name+",") && !strings.Contains(usage, "-"+f.Name+"\n") {
			t.Errorf("-h does not describe the flag -%s", f.Name)
		}
	})
}
