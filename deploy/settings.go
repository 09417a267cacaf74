package deploy

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/sethvargo/go-envconfig"
)

// Settings is everything a run needs. Environment variable names are the contract: the
// buildspec, the CodeBuild project and the Lambda's UserParameters use them.
type Settings struct {
	Cluster          string   `env:"CLUSTER"`
	Services         []string `env:"SERVICE"`
	Distributions    []string `env:"DISTRIBUTIONID"`
	SkipInvalidation bool     `env:"SKIP_INVALIDATION"`
	Paths            []string `env:"INVALIDATION_PATHS, default=/*"`
	Image            string   `env:"IMAGE"`
	CallerReference  string   `env:"CALLER_REFERENCE"`
	BuildID          string   `env:"CODEBUILD_BUILD_ID"`
	// Timeout limits a command-mode run (DEPLOY_TIMEOUT, default 30m); in the Lambda mode, when
	// set, it also bounds the action. Zero means not set: Limit resolves the limit in force.
	Timeout     time.Duration `env:"DEPLOY_TIMEOUT"`
	Poll        time.Duration `env:"POLL_INTERVAL, default=1s"`
	FailedTasks int           `env:"FAILED_TASKS_THRESHOLD"`
	// DesiredCount, when set, is the desired count the release's UpdateService sets (nil: the
	// service keeps its own, as Application Auto Scaling or a person set it).
	DesiredCount *int `env:"DESIRED_COUNT, noinit"`
	// DigestCheck is what a completed deployment whose tasks report no image digest means:
	// "fail" (default) or "warn" (pass with a warning).
	DigestCheck string `env:"DIGEST_CHECK, default=fail"`
	Output      string `env:"OUTPUT, default=text"`
	DryRun      bool   `env:"DRY_RUN"`
	// WaitUntil is when a deployment counts as done: "completed" (its service deployment is
	// SUCCESSFUL, after bake time and clean-up) or "traffic-shifted" (all production traffic is
	// on the new revision; ECS finishes the bake alone).
	WaitUntil string `env:"WAIT_UNTIL, default=completed"`
	// HookCommand is run (sh -c) when a deployment pauses at a PAUSE lifecycle hook: exit 0
	// continues it, anything else rolls it back. HookTimeout bounds it.
	HookCommand string        `env:"HOOK_COMMAND"`
	HookTimeout time.Duration `env:"HOOK_TIMEOUT, default=10m"`
	// TestListenerURL is passed to HOOK_COMMAND: where the green revision answers test traffic.
	TestListenerURL string `env:"TEST_LISTENER_URL"`
	// Rollback is "never" (default) or "on-failure": when deploystep itself decides failure or
	// times out, it stops the service deployment with a rollback and follows it.
	Rollback string `env:"ROLLBACK, default=never"`
	// ActionTimeout bounds a whole CodePipeline action across invocations (Lambda mode; default
	// 1h). Zero means not set.
	ActionTimeout time.Duration `env:"ACTION_TIMEOUT"`
	// VerifyURLs are fetched after the invalidations complete until each answers 2xx with
	// VerifyExpect (default: IMAGE's tag) in its body or in the VerifyHeader header, for at
	// most VerifyTimeout (edge.go).
	VerifyURLs    []string      `env:"VERIFY_URL"`
	VerifyExpect  string        `env:"VERIFY_EXPECT"`
	VerifyHeader  string        `env:"VERIFY_HEADER"`
	VerifyTimeout time.Duration `env:"VERIFY_TIMEOUT, default=2m"`
	// CodeDeployApplication and CodeDeployGroup name the deployment group of a service on the
	// CODE_DEPLOY controller; unset, the group whose ECS service it is is searched for (codedeploy.go).
	CodeDeployApplication string `env:"CODEDEPLOY_APPLICATION"`
	CodeDeployGroup       string `env:"CODEDEPLOY_DEPLOYMENT_GROUP"`
}

// maxDesiredCount is ECS's quota of tasks per service (Service Quotas: "Tasks per service", 5,000).
const maxDesiredCount = 5000

// Default limits, when DEPLOY_TIMEOUT and ACTION_TIMEOUT are not set.
const (
	DefaultTimeout       = 30 * time.Minute
	DefaultActionTimeout = time.Hour
)

