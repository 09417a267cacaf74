// Package settings is everything a run is told: the environment's variables (go-envconfig) and
// the flags over them, or a Lambda job's UserParameters. Each setting is described once, in
// settingsTable, which -h (Usage), docs/settings.md's table (SettingsTable) and Validate read; Validate
// names every problem at once and parses IMAGE into Settings.ImageRef, the typed value the steps
// read. Limit says which time limit a mode runs under, without changing a setting.
package settings

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/deploystep/deploystep/deploy/failure"
)

// Settings is everything a run needs. Environment variable names are the contract: the
// buildspec, the CodeBuild project and the Lambda's UserParameters use them. Each is described
// once, in settingsTable (settings_table.go): -h, docs/settings.md's table and Validate come from it.
type Settings struct {
	Cluster          string   `env:"CLUSTER"`
	Services         []string `env:"SERVICE"`
	Distributions    []string `env:"DISTRIBUTIONID"`
	SkipInvalidation bool     `env:"SKIP_INVALIDATION"`
	// Paths is INVALIDATION_PATHS: "auto" (the default: cache.go decides), or the paths to send.
	// Tags is INVALIDATION_TAGS: the cache tags to invalidate instead (without their #).
	Paths           []string `env:"INVALIDATION_PATHS, default=auto"`
	Tags            []string `env:"INVALIDATION_TAGS"`
	Image           string   `env:"IMAGE"`
	TaskDefinition  string   `env:"TASK_DEFINITION"`
	DigestCheck     string   `env:"DIGEST_CHECK, default=fail"`
	CallerReference string   `env:"CALLER_REFERENCE"`
	BuildID         string   `env:"CODEBUILD_BUILD_ID"`
	// ReleaseID names the command mode's release (its identity), so a re-run of the step resumes
	// it; unset, CODEBUILD_BUILD_ID does (Identity).
	ReleaseID string `env:"RELEASE_ID"`
	// Timeout limits a command-mode run (DEPLOY_TIMEOUT, default 30m); in the Lambda mode, when
	// set, it also bounds the action. Zero means not set: Limit resolves the limit in force.
	Timeout     time.Duration `env:"DEPLOY_TIMEOUT"`
	Poll        time.Duration `env:"POLL_INTERVAL, default=1s"`
	Heartbeat   time.Duration `env:"HEARTBEAT, default=30s"`
	FailedTasks int           `env:"FAILED_TASKS_THRESHOLD"`
	// DesiredCount, when set, is the desired count the release's UpdateService sets (nil: the
	// service keeps its own, as Application Auto Scaling or a person set it).
	DesiredCount *int   `env:"DESIRED_COUNT, noinit"`
	WaitUntil    string `env:"WAIT_UNTIL, default=completed"`
	HookCommand  string `env:"HOOK_COMMAND"`
	// HookAnswer (CONTINUE or ROLLBACK) makes the run answer a deployment that an earlier
	// WAIT_UNTIL=paused step left at a PAUSE hook, instead of starting one (hooks.go).
	HookAnswer  string        `env:"HOOK_ANSWER"`
	HookTimeout time.Duration `env:"HOOK_TIMEOUT, default=10m"`
	// Predeploy* run one task of the release's revision before any service moves (predeploy.go).
	PredeployCommand   string        `env:"PREDEPLOY_COMMAND"`
	PredeployContainer string        `env:"PREDEPLOY_CONTAINER"`
	PredeployService   string        `env:"PREDEPLOY_SERVICE"`
	PredeployTimeout   time.Duration `env:"PREDEPLOY_TIMEOUT, default=15m"`
	TestListenerURL    string        `env:"TEST_LISTENER_URL"`
	Rollback           string        `env:"ROLLBACK, default=never"`
	Output             string        `env:"OUTPUT, default=text"`
	DryRun             bool          `env:"DRY_RUN"`
	VerifyURLs         []string      `env:"VERIFY_URL"`
	VerifyExpect       string        `env:"VERIFY_EXPECT"`
	VerifyHeader       string        `env:"VERIFY_HEADER"`
	VerifyTimeout      time.Duration `env:"VERIFY_TIMEOUT, default=2m"`
	// CodeDeployApplication and CodeDeployGroup name the deployment group of a service on the
	// CODE_DEPLOY controller; unset, the group whose ECS service it is is searched for.
	CodeDeployApplication string `env:"CODEDEPLOY_APPLICATION"`
	CodeDeployGroup       string `env:"CODEDEPLOY_DEPLOYMENT_GROUP"`
	// ActionTimeout bounds a whole CodePipeline action across invocations (Lambda mode; default
	// 1h). Zero means not set.
	ActionTimeout time.Duration `env:"ACTION_TIMEOUT"`
	// RoleARN is the role every AWS call of the release is made as (role.go); RoleExternalID the
	// external id its trust policy asks for.
	RoleARN        string `env:"ROLE_ARN"`
	RoleExternalID string `env:"ROLE_EXTERNAL_ID"`
	// SummaryFile is where the command mode writes the release's Markdown record (record.go);
	// OutputsFile is the file its output variables are appended to, as name=value lines.
	SummaryFile string `env:"SUMMARY_FILE"`
	OutputsFile string `env:"OUTPUTS_FILE"`

	// ImageRef is IMAGE parsed, once, when the settings are loaded or validated (resolveImage):
	// what every step reads. imageErr is why IMAGE does not parse, for Validate to say.
	ImageRef ImageRef
	imageErr error
}

