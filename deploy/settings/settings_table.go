package settings

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/deploystep/deploystep/deploy/edge"
	"github.com/deploystep/deploystep/deploy/failure"
)

// setting describes one variable once: -h (Usage), docs/settings.md's table (SettingsTable)
// and Validate read it, so a setting cannot be missing from any of them. Settings' struct tags
// give go-envconfig the same names; a test keeps the two lists equal.
type setting struct {
	Env, Flag, Default string
	Example            string // a value, as messages show it: "like CLUSTER=tsa-gallery"
	Help               string // one line for -h
	Doc                string // docs/settings.md's meaning
	// required says the setting is missing; missing is its name in "missing ..." (default Env).
	required  func(*Settings) bool
	missingAs string
	// check names what is wrong with the setting ("" problems: nothing).
	check func(*Settings) []string
}

func (r setting) missing() string {
	if r.missingAs != "" {
		return r.missingAs
	}
	return fmt.Sprintf("%s (like %s=%s)", r.Env, r.Env, r.Example)
}

// roleARNRule is an IAM role's ARN: arn:<partition>:iam::<account>:role/<path><name>, the name
// of [\w+=,.@-] (at most 64: validRoleARN; no counted repeat here, which would make the
// compiled program, and the Lambda's init, hundreds of states bigger).
var roleARNRule = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/(?:[\x21-\x7e]*/)?([\w+=,.@-]+)$`)

// validRoleARN says whether s is an IAM role's ARN within IAM's limits (a name of 1 to 64
// characters, a path of at most 512, the ARN at most 2,048: STS's RoleArn).
func validRoleARN(s string) bool {
	m := roleARNRule.FindStringSubmatch(s)
	return m != nil && len(m[1]) <= 64 && len(s) <= 2048 && len(s)-len(m[1]) <= len("arn:aws-us-gov:iam::123456789012:role/")+512
}

// externalIDRule is AssumeRole's ExternalId: 2 to 1224 characters of [\w+=,.@:\/-].
var externalIDRule = regexp.MustCompile(`^[\w+=,.@:/-]+$`)

// maxDesiredCount is ECS's quota of tasks per service (Service Quotas: "Tasks per service", 5,000).
const maxDesiredCount = 5000

// problems collects messages.
func problems(msgs ...string) []string {
	var out []string
	for _, m := range msgs {
		if m != "" {
			out = append(out, m)
		}
	}
	return out
}

func when(cond bool, format string, args ...any) string {
	if cond {
		return fmt.Sprintf(format, args...)
	}
	return ""
}

func oneOf(env, got string, allowed ...string) string {
	for _, a := range allowed {
		if got == a {
			return ""
		}
	}
	list := strings.Join(allowed, " or ")
	if n := len(allowed); n > 2 {
		list = strings.Join(allowed[:n-1], ", ") + " or " + allowed[n-1]
	}
	return fmt.Sprintf("%s must be %s, got %q", env, list, failure.Clip(got))
}

var settingsTable = []setting{
	{Env: "CLUSTER", Example: "tsa-gallery", Default: "(required)", Help: "ECS cluster (required)", Doc: "ECS cluster name or ARN",
		required: func(s *Settings) bool { return s.Cluster == "" },
		check: func(s *Settings) []string {
			return problems(when(s.Cluster != "" && !validName(s.Cluster), "CLUSTER %q is not a cluster name or ARN", failure.Clip(s.Cluster)))
		}},
	{Env: "SERVICE", Example: "api", Default: "(required)", Help: "ECS service; a comma-separated list deploys several in parallel (required)",
		Doc:      "service name; a comma-separated list deploys several services of the cluster in parallel",
		required: func(s *Settings) bool { return len(s.Services) == 0 },
		check: func(s *Settings) []string {
			out := problems(when(dup(s.Services) != "", "SERVICE lists %q twice", dup(s.Services)))
			for _, n := range s.Services {
				out = append(out, problems(when(!validName(n), "SERVICE %q is not a service name or ARN", failure.Clip(n)))...)
			}
			return out
		}},
	{Env: "DISTRIBUTIONID", Example: "E2QWRUHAPOMQZL", Default: "(required)", Help: "CloudFront distribution id(s) or ARN(s), comma-separated (required unless -skip-invalidation)",
		Doc:       "CloudFront distribution id or ARN; comma-separated list allowed. Checked only as far as AWS defines it (a path segment); CloudFront says whether it exists",
		required:  func(s *Settings) bool { return len(s.Distributions) == 0 && !s.SkipInvalidation },
		missingAs: "DISTRIBUTIONID (like DISTRIBUTIONID=E2QWRUHAPOMQZL; or SKIP_INVALIDATION=true, -skip-invalidation, to invalidate nothing)",
		check: func(s *Settings) []string {
			out := problems(when(dup(s.Distributions) != "", "DISTRIBUTIONID lists %q twice", dup(s.Distributions)))
			for _, d := range s.Distributions {
				if strings.Contains(d, ".") { // a domain: ids are letters and digits (E2QWRUHAPOMQZL)
					out = append(out, fmt.Sprintf("DISTRIBUTIONID %q is a domain name, not the distribution's id (like E2QWRUHAPOMQZL); "+
						"aws cloudfront list-distributions --query \"DistributionList.Items[?DomainName=='%s'||contains(Aliases.Items||[''],'%s')].Id\" prints it", failure.Clip(d), failure.Clip(d), failure.Clip(d)))
					continue
				}
				out = append(out, problems(when(!validDistribution(d), "DISTRIBUTIONID %q is not a distribution id (like E2QWRUHAPOMQZL) or ARN", failure.Clip(d)))...)
			}
			return out
		}},
	{Env: "SKIP_INVALIDATION", Example: "true", Flag: "skip-invalidation", Default: "false", Help: "do not invalidate CloudFront",
		Doc: "no invalidation (then `DISTRIBUTIONID` is not needed)"},
	{Env: "INVALIDATION_PATHS", Example: "/static/*,/index.html", Default: "`auto`", Help: "auto (what the distribution's cache behaviours can have cached from the services' load balancers), or the paths to invalidate, comma-separated (default auto)",
		Doc: "`auto`: read the distribution's configuration and invalidate the path patterns of the cache behaviours that send requests to the services' load balancers and can cache (none: no invalidation; anything it cannot tell: `/*`, said why). Or a list: comma-separated, each starts with `/`, `*` only at the end, URL-encoded, at most 3,000 paths and 15 wildcards (CloudFront's in-progress limits); `/*` is what deploystep sent before `auto`",
		check: func(s *Settings) []string {
			auto := len(s.Paths) == 1 && s.Paths[0] == ModeAuto // the default too
			switch {
			case s.SkipInvalidation || auto:
				return nil
			case slices.Contains(s.Paths, ModeAuto):
				return []string{"INVALIDATION_PATHS: auto stands alone (it chooses the paths), not in a list"}
			case len(s.Tags) > 0:
				return []string{"INVALIDATION_PATHS and INVALIDATION_TAGS are both set: a release invalidates by paths or by cache tags; unset one"}
			}
			return problems(when(CheckPaths(s.Paths) != "", "INVALIDATION_PATHS: %s", CheckPaths(s.Paths)))
		}},
	{Env: "INVALIDATION_TAGS", Example: "api,photos", Help: "cache tags to invalidate instead of paths, comma-separated (the distribution needs a CacheTagConfig)",
		Doc: "comma-separated cache tags (a leading `#` is optional); each is sent as `#tag`, ASCII 33-126 without commas or `*`, at most 256 characters; the distribution must have a `CacheTagConfig` (checked before anything changes, exit 2). Each tag counts as one path of CloudFront's in-progress limits",
		check: func(s *Settings) []string {
			if s.SkipInvalidation {
				return nil
			}
			var out []string
			for _, t := range s.Tags {
				if why := checkTag(t); why != "" {
					out = append(out, fmt.Sprintf("INVALIDATION_TAGS: tag %q %s", failure.Clip(t), why))
				}
			}
			return append(out, problems(when(len(s.Tags) > 3000, "INVALIDATION_TAGS: %d tags; CloudFront takes at most 3000 paths and tags in progress per distribution", len(s.Tags)),
				when(dup(s.Tags) != "", "INVALIDATION_TAGS lists %q twice", dup(s.Tags)))...)
		}},
	{Env: "IMAGE", Example: "123456789012.dkr.ecr.us-east-1.amazonaws.com/tsa/gallery:3f2c1ab", Help: "pushed image, <account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag> or @sha256:<digest>; the release registers a task-definition revision that names its digest, and the new tasks must run it",
		Doc: "`<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>` or `…@sha256:<digest>`; checked before anything changes; the release registers a task-definition revision whose containers of IMAGE's repository (or `<IMAGE1_NAME>`) name its digest, deploys it, and the new tasks must run that digest",
		check: func(s *Settings) []string {
			if s.Image == "" {
				return nil
			}
			return problems(when(s.imageErr != nil, "IMAGE: %v", s.imageErr))
		}},
	{Env: "TASK_DEFINITION", Example: "api:12", Default: "the service's", Help: "the base of the release's revision: a family, family:revision, ARN, or a JSON file (register-task-definition --cli-input-json form)",
		Doc: "the base of the release's task-definition revision: a family (its latest ACTIVE revision), `family:revision`, an ARN, or a JSON file as `aws ecs register-task-definition --cli-input-json` takes it (a saved `describe-task-definition` answer too). Without `IMAGE` a revision is deployed as it is and a file registered as it is",
		check: func(s *Settings) []string {
			v := s.TaskDefinition
			if v == "" || TaskDefIsFile(v) || strings.HasPrefix(v, "arn:") && strings.Contains(v, ":task-definition/") {
				return nil
			}
			family, rev, numbered := strings.Cut(v, ":")
			_, err := strconv.Atoi(rev)
			return problems(when(!TaskDefName.MatchString(family) || numbered && err != nil,
				"TASK_DEFINITION %q is not a family, family:revision, task-definition ARN or JSON file (like api, api:12, ./taskdef.json)", failure.Clip(v)))
		}},
	{Env: "DIGEST_CHECK", Example: "warn", Default: "`fail`", Help: "fail or warn: tasks that report no image digest (default fail)",
		Doc:   "with `IMAGE`: what a completed deployment whose running tasks report no image digest means (tasks on older EC2 container agents; emulators). `fail`: exit 1 after 3 reads; `warn`: success with a warning",
		check: func(s *Settings) []string { return problems(oneOf("DIGEST_CHECK", s.DigestCheck, "fail", "warn")) }},
	{Env: "CALLER_REFERENCE", Example: "release-2026-12-01", Default: "derived (see below)", Help: "invalidation CallerReference (default: from CODEBUILD_BUILD_ID and what the step changes)",
		Doc: "the invalidation's CallerReference (at most 128 characters)",
		check: func(s *Settings) []string {
			return problems(when(len(s.CallerReference) > 128, "CALLER_REFERENCE is %d characters; at most 128", len(s.CallerReference)))
		}},
	{Env: "CODEBUILD_BUILD_ID", Example: "tsa-gallery-api:5e6f7a8b-0000-4000-8000-000000000001", Default: "(CodeBuild's)", Help: "set by CodeBuild: names the release, so a re-run of the step resumes it",
		Doc: "set by CodeBuild; names the release (its identity), so running the step again in the same build resumes it"},
	{Env: "RELEASE_ID", Example: "github-tsa/gallery-12345678901-deploy", Default: "CODEBUILD_BUILD_ID", Help: "names the release, so a re-run of the step resumes it (default CODEBUILD_BUILD_ID; the GitHub Action: the workflow run and job)",
		Doc: "names the release (its identity) outside CodeBuild, so running the step again resumes it instead of starting another deployment; the GitHub Action sets it from the workflow run and job (a re-run of the job resumes); at most 256 characters",
		check: func(s *Settings) []string {
			return problems(when(len(s.ReleaseID) > 256 || strings.ContainsAny(s.ReleaseID, "\x00\n\r"), "RELEASE_ID must be one line of at most 256 characters"))
		}},
	{Env: "DEPLOY_TIMEOUT", Example: "30m", Flag: "timeout", Default: "`30m`", Help: "limit for the whole run (default 30m)",
		Doc: "limit for the whole run; every wait is bounded by it. In the Lambda mode it also bounds the action when it is shorter than `ACTION_TIMEOUT`",
		check: func(s *Settings) []string {
			return problems(when(s.Timeout < 0, "DEPLOY_TIMEOUT must be positive, like 30m"))
		}},
	{Env: "POLL_INTERVAL", Example: "2s", Flag: "poll", Default: "`1s`", Help: "time between status reads (default 1s)",
		Doc: "time between status reads (100ms to 5m)",
		check: func(s *Settings) []string {
			return problems(when(s.Poll < 100*time.Millisecond || s.Poll > 5*time.Minute, "POLL_INTERVAL must be between 100ms and 5m, got %v", s.Poll))
		}},
	{Env: "HEARTBEAT", Example: "1m", Default: "`30s`", Help: "longest silence while waiting: then a line says what is awaited (default 30s)",
		Doc: "longest silence while waiting (1s to 10m): then a line says how long the run has waited against its limit, and for what",
		check: func(s *Settings) []string {
			return problems(when(s.Heartbeat != 0 && (s.Heartbeat < time.Second || s.Heartbeat > 10*time.Minute), "HEARTBEAT must be between 1s and 10m, got %v", s.Heartbeat))
		}},
	{Env: "FAILED_TASKS_THRESHOLD", Example: "5", Default: "the breaker's", Help: "failed tasks that fail the deployment (default: the service's circuit breaker threshold; without a breaker max(3, desired/2))",
		Doc: "failed tasks of the new deployment that fail it. Unset: with the circuit breaker on, its own threshold (`thresholdConfiguration` COUNT, BOUNDED_PERCENT of the desired count within 3 to 200, the default 50 %, or UNBOUNDED_PERCENT; with `resetOnHealthyTask`, left to ECS once a new task runs); without it max(3, desired/2), so a crash loop fails fast. The failure says which rule applied",
		check: func(s *Settings) []string {
			return problems(when(s.FailedTasks < 0, "FAILED_TASKS_THRESHOLD must not be negative"))
		}},
	{Env: "DESIRED_COUNT", Example: "2", Default: "(the service's own)", Help: "the desired count the release sets (default: the service keeps its own)",
		Doc: "the desired count the release's UpdateService sets (1 to 5,000), as aws-actions' `desired-count` does; brings a service created without tasks up. Leave it unset when Application Auto Scaling owns the count. Not for CODE_DEPLOY services (exit 2)",
		check: func(s *Settings) []string {
			n := s.DesiredCount
			return problems(when(n != nil && (*n < 1 || *n > maxDesiredCount), "DESIRED_COUNT must be between 1 and %d (ECS's tasks per service), got %d", maxDesiredCount, deref(n)))
		}},
	{Env: "WAIT_UNTIL", Example: "traffic-shifted", Default: "`completed`", Help: "completed, traffic-shifted (BLUE_GREEN, LINEAR, CANARY) or paused (default completed)",
		Doc: "`completed`: the service deployment is SUCCESSFUL (after bake time and clean-up); `traffic-shifted`: all production traffic is on the new revision (BLUE_GREEN, LINEAR, CANARY; ECS finishes the bake alone, and a rollback after that is not seen by deploystep); `paused`: exit 0 when the deployment reaches a PAUSE hook, no invalidation yet, the hook and service deployment printed and in the Lambda outputs `PausedHooks` and `ServiceDeployments`; a later step answers it with `HOOK_ANSWER` (docs/deployments.md, \"Answered by an approval\")",
		check: func(s *Settings) []string {
			return problems(oneOf("WAIT_UNTIL", s.WaitUntil, "completed", "traffic-shifted", "paused"),
				when(s.WaitUntil == "paused" && s.HookCommand != "", "WAIT_UNTIL=paused and HOOK_COMMAND are both set: the step either answers the hook (HOOK_COMMAND) or stops at it (paused); unset one"))
		}},
	{Env: "HOOK_ANSWER", Example: "CONTINUE", Help: "CONTINUE or ROLLBACK: answer the deployment a WAIT_UNTIL=paused step left at a PAUSE hook, then go on as a release does",
		Doc: "`CONTINUE` or `ROLLBACK`: instead of starting a deployment, find the service's deployment paused at a PAUSE hook (the one the WAIT_UNTIL=paused step of this release left, or the only one), answer that hook once (ContinueServiceDeployment), and go on as a release does: follow it to its end, invalidate, verify the edge. ROLLBACK follows the rollback and exits 1 (\"rolled back as answered\"). No paused deployment: exit 2 naming what was found",
		check: func(s *Settings) []string {
			if s.HookAnswer == "" {
				return nil
			}
			return problems(oneOf("HOOK_ANSWER", s.HookAnswer, "CONTINUE", "ROLLBACK"),
				when(s.HookCommand != "", "HOOK_ANSWER and HOOK_COMMAND are both set: the hook is answered by one of them; unset one"),
				when(s.WaitUntil == "paused", "HOOK_ANSWER and WAIT_UNTIL=paused are both set: the step that stops at the hook and the one that answers it are two steps"),
				when(s.PredeployCommand != "", "HOOK_ANSWER and PREDEPLOY_COMMAND are both set: the migration ran in the step that started the deployment"))
		}},
	{Env: "HOOK_COMMAND", Example: "curl -fsS $TEST_LISTENER_URL/api/health", Help: "run at a PAUSE lifecycle hook: exit 0 continues, else rolls back (HOOK_TIMEOUT, default 10m)",
		Doc: "run (`sh -c`) when the deployment pauses at a PAUSE lifecycle hook; exit 0 answers ContinueServiceDeployment CONTINUE, anything else ROLLBACK. Its environment: `DEPLOY_STAGE`, `SERVICE_DEPLOYMENT_ARN`, `HOOK_ID`, `CLUSTER`, `SERVICE`, `TEST_LISTENER_URL`"},
	{Env: "HOOK_TIMEOUT", Example: "5m", Default: "`10m`", Help: "limit for one HOOK_COMMAND (default 10m)",
		Doc: "limit for one HOOK_COMMAND (a command that runs out rolls back)",
		check: func(s *Settings) []string {
			return problems(when(s.HookTimeout <= 0 || s.HookTimeout > 24*time.Hour, "HOOK_TIMEOUT must be between 0 and 24h, got %v", s.HookTimeout))
		}},
	{Env: "PREDEPLOY_COMMAND", Example: "npm run migrate", Help: "run once in one task of the release's revision before any service moves (a migration); exit 0 or the release stops",
		Doc: "after the image check and the revision, before any service is updated: one task of the release's revision runs this command (a JSON array of strings as it is, anything else as `sh -c`) in the container of `IMAGE` (or `PREDEPLOY_CONTAINER`), with the network and launch settings of `PREDEPLOY_SERVICE`; the release goes on only when it exits 0, its log lines printed as they come (docs/revisions.md)",
		check: func(s *Settings) []string {
			_, err := PredeployCommand(s.PredeployCommand)
			return problems(when(err != nil, "PREDEPLOY_COMMAND: %v", err),
				when(s.PredeployCommand == "" && s.PredeployContainer != "", "PREDEPLOY_CONTAINER is set without PREDEPLOY_COMMAND"),
				when(s.PredeployCommand == "" && s.PredeployService != "", "PREDEPLOY_SERVICE is set without PREDEPLOY_COMMAND"))
		}},
	{Env: "PREDEPLOY_CONTAINER", Example: "migrate", Default: "the container of IMAGE", Help: "the container PREDEPLOY_COMMAND runs in (default: the one running IMAGE)",
		Doc: "the container of the revision that runs `PREDEPLOY_COMMAND` (the container override); default the one whose image is `IMAGE`'s repository, or the only one",
		check: func(s *Settings) []string {
			return problems(when(s.PredeployContainer != "" && !TaskDefName.MatchString(s.PredeployContainer), "PREDEPLOY_CONTAINER %q is not a container name (letters, numbers, - and _, at most 255)", failure.Clip(s.PredeployContainer)))
		}},
	{Env: "PREDEPLOY_SERVICE", Example: "api", Default: "the first of SERVICE", Help: "the service whose network, launch settings and revision the pre-deploy task takes",
		Doc: "the service (one of `SERVICE`) whose revision, network configuration (subnets, security groups, public IP), launch type or capacity provider strategy and platform version the pre-deploy task takes",
		check: func(s *Settings) []string {
			return problems(when(s.PredeployService != "" && len(s.Services) > 0 && !slices.Contains(s.Services, s.PredeployService),
				"PREDEPLOY_SERVICE %q is not one of SERVICE (%s)", failure.Clip(s.PredeployService), strings.Join(s.Services, ",")))
		}},
	{Env: "PREDEPLOY_TIMEOUT", Example: "10m", Default: "`15m`", Help: "limit for the pre-deploy task: then it is stopped and the run exits 3 (default 15m)",
		Doc: "limit for the pre-deploy task from its start: the task is stopped (StopTask, once) and the run exits 3",
		check: func(s *Settings) []string {
			return problems(when(s.PredeployCommand != "" && (s.PredeployTimeout <= 0 || s.PredeployTimeout > 24*time.Hour), "PREDEPLOY_TIMEOUT must be between 0 and 24h, got %v", s.PredeployTimeout))
		}},
	{Env: "TEST_LISTENER_URL", Example: "http://tsa-APIALB-1234567890.us-east-1.elb.amazonaws.com:8080", Help: "passed to HOOK_COMMAND: where the new revision takes test traffic",
		Doc: "where the new revision answers test traffic, passed to HOOK_COMMAND"},
	{Env: "ROLLBACK", Example: "on-failure", Default: "`never`", Help: "never or on-failure: roll back on deploystep's own failure verdict or timeout (default never)",
		Doc:   "`on-failure`: when deploystep itself decides failure (tasks keep failing without a breaker, wrong or missing digest) or times out, it stops the deployment with a rollback once (across re-runs and invocations) and follows the rollback (at most 10 minutes); the message says how it ended",
		check: func(s *Settings) []string { return problems(oneOf("ROLLBACK", s.Rollback, "never", "on-failure")) }},
	{Env: "OUTPUT", Example: "json", Flag: "output", Default: "`text`", Help: "text, json or github (default text)",
		Doc:   "`text` for CI logs, `json` for JSON lines (one event per line), `github` for GitHub Actions: text, with each failure an `::error` annotation and the workflow commands of everything else (task logs, AWS messages) stopped",
		check: func(s *Settings) []string { return problems(oneOf("OUTPUT", s.Output, "text", "json", "github")) }},
	{Env: "DRY_RUN", Example: "true", Flag: "dry-run", Default: "false", Help: "check everything read-only and print the plan; change nothing",
		Doc: "read-only preflight of everything a run needs, then the plan; no change"},
	{Env: "VERIFY_URL", Example: "https://d111111abcdef8.cloudfront.net/api/health", Help: "URL(s) through the edge that must serve the new version after the invalidations, comma-separated",
		Doc: "comma-separated http(s) URLs (at most 20) fetched after the invalidations until each answers 2xx with the expected version (docs/invalidation.md, \"Proof through the edge\")",
		check: func(s *Settings) []string {
			out := problems(when(len(s.VerifyURLs) > edge.MaxURLs, "VERIFY_URL lists %d URLs; at most %d", len(s.VerifyURLs), edge.MaxURLs))
			for _, u := range s.VerifyURLs {
				out = append(out, problems(when(edge.Check(u) != "", "VERIFY_URL: %s", edge.Check(u)))...)
			}
			return append(out, problems(when(dup(s.VerifyURLs) != "", "VERIFY_URL lists %s twice", edge.Redact(dup(s.VerifyURLs))))...)
		}},
	{Env: "VERIFY_EXPECT", Example: "3f2c1ab", Default: "IMAGE's tag", Help: "the version VERIFY_URL must serve (default: IMAGE's tag)",
		Doc: "the version the answer must carry; without it and without an IMAGE tag, status-only",
		check: func(s *Settings) []string {
			return problems(when(len(s.VerifyExpect) > 256 || strings.ContainsAny(s.VerifyExpect, "\r\n"), "VERIFY_EXPECT must be one line of at most 256 characters"))
		}},
	{Env: "VERIFY_HEADER", Example: "X-App-Version", Help: "look for the version in this response header instead of the body",
		Doc: "look for the version in this response header instead of the body",
		check: func(s *Settings) []string {
			return problems(when(s.VerifyHeader != "" && !edge.ValidHeader(s.VerifyHeader), "VERIFY_HEADER %q is not an HTTP header name", failure.Clip(s.VerifyHeader)))
		}},
	{Env: "VERIFY_TIMEOUT", Example: "2m", Default: "`2m`", Help: "limit for the edge verification (default 2m)",
		Doc: "limit for the edge verification (1s to 1h), across Lambda invocations",
		check: func(s *Settings) []string {
			return problems(when(s.VerifyTimeout < time.Second || s.VerifyTimeout > time.Hour, "VERIFY_TIMEOUT must be between 1s and 1h, got %v", s.VerifyTimeout))
		}},
	{Env: "CODEDEPLOY_APPLICATION", Example: "tsa-gallery-api", Default: "(searched)", Help: "CODE_DEPLOY services: the CodeDeploy application (default: searched for)",
		Doc: "services on the CODE_DEPLOY controller: the CodeDeploy application; without it, the application whose deployment group deploys the service is searched for",
		check: func(s *Settings) []string {
			return problems(when(len(s.CodeDeployApplication) > 100 || len(s.CodeDeployGroup) > 100, "CODEDEPLOY_APPLICATION and CODEDEPLOY_DEPLOYMENT_GROUP are at most 100 characters"))
		}},
	{Env: "CODEDEPLOY_DEPLOYMENT_GROUP", Example: "tsa-gallery-api-bluegreen", Default: "(searched)", Help: "with CODEDEPLOY_APPLICATION: the deployment group",
		Doc: "with `CODEDEPLOY_APPLICATION`: the deployment group",
		check: func(s *Settings) []string {
			return problems(when(s.CodeDeployGroup != "" && s.CodeDeployApplication == "", "CODEDEPLOY_DEPLOYMENT_GROUP needs CODEDEPLOY_APPLICATION"))
		}},
	{Env: "ACTION_TIMEOUT", Example: "1h", Default: "`1h`", Help: "Lambda mode: limit for the pipeline action across invocations (default 1h)",
		Doc: "Lambda mode: limit for the whole pipeline action across invocations (at most 24h). Set in the command mode, it is named in a warning, not applied",
		check: func(s *Settings) []string {
			return problems(when(s.ActionTimeout < 0 || s.ActionTimeout > 24*time.Hour, "ACTION_TIMEOUT must be between 0 and 24h (CodePipeline's limit), got %v", s.ActionTimeout))
		}},
	{Env: "ROLE_ARN", Example: "arn:aws:iam::210987654321:role/deploystep-deploy", Flag: "role-arn", Help: "make every AWS call of the release as a session of this IAM role (another account's deploy role)",
		Doc: "every AWS call of the release is made with one `sts:AssumeRole` session of this role, named after the release and renewed before it expires (docs/running.md, \"Releases into another account\"); refused: exit 2 naming the role and the caller, before anything changes",
		check: func(s *Settings) []string {
			return problems(when(s.RoleARN != "" && !validRoleARN(s.RoleARN), "ROLE_ARN %q is not an IAM role ARN, like ROLE_ARN=arn:aws:iam::210987654321:role/deploystep-deploy", failure.Clip(s.RoleARN)))
		}},
	{Env: "ROLE_EXTERNAL_ID", Example: "tsa-prod-7f3a", Help: "with ROLE_ARN: the external id the role's trust policy asks for (sts:ExternalId)",
		Doc: "with `ROLE_ARN`: the external id the role's trust policy requires (`sts:ExternalId`); 2 to 1,224 characters of letters, digits and `_+=,.@:/-`",
		check: func(s *Settings) []string {
			return problems(when(s.RoleExternalID != "" && s.RoleARN == "", "ROLE_EXTERNAL_ID needs ROLE_ARN"),
				when(s.RoleExternalID != "" && (len(s.RoleExternalID) < 2 || len(s.RoleExternalID) > 1224 || !externalIDRule.MatchString(s.RoleExternalID)), "ROLE_EXTERNAL_ID must be 2 to 1224 characters of letters, digits and _+=,.@:/- (STS's rule)"))
		}},
	{Env: "SUMMARY_FILE", Example: "release.md", Flag: "summary-file", Help: "write the release's Markdown record here at the end (success or failure)",
		Doc: "command mode: at the end, success or failure, the release's Markdown record (outcome, identity, revisions, deployments, timelines, a Mermaid gantt, the invalidation, the edge proof, console links) is written to this file atomically; `$GITHUB_STEP_SUMMARY` works (docs/record.md)",
		check: func(s *Settings) []string {
			return problems(when(strings.ContainsAny(s.SummaryFile, "\x00\n"), "SUMMARY_FILE must be a file path"))
		}},
	{Env: "OUTPUTS_FILE", Example: "$GITHUB_OUTPUT", Flag: "outputs-file", Help: "append the release's output variables here as name=value lines at the end",
		Doc: "command mode: at the end, the release's output variables (`Result`, `ImageDigest`, `TaskDefinitions`, `DeploymentIds`, `InvalidationIds`, `VerifiedVersion`, `PausedHooks`, `ServiceDeployments`: the CodePipeline action's) are appended to this file as `name=value` lines; `$GITHUB_OUTPUT` makes them a GitHub step's outputs",
		check: func(s *Settings) []string {
			return problems(when(strings.ContainsAny(s.OutputsFile, "\x00\n"), "OUTPUTS_FILE must be a file path"))
		}},
}

func deref(n *int) int {
	if n == nil {
		return 0
	}
	return *n
}

// Usage is the -h text: the settings, how AWS access is configured, the exit codes.
func Usage(version string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "deploystep %s: finish a container release on AWS (ECR image check, ECS deployment, CloudFront invalidation, proof through the edge)\n\n", version)
	b.WriteString("usage: deploystep [flags]\n\nSettings come from the environment; a flag overrides its variable.\n")
	for _, r := range settingsTable {
		flag := ""
		if r.Flag != "" {
			flag = "  -" + r.Flag
		}
		fmt.Fprintf(&b, "  %-28s %s%s\n", r.Env, r.Help, flag)
	}
	b.WriteString(`AWS access: the standard SDK chain (AWS_REGION, AWS_PROFILE, credentials, AWS_ENDPOINT_URL[_<SERVICE>]).

Exit codes:
  0    success
  1    deployment failed (rollout FAILED, rolled back, stopped, replaced, tasks keep failing, wrong digest,
       invalidation failed, the edge does not serve the new version)
  2    configuration or usage error (missing or invalid settings; cluster, service, distribution,
       repository or tag not found; access denied)
  3    timed out (DEPLOY_TIMEOUT)
  130  interrupted by SIGINT or SIGTERM

Flags:
`)
	return b.String()
}

// SettingsTable is docs/settings.md's table of settings (Markdown).
func SettingsTable() string {
	var b strings.Builder
	b.WriteString("| variable | flag | default | meaning |\n| --- | --- | --- | --- |\n")
	for _, r := range settingsTable {
		flag := ""
		if r.Flag != "" {
			flag = "`-" + r.Flag + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", r.Env, flag, r.Default, r.Doc)
	}
	b.WriteString("| | `-version`, `-h` | | |\n")
	return b.String()
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

// Lengths are checked in code: counted repetitions like {0,254} compile into large programs
// that cost start-up time (Lambda init) on every run.
var serviceNameRE = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9_-]*|arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]+:[a-z-]+/[A-Za-z0-9/_-]+)$`)

// validName reports whether s is an ECS cluster or service name or ARN.
func validName(s string) bool { return len(s) <= 600 && serviceNameRE.MatchString(s) }

// checkTag says what is wrong with a cache tag, "" when nothing (Developer Guide, "What you need
// to know when invalidating tags": ASCII visible characters, 33-126, without commas; at most 256
// characters; no * wildcard).
func checkTag(t string) string {
	switch {
	case t == "":
		return "is empty"
	case len(t) > 256:
		return "is longer than 256 characters"
	case strings.Contains(t, "*"):
		return "has a *: tag invalidations take no wildcard"
	}
	for _, r := range t {
		if r < 33 || r > 126 {
			return "has a character outside ASCII 33-126 (spaces and control characters too)"
		}
	}
	return ""
}

// CheckPaths says what is wrong with invalidation paths as CloudFront takes them ("" when
// nothing).
func CheckPaths(paths []string) string {
	if len(paths) == 0 {
		return "no paths"
	}
	if len(paths) > 3000 {
		return fmt.Sprintf("%d paths; CloudFront takes at most 3000 in progress per distribution", len(paths))
	}
	wild := 0
	for _, p := range paths {
		if !strings.HasPrefix(p, "/") {
			return fmt.Sprintf("path %q must start with /", failure.Clip(p))
		}
		if len(p) > 4000 {
			return fmt.Sprintf("path %q is longer than 4000 characters", failure.Clip(p))
		}
		for _, r := range p {
			if r > unicode.MaxASCII || unicode.IsSpace(r) || unicode.IsControl(r) {
				return fmt.Sprintf("path %q has a space or non-ASCII character: URL-encode it (%%20, %%C3%%A9, ...)", failure.Clip(p))
			}
		}
		if strings.Contains(p, "*") {
			if strings.Index(p, "*") != len(p)-1 {
				return fmt.Sprintf("path %q: a * must be the last character", failure.Clip(p))
			}
			wild++
		}
	}
	if wild > 15 {
		return fmt.Sprintf("%d wildcard paths; CloudFront takes at most 15 in progress", wild)
	}
	return ""
}

// Row is one setting as the table describes it, for what lists the settings outside this
// package (the GitHub Action's inputs).
type Row struct{ Env, Flag, Default, Help, Doc string }

// Rows are the settings, in the table's order.
func Rows() []Row {
	out := make([]Row, len(settingsTable))
	for i, r := range settingsTable {
		out[i] = Row{Env: r.Env, Flag: r.Flag, Default: r.Default, Help: r.Help, Doc: r.Doc}
	}
	return out
}
