// Package deploy is deploystep's engine: it finishes a container release on AWS by checking the
// pushed ECR image, forcing a new ECS deployment, following that deployment to the end, and
// invalidating CloudFront.
//
// Data flows one way:
//
//		Settings ─► Plan ─► act ─► observe ─► Decide ─► Event ─► Reporter
//
//	  - Settings (settings.go) come from the environment through go-envconfig, or from a Lambda
//	    job's UserParameters; Validate names every problem at once and returns ErrConfig.
//	  - Engine.Run (engine.go) walks the phases of a State: image → deploy → follow → invalidate →
//	    wait → done. State is everything a later invocation needs to resume, so the Lambda mode
//	    (lambda.go) carries it across invocations in a continuation token (token.go) and the CLI
//	    simply runs it to the end. Mutating calls are made so that a retry never repeats their
//	    effect: UpdateService is re-checked before it is sent again, CreateInvalidation carries a
//	    CallerReference that is stable for the build.
//	  - follow.go observes: one DescribeServices per poll for up to 10 services, paced so that a
//	    cluster sees at most one ECS read a second, plus the task reads the decision needs.
//	  - Decide (decide.go) is a pure function of one snapshot of a service and the pinned
//	    deployment id: done, waiting (with what is still missing) or failed (with the reason).
//	  - The engine never prints: it emits Events, and one Reporter (report.go) writes them as text
//	    for CI logs or as JSON lines.
//
// Errors carry their class (ErrConfig, ErrFailed, ErrTimeout, ErrInterrupted) for errors.Is;
// ExitCode maps the class to the documented exit code in one place.
package deploy