// Identity is what names the command mode's release: RELEASE_ID, else CODEBUILD_BUILD_ID ("":
// none, the release cannot be resumed by a re-run).
func (s Settings) Identity() string { return cmp.Or(s.ReleaseID, s.BuildID) }

// resolveImage parses IMAGE into ImageRef: the one place IMAGE is parsed.
func (s *Settings) resolveImage() {
	s.ImageRef, s.imageErr = ImageRef{}, nil
	if s.Image != "" {
		s.ImageRef, s.imageErr = ParseImage(s.Image)
	}
}

// TagItems are INVALIDATION_TAGS as CreateInvalidation takes them: #tag.
func (s Settings) TagItems() []string {
	var out []string
	for _, t := range s.Tags {
		out = append(out, "#"+t)
	}
	return out
}

// InvalidationMode is how the release chooses what to invalidate: ModeTags with
// INVALIDATION_TAGS, ModeAuto with INVALIDATION_PATHS=auto, else ModePaths (the list itself).
func (s Settings) InvalidationMode() string {
	switch {
	case len(s.Tags) > 0:
		return ModeTags
	case len(s.Paths) == 1 && s.Paths[0] == ModeAuto:
		return ModeAuto
	}
	return ModePaths
}

// Default limits, when DEPLOY_TIMEOUT and ACTION_TIMEOUT are not set.
const (
	DefaultTimeout       = 30 * time.Minute
	DefaultActionTimeout = time.Hour
)

// Limit is the time limit in force for the mode, and says how it was chosen when a setting of
// the other mode was given, so that no setting is ignored in silence: the command mode runs
// under DEPLOY_TIMEOUT; the Lambda mode under ACTION_TIMEOUT, and DEPLOY_TIMEOUT too when set (the
// smaller wins). The settings stay as they were given.
func (s Settings) Limit(lambda bool) (limit time.Duration, note string) {
	if !lambda {
		limit = cmp.Or(s.Timeout, DefaultTimeout)
		if s.ActionTimeout != 0 {
			note = fmt.Sprintf("ACTION_TIMEOUT applies to the CodePipeline action (Lambda mode) only; this run's limit is DEPLOY_TIMEOUT (%v)", limit)
		}
		return limit, note
	}
	limit = cmp.Or(s.ActionTimeout, DefaultActionTimeout)
	if s.Timeout != 0 && s.Timeout < limit {
		note = fmt.Sprintf("DEPLOY_TIMEOUT (%v) is shorter than ACTION_TIMEOUT (%v): the action's limit is %v", s.Timeout, limit, s.Timeout)
		limit = s.Timeout
	}
	return limit, note
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

// SettingNames lists the variables Settings reads, from its struct tags.
func SettingNames() []string {
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

// LoadSettings reads settings through l (the environment, or UserParameters over it). Values
// that do not parse are one configuration error that names each variable, with an example.
func LoadSettings(ctx context.Context, l envconfig.Lookuper) (Settings, error) {
	var s Settings
	problems, bad := valueProblems(l)
	// The values that parse are loaded all the same, so Validate can name what else is wrong.
	hide := envconfig.LookuperFunc(func(key string) (string, bool) {
		if bad[key] {
			return "", false
		}
		return l.Lookup(key)
	})
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &s, Lookuper: hide}); err != nil {
		problems = append(problems, envName(err.Error()))
	}
	s.Services = trimAll(s.Services)
	s.Distributions = trimAll(s.Distributions)
	for i, d := range s.Distributions {
		s.Distributions[i] = distributionFromARN(d)
	}
	s.Paths = trimAll(s.Paths)
	s.Tags = trimAll(s.Tags)
	for i, t := range s.Tags {
		s.Tags[i] = strings.TrimPrefix(t, "#") // the leading # is optional; tagItems adds it
	}
	s.HookAnswer = strings.ToUpper(strings.TrimSpace(s.HookAnswer))
	s.VerifyURLs = trimAll(s.VerifyURLs)
	s.resolveImage()
	if len(problems) > 0 {
		return s, failure.New(failure.ErrConfig, "configuration: %s", strings.Join(problems, "; "))
	}
	return s, nil
}

