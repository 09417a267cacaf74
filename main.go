// Command deploystep finishes a container release on AWS: it checks the pushed ECR image,
// forces a new ECS deployment, follows that deployment to the end (or fails fast with the
// reason), then invalidates CloudFront and waits for it. main only parses, picks the mode (a
// command, or a Lambda function when AWS_LAMBDA_RUNTIME_API is set) and hands over to deploy.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"deploystep/deploy"
)

var version = "dev"

const usage = `deploystep %s: finish a container release on AWS (ECR image check, ECS deployment, CloudFront invalidation)

usage: deploystep [flags]

Settings come from the environment; a flag overrides its variable.
  CLUSTER                  ECS cluster (required)
  SERVICE                  ECS service; a comma-separated list deploys several in parallel (required)
  DISTRIBUTIONID           CloudFront distribution id(s) or ARN(s), comma-separated (required unless -skip-invalidation)
  INVALIDATION_PATHS       paths to invalidate, comma-separated (default /*)
  IMAGE                    pushed image, <account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag> or @sha256:<digest>;
                           checked before deploying, and the new tasks must run its digest
  CALLER_REFERENCE         invalidation CallerReference (default: from CODEBUILD_BUILD_ID and what the step
                           changes, so a re-run of the step reuses it and another step gets its own)
  DIGEST_CHECK             fail or warn: tasks that report no image digest (default fail)
  WAIT_UNTIL               completed or traffic-shifted (BLUE_GREEN, LINEAR, CANARY) (default completed)
  HOOK_COMMAND             run at a PAUSE lifecycle hook: exit 0 continues, else rolls back (HOOK_TIMEOUT, default 10m)
  TEST_LISTENER_URL        passed to HOOK_COMMAND: where the new revision takes test traffic
  ROLLBACK                 never or on-failure: stop the deployment with a rollback on deploystep's own
                           failure verdict or timeout (default never)
  DEPLOY_TIMEOUT           limit for the whole run (default 30m)          -timeout
  ACTION_TIMEOUT           Lambda mode: limit for the pipeline action across invocations (default 1h)
  POLL_INTERVAL            time between status reads (default 1s)         -poll
  FAILED_TASKS_THRESHOLD   failed tasks that fail the deployment (default max(3, desired/2))
  DESIRED_COUNT            the desired count the release sets (default: the service keeps its own)
  OUTPUT                   text or json (default text)                    -output
  DRY_RUN                  check everything read-only and print the plan  -dry-run
  SKIP_INVALIDATION        do not invalidate CloudFront                   -skip-invalidation
AWS access: the standard SDK chain (AWS_REGION, AWS_PROFILE, credentials, AWS_ENDPOINT_URL[_<SERVICE>]).

Exit codes:
  0    success
  1    deployment failed (rollout FAILED, rolled back, stopped, replaced, tasks keep failing, wrong digest,
       invalidation failed)
  2    configuration or usage error (missing or invalid settings; cluster, service, distribution,
       repository or tag not found; access denied)
  3    timed out (DEPLOY_TIMEOUT)
  130  interrupted by SIGINT or SIGTERM

Flags:
`

func main() {
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		deploy.StartLambda()
		return
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run parses the flags over the environment's settings and hands over to deploy.RunCLI. A flag
// is bound to the settings field its variable fills, so it overrides that variable.
func run(args []string, stdout, stderr io.Writer) int {
	s, loadErr := deploy.LoadSettings(context.Background(), deploy.EnvLookuper())
	fs := flag.NewFlagSet("deploystep", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, usage, version)
		fs.PrintDefaults()
	}
	fs.BoolVar(&s.DryRun, "dry-run", s.DryRun, "check everything read-only and print the plan; change nothing (DRY_RUN)")
	fs.DurationVar(&s.Timeout, "timeout", s.Timeout, "limit for the whole run (DEPLOY_TIMEOUT; 0 means 30m)")
	fs.DurationVar(&s.Poll, "poll", s.Poll, "time between status reads (POLL_INTERVAL)")
	fs.StringVar(&s.Output, "output", s.Output, "text or json (OUTPUT)")
	fs.BoolVar(&s.SkipInvalidation, "skip-invalidation", s.SkipInvalidation, "do not invalidate CloudFront (SKIP_INVALIDATION)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return deploy.ExitOK
		}
		return deploy.ExitConfig
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "deploystep: unexpected argument %q (settings come from the environment; see -h)\n", fs.Arg(0))
		return deploy.ExitConfig
	}
	if *showVersion {
		fmt.Fprintln(stdout, "deploystep", version)
		return deploy.ExitOK
	}
	if loadErr != nil {
		fmt.Fprintln(stderr, "deploystep:", loadErr)
		return deploy.ExitCode(loadErr)
	}
	return deploy.RunCLI(s, stdout, stderr)
}
