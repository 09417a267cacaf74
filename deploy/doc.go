// Package deploy is deploystep's engine: it finishes a container release on AWS by checking the
// pushed ECR image, forcing a new ECS deployment, following that deployment to the end,
// invalidating CloudFront, and proving through the edge that the new version is served.
//
// Data flows one way:
//
//		Settings ─► Plan ─► act ─► observe ─► Decide ─► Event ─► Reporter
//
//	  - Settings (settings.go) come from the environment through go-envconfig, or from a Lambda
//	    job's UserParameters; Validate names every problem at once and returns ErrConfig.
//	  - NewState derives the release's Identity once (identity.go): the build or first job id
//	    and a fingerprint of what the run changes give the CloudFront CallerReference and the
//	    run marker tagged on each service. The same step again is the same release and resumes;
//	    another step in the same build is another release.
//	  - Engine.Run (engine.go) walks the phases of a State: preflight → image → deploy → follow →
//	    invalidate → wait → verify → done (verify only with VERIFY_URL: edge.go GETs each URL,
//	    through a client that refuses other schemes, metadata addresses and large bodies, until it
//	    answers 2xx with the expected version; VERIFY_TIMEOUT is kept in the State). The preflight is verify (verify.go): the cluster, each service
//	    (ACTIVE, ECS controller) and each distribution, checked by pure functions of what was read
//	    before anything changes; the dry run reports the same checks. State is everything a later
//	    invocation needs to resume, so the Lambda mode (lambda.go) carries it across invocations
//	    in a continuation token (token.go) and the CLI simply runs it to the end. Mutating calls
//	    are made so that a retry never repeats their effect: UpdateService is sent again only
//	    after a read shows it did not land; CreateInvalidation carries the identity's
//	    CallerReference.
//	  - Every AWS call goes through one retry rule (Engine.check, Engine.attempt): a final error
//	    ends the run at once with its class; throttling and 5xx are tried again after a poll.
//	  - follow.go observes: one DescribeServices per poll for up to 10 services, paced so that a
//	    cluster sees at most one ECS read a second, plus the task reads the decision needs
//	    (ListTasks by serviceName and desiredStatus, paged; the deployment's tasks by startedBy).
//	    It gathers the evidence a snapshot needs, then calls Decide once with it. The evidence
//	    includes the pinned service deployment (servicedeployment.go): its status is authoritative,
//	    its stage, traffic and bake time are reported, its PAUSE hooks are answered by HOOK_COMMAND,
//	    and ROLLBACK=on-failure stops it with a rollback on deploystep's own failure verdict.
//	  - A service on the CODE_DEPLOY controller (codedeploy.go) takes another path through the same
//	    phases: its deployment group is found, a CodeDeploy deployment is created once with an
//	    AppSpec (its description carries the release's CallerReference), and DecideCodeDeploy judges
//	    GetDeployment and the ECS target's lifecycle events.
//	  - Decide (decide.go) is a pure function of one snapshot of a service and the pinned
//	    deployment id: done, waiting (with what is still missing) or failed (with the reason).
//	  - The engine never prints: it emits Events, and one Reporter (report.go) writes them as text
//	    for CI logs or as JSON lines.
//
// Errors carry their class (ErrConfig, ErrFailed, ErrTimeout, ErrInterrupted) for errors.Is;
// ExitCode maps the class to the documented exit code in one place.
package deploy