// Limit sets Timeout to the limit in force for the mode and says how it was chosen when a
// setting of the other mode was given, so that no setting is ignored in silence: the command
// mode runs under DEPLOY_TIMEOUT; the Lambda mode under ACTION_TIMEOUT, and DEPLOY_TIMEOUT too
// when set (the smaller wins).
func (s *Settings) Limit(lambda bool) (note string) {
	if !lambda {
		if s.Timeout == 0 {
			s.Timeout = DefaultTimeout
		}
		if s.ActionTimeout != 0 {
			note = fmt.Sprintf("ACTION_TIMEOUT applies to the CodePipeline action (Lambda mode) only; this run's limit is DEPLOY_TIMEOUT (%v)", s.Timeout)
		}
		return note
	}
	limit := s.ActionTimeout
	if limit == 0 {
		limit = DefaultActionTimeout
	}
	if s.Timeout != 0 && s.Timeout < limit {
		note = fmt.Sprintf("DEPLOY_TIMEOUT (%v) is shorter than ACTION_TIMEOUT (%v): the action's limit is %v", s.Timeout, limit, s.Timeout)
		limit = s.Timeout
	}
	s.Timeout = limit
	return note
}

// settingNames lists the variables Settings reads, from its struct tags.
func settingNames() []string {
	var names []string
	t := reflect.TypeOf(Settings{})
	for i := 0; i < t.NumField(); i++ {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("env"), ","); name != "" {
			names = append(names, name)
		}
	}
	return names
}

// envName rewrites go-envconfig's "Field: problem" into "VARIABLE: problem", the name users set.
func envName(msg string) string {
	field, rest, ok := strings.Cut(msg, ": ")
	if !ok {
		return msg
	}
	if f, ok := reflect.TypeOf(Settings{}).FieldByName(field); ok {
		name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		return name + ": " + rest
	}
	return msg
}

// EnvLookuper reads the process environment, where a variable set to "" counts as not set (so
// its default applies): buildspecs and shells often export a name with no value.
func EnvLookuper() envconfig.Lookuper {
	return envconfig.LookuperFunc(func(key string) (string, bool) {
		v, ok := os.LookupEnv(key)
		return v, ok && v != ""
	})
}

// LoadSettings reads settings through l (the environment, or UserParameters over it). A value
// that does not parse is a configuration error that names the variable.
func LoadSettings(ctx context.Context, l envconfig.Lookuper) (Settings, error) {
	var s Settings
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &s, Lookuper: l}); err != nil {
		return s, newError(ErrConfig, "configuration: %s", envName(err.Error()))
	}
	s.Services = trimAll(s.Services)
	s.Distributions = trimAll(s.Distributions)
	for i, d := range s.Distributions {
		s.Distributions[i] = distributionFromARN(d)
	}
	s.Paths = trimAll(s.Paths)
	s.VerifyURLs = trimAll(s.VerifyURLs)
	return s, nil
}

// Expected is the version the edge must serve: VERIFY_EXPECT, else IMAGE's tag ("" when
// neither is set, or IMAGE names a digest: the check is then status-only).
func (s *Settings) Expected() string {
	if s.VerifyExpect != "" {
		return s.VerifyExpect
	}
	if ref, err := ParseImage(s.Image); err == nil {
		return ref.Tag
	}
	return ""
}

