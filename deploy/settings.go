package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
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
	Cluster          string        `env:"CLUSTER"`
	Services         []string      `env:"SERVICE"`
	Distributions    []string      `env:"DISTRIBUTIONID"`
	SkipInvalidation bool          `env:"SKIP_INVALIDATION"`
	Paths            []string      `env:"INVALIDATION_PATHS, default=/*"`
	Image            string        `env:"IMAGE"`
	CallerReference  string        `env:"CALLER_REFERENCE"`
	BuildID          string        `env:"CODEBUILD_BUILD_ID"`
	Timeout          time.Duration `env:"DEPLOY_TIMEOUT, default=30m"`
	Poll             time.Duration `env:"POLL_INTERVAL, default=1s"`
	FailedTasks      int           `env:"FAILED_TASKS_THRESHOLD"`
	Output           string        `env:"OUTPUT, default=text"`
	DryRun           bool          `env:"DRY_RUN"`
	// ActionTimeout bounds a whole CodePipeline action across invocations (Lambda mode).
	ActionTimeout time.Duration `env:"ACTION_TIMEOUT, default=1h"`
	// RunKey names this release for re-runs: the CodeBuild build id, or the CodePipeline job id.
	// A run with the same key resumes the deployment it started instead of starting another.
	RunKey string
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

// LoadSettings reads settings through l (the environment, or UserParameters over it). A value
// that does not parse is a configuration error that names the variable.
func LoadSettings(ctx context.Context, l envconfig.Lookuper) (Settings, error) {
	var s Settings
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &s, Lookuper: l}); err != nil {
		return s, newError(ErrConfig, "configuration: %s", envName(err.Error()))
	}
	s.Services = trimAll(s.Services)
	s.Distributions = trimAll(s.Distributions)
	s.Paths = trimAll(s.Paths)
	return s, nil
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
		if len(d) < 6 || len(d) > 21 || !distributionID.MatchString(d) {
			add("DISTRIBUTIONID %q is not a distribution id (like E2QWRUHAPOMQZL)", clip(d))
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
	if s.Timeout <= 0 {
		add("DEPLOY_TIMEOUT must be positive, like 30m")
	}
	if s.Poll < 100*time.Millisecond || s.Poll > 5*time.Minute {
		add("POLL_INTERVAL must be between 100ms and 5m, got %v", s.Poll)
	}
	if s.FailedTasks < 0 {
		add("FAILED_TASKS_THRESHOLD must not be negative")
	}
	if s.Output != "text" && s.Output != "json" {
		add("OUTPUT must be text or json, got %q", clip(s.Output))
	}
	if s.ActionTimeout <= 0 || s.ActionTimeout > 24*time.Hour {
		add("ACTION_TIMEOUT must be between 0 and 24h (CodePipeline's limit), got %v", s.ActionTimeout)
	}
	if len(problems) > 0 {
		return newError(ErrConfig, "configuration: %s", strings.Join(problems, "; "))
	}
	return nil
}

var (
	distributionID = regexp.MustCompile(`^E[A-Z0-9]+$`)
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

// CallerRef is the invalidation's CallerReference: CALLER_REFERENCE, else one derived from the
// CodeBuild build id (so a re-run of the same build reuses it), else a unique one.
func (s *Settings) CallerRef() string {
	switch {
	case s.CallerReference != "":
		return s.CallerReference
	case s.BuildID != "":
		return clipRef("deploystep-" + s.BuildID)
	}
	b := make([]byte, 6)
	rand.Read(b) //nolint:errcheck // crypto/rand never fails on Linux
	return fmt.Sprintf("deploystep-%d-%s", time.Now().Unix(), hex.EncodeToString(b))
}

func clipRef(s string) string {
	if len(s) > 128 {
		return s[:128]
	}
	return s
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
