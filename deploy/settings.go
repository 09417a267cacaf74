package deploy

import (
	"context"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"
)

// Settings is everything a run needs. Environment variable names are the contract: the
// buildspec, the CodeBuild project and the Lambda's UserParameters use them. Each is described
// once, in settingsTable (settings_table.go): -h, the README's table and Validate come from it.
type Settings struct {
	Cluster          string   `env:"CLUSTER"`
	Services         []string `env:"SERVICE"`
	Distributions    []string `env:"DISTRIBUTIONID"`
	SkipInvalidation bool     `env:"SKIP_INVALIDATION"`
	Paths            []string `env:"INVALIDATION_PATHS, default=/*"`
	Image            string   `env:"IMAGE"`
	DigestCheck      string   `env:"DIGEST_CHECK, default=fail"`
	CallerReference  string   `env:"CALLER_REFERENCE"`
	BuildID          string   `env:"CODEBUILD_BUILD_ID"`
	// Timeout limits a command-mode run (DEPLOY_TIMEOUT, default 30m); in the Lambda mode, when
	// set, it also bounds the action. Zero means not set: Limit resolves the limit in force.
	Timeout     time.Duration `env:"DEPLOY_TIMEOUT"`
	Poll        time.Duration `env:"POLL_INTERVAL, default=1s"`
	FailedTasks int           `env:"FAILED_TASKS_THRESHOLD"`
	// DesiredCount, when set, is the desired count the release's UpdateService sets (nil: the
	// service keeps its own, as Application Auto Scaling or a person set it).
	DesiredCount    *int          `env:"DESIRED_COUNT, noinit"`
	WaitUntil       string        `env:"WAIT_UNTIL, default=completed"`
	HookCommand     string        `env:"HOOK_COMMAND"`
	HookTimeout     time.Duration `env:"HOOK_TIMEOUT, default=10m"`
	TestListenerURL string        `env:"TEST_LISTENER_URL"`
	Rollback        string        `env:"ROLLBACK, default=never"`
	Output          string        `env:"OUTPUT, default=text"`
	DryRun          bool          `env:"DRY_RUN"`
	VerifyURLs      []string      `env:"VERIFY_URL"`
	VerifyExpect    string        `env:"VERIFY_EXPECT"`
	VerifyHeader    string        `env:"VERIFY_HEADER"`
	VerifyTimeout   time.Duration `env:"VERIFY_TIMEOUT, default=2m"`
	// CodeDeployApplication and CodeDeployGroup name the deployment group of a service on the
	// CODE_DEPLOY controller; unset, the group whose ECS service it is is searched for.
	CodeDeployApplication string `env:"CODEDEPLOY_APPLICATION"`
	CodeDeployGroup       string `env:"CODEDEPLOY_DEPLOYMENT_GROUP"`
	// ActionTimeout bounds a whole CodePipeline action across invocations (Lambda mode; default
	// 1h). Zero means not set.
	ActionTimeout time.Duration `env:"ACTION_TIMEOUT"`
}

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

// field is the Settings field a variable fills.
func field(env string) (reflect.StructField, bool) {
	t := reflect.TypeOf(Settings{})
	for i := 0; i < t.NumField(); i++ {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("env"), ","); name == env {
			return t.Field(i), true
		}
	}
	return reflect.StructField{}, false
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
	name, rest, ok := strings.Cut(msg, ": ")
	if !ok {
		return msg
	}
	if f, ok := reflect.TypeOf(Settings{}).FieldByName(name); ok {
		env, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		return env + ": " + rest
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

// BindFlags binds the flags of settingsTable to the fields their variables fill, so a flag
// overrides its variable.
func BindFlags(fs *flag.FlagSet, s *Settings) {
	v := reflect.ValueOf(s).Elem()
	for _, row := range settingsTable {
		if row.Flag == "" {
			continue
		}
		f, _ := field(row.Env)
		help, _, _ := strings.Cut(row.Help, " (default ")
		usage := fmt.Sprintf("%s (%s)", help, row.Env)
		switch p := v.FieldByIndex(f.Index).Addr().Interface().(type) {
		case *bool:
			fs.BoolVar(p, row.Flag, *p, usage)
		case *time.Duration:
			fs.DurationVar(p, row.Flag, *p, usage)
		case *string:
			fs.StringVar(p, row.Flag, *p, usage)
		default:
			panic("deploy: no flag kind for " + row.Env)
		}
	}
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

// Validate checks every setting (settingsTable) and names all problems in one error of class
// ErrConfig.
func (s *Settings) Validate() error {
	var missing, problems []string
	for _, row := range settingsTable {
		if row.required != nil && row.required(s) {
			missing = append(missing, row.missing())
		}
	}
	if len(missing) > 0 {
		problems = append(problems, "missing "+strings.Join(missing, ", "))
	}
	for _, row := range settingsTable {
		if row.check != nil {
			problems = append(problems, row.check(s)...)
		}
	}
	if len(problems) > 0 {
		return newError(ErrConfig, "configuration: %s", strings.Join(problems, "; "))
	}
	return nil
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
func clip(s string) string { return clipTo(s, 64) }

func clipTo(s string, n int) string {
	if len(s) > n {
		return s[:n-3] + "..."
	}
	return s
}