func trimAll(in []string) []string {
	var out []string
	for _, v := range in {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Validate checks every setting and names all problems in one error of class ErrConfig.
func (s *Settings) Validate() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	var missing []string
	if s.Cluster == "" {
		missing = append(missing, "CLUSTER")
	}
	if len(s.Services) == 0 {
		missing = append(missing, "SERVICE")
	}
	if len(s.Distributions) == 0 && !s.SkipInvalidation {
		missing = append(missing, "DISTRIBUTIONID (or -skip-invalidation)")
	}
	if len(missing) > 0 {
		add("missing %s", strings.Join(missing, ", "))
	}
	if seen := dup(s.Services); seen != "" {
		add("SERVICE lists %q twice", seen)
	}
	if seen := dup(s.Distributions); seen != "" {
		add("DISTRIBUTIONID lists %q twice", seen)
	}
	for _, d := range s.Distributions {
		if !validDistribution(d) {
			add("DISTRIBUTIONID %q is not a distribution id (like E2QWRUHAPOMQZL) or ARN", clip(d))
		}
	}
	for _, n := range s.Services {
		if !validName(n) {
			add("SERVICE %q is not a service name or ARN", clip(n))
		}
	}
	if s.Cluster != "" && !validName(s.Cluster) {
		add("CLUSTER %q is not a cluster name or ARN", clip(s.Cluster))
	}
	if !s.SkipInvalidation {
		if err := checkPaths(s.Paths); err != "" {
			add("INVALIDATION_PATHS: %s", err)
		}
	}
	if s.Image != "" {
		if _, err := ParseImage(s.Image); err != nil {
			add("IMAGE: %v", err)
		}
	}
	if len(s.CallerReference) > 128 {
		add("CALLER_REFERENCE is %d characters; at most 128", len(s.CallerReference))
	}
	if s.Timeout < 0 {
		add("DEPLOY_TIMEOUT must be positive, like 30m")
	}
	if s.Poll < 100*time.Millisecond || s.Poll > 5*time.Minute {
		add("POLL_INTERVAL must be between 100ms and 5m, got %v", s.Poll)
	}
	if s.FailedTasks < 0 {
		add("FAILED_TASKS_THRESHOLD must not be negative")
	}
	if n := s.DesiredCount; n != nil && (*n < 1 || *n > maxDesiredCount) {
		add("DESIRED_COUNT must be between 1 and %d (ECS's tasks per service), got %d", maxDesiredCount, *n)
	}
	if s.WaitUntil != "completed" && s.WaitUntil != "traffic-shifted" {
		add("WAIT_UNTIL must be completed or traffic-shifted, got %q", clip(s.WaitUntil))
	}
	if s.Rollback != "never" && s.Rollback != "on-failure" {
		add("ROLLBACK must be never or on-failure, got %q", clip(s.Rollback))
	}
	if s.HookTimeout <= 0 || s.HookTimeout > 24*time.Hour {
		add("HOOK_TIMEOUT must be between 0 and 24h, got %v", s.HookTimeout)
	}
	if s.DigestCheck != "fail" && s.DigestCheck != "warn" {
		add("DIGEST_CHECK must be fail or warn, got %q", clip(s.DigestCheck))
	}
	if s.Output != "text" && s.Output != "json" {
		add("OUTPUT must be text or json, got %q", clip(s.Output))
	}
	if s.ActionTimeout < 0 || s.ActionTimeout > 24*time.Hour {
		add("ACTION_TIMEOUT must be between 0 and 24h (CodePipeline's limit), got %v", s.ActionTimeout)
	}
	if len(s.VerifyURLs) > maxVerifyURLs {
		add("VERIFY_URL lists %d URLs; at most %d", len(s.VerifyURLs), maxVerifyURLs)
	}
	for _, u := range s.VerifyURLs {
		if err := checkVerifyURL(u); err != "" {
			add("VERIFY_URL: %s", err)
		}
	}
	if seen := dup(s.VerifyURLs); seen != "" {
		add("VERIFY_URL lists %s twice", redactURL(seen))
	}
	if s.VerifyHeader != "" && !headerNameRE.MatchString(s.VerifyHeader) {
		add("VERIFY_HEADER %q is not an HTTP header name", clip(s.VerifyHeader))
	}
	if len(s.VerifyExpect) > 256 || strings.ContainsAny(s.VerifyExpect, "\r\n") {
		add("VERIFY_EXPECT must be one line of at most 256 characters")
	}
	if s.CodeDeployGroup != "" && s.CodeDeployApplication == "" {
		add("CODEDEPLOY_DEPLOYMENT_GROUP needs CODEDEPLOY_APPLICATION")
	}
	if len(s.CodeDeployApplication) > 100 || len(s.CodeDeployGroup) > 100 {
		add("CODEDEPLOY_APPLICATION and CODEDEPLOY_DEPLOYMENT_GROUP are at most 100 characters")
	}
	if s.VerifyTimeout < time.Second || s.VerifyTimeout > time.Hour {
		add("VERIFY_TIMEOUT must be between 1s and 1h, got %v", s.VerifyTimeout)
	}
	if len(problems) > 0 {
		return newError(ErrConfig, "configuration: %s", strings.Join(problems, "; "))
	}
	return nil
}

// validDistribution accepts what CloudFront defines a distribution id to be: a string that
// names the distribution in the request path (the API reference gives no pattern; AWS's ids are
// like E2QWRUHAPOMQZL, emulators' differ). Only characters that cannot travel in a path segment
// unescaped, and dot segments, are refused.
func validDistribution(id string) bool {
	if id == "" || len(id) > 128 || id == "." || id == ".." {
		return false
	}
	for _, r := range id {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == '~') {
			return false
		}
	}
	return true
}