// AllProblems is one configuration error of LoadSettings' error and Validate's (nil when both are).
func AllProblems(loadErr error, s *Settings) error {
	verr := s.Validate()
	switch {
	case loadErr == nil:
		return verr
	case verr == nil:
		return loadErr
	}
	return failure.New(failure.ErrConfig, "%s; %s", loadErr, strings.TrimPrefix(verr.Error(), "configuration: "))
}

// valueProblems checks that each value set parses as its setting's kind (a duration, a
// boolean, a whole number), all at once.
func valueProblems(l envconfig.Lookuper) (out []string, bad map[string]bool) {
	bad = map[string]bool{}
	for _, row := range settingsTable {
		v, ok := l.Lookup(row.Env)
		f, _ := field(row.Env)
		if !ok {
			continue
		}
		var err error
		want := ""
		switch f.Type {
		case reflect.TypeOf(time.Duration(0)):
			_, err = time.ParseDuration(v)
			want = "a duration with its unit"
		case reflect.TypeOf(false):
			_, err = strconv.ParseBool(v)
			want = "true or false"
		case reflect.TypeOf(0), reflect.TypeOf((*int)(nil)):
			_, err = strconv.Atoi(v)
			want = "a whole number"
		}
		if err != nil {
			out = append(out, fmt.Sprintf("%s=%q is not %s, like %s=%s", row.Env, failure.Clip(v), want, row.Env, row.Example))
			bad[row.Env] = true
		}
	}
	return out, bad
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
	return s.ImageRef.Tag
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
	s.resolveImage() // a flag or a test may have set IMAGE after LoadSettings
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
		return failure.New(failure.ErrConfig, "configuration: %s", strings.Join(problems, "; "))
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

// SimilarNames says of each variable in environ (NAME=value entries) that deploystep does not
// read but that is close to one it does (DISTRIBUTION_ID, SERVICES) which one was meant.
func SimilarNames(environ []string) []string {
	known := SettingNames()
	var out []string
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if value == "" || slices.Contains(known, name) { // set to "" is not set (EnvLookuper)
			continue
		}
		if k := Closest(name, known); k != "" {
			out = append(out, fmt.Sprintf("%s is set, but deploystep reads %s: did you mean %s?", name, k, k))
		}
	}
	slices.Sort(out)
	return out
}

// Closest is the known name that name is a likely typing of ("" when none): the same but for
// underscores or a plural S, or at most 2 edits apart for a name of 6 characters or more.
func Closest(name string, known []string) string {
	norm := func(s string) string { return strings.TrimSuffix(strings.ReplaceAll(strings.ToUpper(s), "_", ""), "S") }
	for _, k := range known {
		if norm(k) == norm(name) || len(name) >= 6 && editDistance(strings.ToUpper(name), k) <= 2 {
			return k
		}
	}
	return ""
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// Invalidation modes.
const (
	ModeAuto  = "auto"
	ModePaths = "paths"
	ModeTags  = "tags"
)

// PredeployCommand is the container override's command: a JSON array of strings as it is,
// anything else in the image's shell, as Docker's shell form runs it.
func PredeployCommand(v string) ([]string, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return nil, nil
	case strings.HasPrefix(v, "["):
		var cmd []string
		if err := json.Unmarshal([]byte(v), &cmd); err != nil {
			return nil, fmt.Errorf("starts with [ but is not a JSON array of strings (like [\"npm\",\"run\",\"migrate\"]): %v", err)
		}
		if len(cmd) == 0 || cmd[0] == "" {
			return nil, errors.New("the JSON array is empty")
		}
		return cmd, nil
	}
	return []string{"sh", "-c", v}, nil
}

// PredeployOn is the service whose revision and network the task takes.
func (s Settings) PredeployOn() string {
	if s.PredeployService != "" || len(s.Services) == 0 {
		return s.PredeployService
	}
	return s.Services[0]
}

// TaskDefIsFile says whether TASK_DEFINITION names a file: a path (a "/" that is not an ARN's)
// or a .json name. Families and revisions hold letters, digits, "_", "-" and ":" only.
func TaskDefIsFile(v string) bool {
	return !strings.HasPrefix(v, "arn:") && strings.Contains(v, "/") || strings.HasSuffix(v, ".json")
}

// Registers reports whether the release has a register step: IMAGE or TASK_DEFINITION set.
func (s Settings) Registers() bool {
	return s.HookAnswer == "" && (s.Image != "" || s.TaskDefinition != "")
}

// TaskDefName is the documented rule of family and container names: "Up to 255 letters (uppercase
// and lowercase), numbers, underscores, and hyphens are allowed." (RegisterTaskDefinition).
var TaskDefName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
