// Package deploy is deploystep's engine: it finishes a container release on AWS by checking the
// pushed ECR image, starting a new deployment of each ECS service (or a CodeDeploy blue/green
// deployment), following that deployment to its end, invalidating in CloudFront what the release
// can have made stale, and proving through the edge that the new version is served.
//
// Data flows one way:
//
//		Settings ─► State ─► Plan ─► step ─► controller: start, observe ─► needs ─► fetch ─► Decide ─► judge ─► Event ─► Reporter
//
//	  - Settings (settings.go) come from the environment through go-envconfig, or from a Lambda
//	    job's UserParameters; each is described once in settingsTable (settings_table.go), which -h,
//	    the README and Validate (all problems at once, ErrConfig) read.
//	  - State (state.go) is what the release has decided: run-level facts (its Identity, the image's
//	    digest, invalidations, the edge's proof) and one ServiceState per service (its controller,
//	    the deployment followed and what it replaced, the send-once bookkeeping, events seen, the
//	    service deployment, digests, how it ended). NewState derives the Identity once
//	    (identity.go): the build or first job id and a fingerprint of what the run changes give the
//	    CloudFront CallerReference and the run marker tagged on each service. The Lambda mode
//	    (lambda.go) carries the State across invocations in a continuation token (token.go, proven
//	    to fit by worstState); the command mode (cli.go) runs it to its end.
//	  - Plan (plan.go) is what the release does: its steps (preflight, image, register, predeploy,
//	    deploy, follow, invalidate, wait, verify), per service its controller and the task-definition
//	    revision it deploys, what is sent and what is followed, per distribution the invalidation,
//	    and what the edge must serve. Engine.Run (engine.go) executes
//	    its steps from State.Phase; the dry run (dryrun.go) renders it after the preflight's reads.
//	  - The preflight (preflight.go) first asks STS whom the credentials belong to (whoami.go): a
//	    wrong environment (no, expired or refused credentials, no region, an endpoint that refuses
//	    or does not answer) is ErrConfig in seconds, and every run's first line is the identity,
//	    account and region. With ROLE_ARN (role.go) the other clients sign with one role session
//	    (RoleSession: named after the release, renewed before it expires), which whoami assumes
//	    right after asking who the caller is: a refusal names the role and the caller, before
//	    anything changes. Then it checks, by pure functions of what it read, everything a run
//	    needs before anything changes, naming the region and account of what it did not find; the
//	    dry run reports the same checks.
//	  - The release's task-definition revision (taskdef.go): with IMAGE (or TASK_DEFINITION) each
//	    service's base (its revision, the one named, or a file) is copied member by member, the
//	    containers of IMAGE's repository pinned to the digest, checked against the documented
//	    contract before anything changes, and registered once per base (tagged deploystep:release;
//	    a re-run finds it among the family's newest revisions instead of registering again).
//	  - The pre-deploy task (predeploy.go), with PREDEPLOY_COMMAND: after the revision and before
//	    any service moves, one task of it runs the command (RunTask once: startedBy and clientToken
//	    from the identity, found by ListTasks on a re-run), is followed to STOPPED with its log
//	    lines (GetLogEvents) printed as data, and gates the release on its exit codes;
//	    PREDEPLOY_TIMEOUT, the run's limit and SIGTERM stop it (StopTask, once).
//	  - Each deployment kind has one controller (controller.go), chosen once per service from its
//	    deployment controller: the ECS controller (ecs.go: UpdateService, the service deployment
//	    in servicedeployment.go, PAUSE hooks in hooks.go) and the CodeDeploy controller
//	    (codedeploy.go, codedeploy_group.go). A controller starts its deployment once
//	    (Engine.sendOnce: a call whose outcome is unknown is resolved by reading before it is sent
//	    again), observes it each poll, and rolls it back (Engine.rollBack follows the rollback).
//	    With HOOK_ANSWER the ECS controller starts nothing: adoptPaused (hooks.go) finds the
//	    deployment an earlier WAIT_UNTIL=paused step left at a PAUSE hook, and the follow step
//	    answers that hook once; with WAIT_UNTIL=paused the follow step ends at the hook and the
//	    invalidate, wait and verify steps are skipped (State.paused).
//	  - Observing is fetch, then decide once: a pure function (verdict.Needed, verdict.NeededCodeDeploy) says what
//	    evidence a snapshot needs (the service deployment, task digests, stopped reasons, read by
//	    tasks.go), the observer fetches it within the same poll, and the verdict (Decide in
//	    decide.go, DecideCodeDeploy) runs once; digestVerdict is the one digest rule of both. The
//	    fail-fast threshold is the service's circuit breaker's own (threshold), and early success
//	    criteria end a rolling deployment at SUCCESSFUL with the new revision's digests.
//	    Engine.judge reports progress, answers hooks and ends the step on a verdict.
//	  - Every AWS call and every wait goes through one retry rule (retry.go): a try ends the wait
//	    (done, or an error of a final class) or asks for another after a backoff; reads are paced
//	    to one a second per cluster. A wait that says nothing for HEARTBEAT says what it awaits,
//	    against the run's limit.
//	  - What the release invalidates (cache.go) is decided once, in the preflight (and the dry
//	    run): INVALIDATION_PATHS=auto reads each distribution's configuration, the custom cache
//	    policies and VPC origins it names, and the services' load balancers (Elastic Load
//	    Balancing), then judgeBehaviors and decideAuto, pure functions, say which behaviours serve
//	    the release and can cache, and so which paths (none; /* when anything cannot be told);
//	    INVALIDATION_TAGS checks CacheTagConfig and sends #tags. The CacheDecision is kept in
//	    State.Decisions, said in the progress and the summary, and the edge proof's failure names
//	    the behaviour and cache policy that served a stale path (cacheHint).
//	  - The invalidations (invalidate.go) send the decision's paths with the release's
//	    CallerReference (none: no invalidation, no wait); the edge proof (edgeproof.go) reads
//	    VERIFY_URL through package edge, a leaf that holds the safe HTTP client.
//	  - The engine never prints: it emits Events, and one Reporter (report.go) writes them as text
//	    for CI logs or as JSON lines; a failure (a failed check, a stopped task with its log
//	    stream, a result that is not success) is level error, marked ERROR in text.
//	  - Result makes the Summary, with the console links of what the release made (links.go); the
//	    command mode then writes the release record to SUMMARY_FILE (record.go): Markdown from the
//	    Summary, the State and what the engine noted as it went (phases, each service's stages and
//	    traffic, the pre-deploy task's verdict), with a Mermaid gantt, written atomically.
//
// Errors carry their class (ErrConfig, ErrFailed, ErrTimeout, ErrInterrupted) for errors.Is;
// ExitCode maps the class to the documented exit code in one place (errors.go). An AccessDenied
// is ErrConfig and ErrAccessDenied, whatever the service: its message names the action, the
// resource, the identity and the statement that allows it, and nothing falls back on it; the
// preflight reads what the later steps will (one service's service deployments, the pre-deploy
// task's log) so that a refusal comes before anything changes. What each call is authorized on
// is Grants (permissions.go), held to the Service Authorization Reference and rendered into the
// README.
package deploy