// distributionFromARN takes the id out of arn:<partition>:cloudfront::<account>:distribution/<id>.
// The fields are split as ARNs are defined (arn:partition:service:region:account:resource), so
// an ARN whose empty region field is missing (moto writes cloudfront:<account>:) works as well.
func distributionFromARN(s string) string {
	parts := strings.Split(s, ":")
	if len(parts) < 5 || parts[0] != "arn" || parts[2] != "cloudfront" {
		return s
	}
	if id, ok := strings.CutPrefix(parts[len(parts)-1], "distribution/"); ok {
		return id
	}
	return s
}

var (
	// Lengths are checked in code: counted repetitions like {0,254} compile into large programs
	// that cost start-up time (Lambda init) on every run.
	serviceNameRE = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9_-]*|arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]+:[a-z-]+/[A-Za-z0-9/_-]+)$`)
)

// validName reports whether s is an ECS cluster or service name or ARN.
func validName(s string) bool { return len(s) <= 600 && serviceNameRE.MatchString(s) }

func dup(items []string) string {
	seen := map[string]bool{}
	for _, v := range items {
		if seen[v] {
			return v
		}
		seen[v] = true
	}
	return ""
}

// clip shortens hostile values before they go into a message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:61] + "..."
	}
	return s
}

// checkPaths validates invalidation paths as CloudFront takes them.
func checkPaths(paths []string) string {
	if len(paths) == 0 {
		return "no paths"
	}
	if len(paths) > 3000 {
		return fmt.Sprintf("%d paths; CloudFront takes at most 3000 in progress per distribution", len(paths))
	}
	wild := 0
	for _, p := range paths {
		if !strings.HasPrefix(p, "/") {
			return fmt.Sprintf("path %q must start with /", clip(p))
		}
		if len(p) > 4000 {
			return fmt.Sprintf("path %q is longer than 4000 characters", clip(p))
		}
		for _, r := range p {
			if r > unicode.MaxASCII || unicode.IsSpace(r) || unicode.IsControl(r) {
				return fmt.Sprintf("path %q has a space or non-ASCII character: URL-encode it (%%20, %%C3%%A9, ...)", clip(p))
			}
		}
		if strings.Contains(p, "*") {
			if strings.Index(p, "*") != len(p)-1 {
				return fmt.Sprintf("path %q: a * must be the last character", clip(p))
			}
			wild++
		}
	}
	if wild > 15 {
		return fmt.Sprintf("%d wildcard paths; CloudFront takes at most 15 in progress", wild)
	}
	return ""
}

// ImageRef is a parsed ECR image URI.
type ImageRef struct {
	Registry   string // account id
	Region     string
	Repository string
	Tag        string // one of Tag and Digest is set
	Digest     string
}

func (r ImageRef) String() string {
	s := fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s", r.Registry, r.Region, r.Repository)
	if r.Digest != "" {
		return s + "@" + r.Digest
	}
	return s + ":" + r.Tag
}

var imageURI = regexp.MustCompile(`^([0-9]+)\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/` +
	`((?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)` +
	`(?::([A-Za-z0-9_][A-Za-z0-9_.-]*)|@(sha256:[a-f0-9]+))$`)

// ParseImage parses <account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag> or ...@sha256:<digest>.
func ParseImage(s string) (ImageRef, error) {
	m := imageURI.FindStringSubmatch(s)
	if len(s) > 1024 || m == nil || len(m[1]) != 12 || len(m[4]) > 128 || (m[5] != "" && len(m[5]) != 71) {
		return ImageRef{}, fmt.Errorf("%q is not an ECR image URI like 123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo:tag or ...@sha256:<64 hex>", clip(s))
	}
	return ImageRef{Registry: m[1], Region: m[2], Repository: m[3], Tag: m[4], Digest: m[5]}, nil
}
