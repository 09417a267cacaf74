// Package deploy is deploystep's engine: it finishes a container release on AWS by checking the
// pushed ECR image, starting a new deployment of each ECS service (or a CodeDeploy blue/green
// deployment), following that deployment to its end, invalidating in CloudFront what the release
// can have made stale, and proving through the edge that the new version is served.
//
// This package holds the engine (engine.go: Engine, Run, the steps in order, Result), the plan
// (plan.go), the preflight (preflight.go, with whom the run acts as in whoami.go and ROLE_ARN's
// session in role.go), the dry run (dryrun.go), the image step (image.go), the deploy and follow
// steps and the rollback (controller.go) and the command line (cli.go). Each concern the steps
// share or act on is a package of its own, read one at a time:
//
//	failure        error classes, exit codes, Classify (an AccessDenied named with its statement)
//	awsapi         the client interfaces, Permissions read off them, Grants (what IAM must allow)
//	verdict        Decide, DecideCodeDeploy, Needed: pure functions of one snapshot
//	edge           the safe HTTP client that reads VERIFY_URL, and what an answer shows
//	settings       the settings' one table, Load, Validate, -h, the parsed IMAGE (ImageRef)
//	state          the release's record: its Identity, one ServiceState per service, the token
//	report         Events, the Reporter, the Summary (the whole account), links, the record
//	step           Host, what the engine lends a step; the retry rule, the read budget, SendOnce
//	tasks          a deployment's tasks: digests, stopped reasons, their log streams
//	taskdef        the register step: the digest-pinned revision, registered once
//	predeploy      the pre-deploy task (PREDEPLOY_COMMAND), run once and gated on its exit
//	ecsctl         the ECS controller: UpdateService, the service deployment, PAUSE hooks
//	codedeployctl  the CodeDeploy controller: the deployment group, the AppSpec, its verdict
//	cdn            what to invalidate (auto, tags, paths), the invalidations, the edge proof
//	job            the CodePipeline Invoke action on Lambda, above the engine
//
// Imports run one way, down this list's layers, never back up (go list checks it; a cycle does
// not compile):
//
//	main ─► job ─► deploy ─► ecsctl, codedeployctl, predeploy, cdn
//	                          ─► taskdef, tasks ─► step ─► report, state ─► settings
//	                                                      ─► verdict, awsapi, edge, failure (leaves)
//
// A step package takes a *step.Host, never the engine: the Host carries the settings, the
// clients, the Clock every wait sleeps on, the output, and this invocation's per-service
// bookkeeping; everything a later invocation needs is in the state.State. So each step can be
// tested alone, with a fake Clock and fake clients (step/steptest), and end to end against
// awsim. Where two steps meet, the engine passes a function (taskdef.Register takes the
// pre-deploy task's check), so step packages do not import one another except downward.
//
// Data flows one way:
//
//	Settings ─► State ─► Plan ─► step ─► controller: Start, Observe ─► Needed ─► fetch ─► Decide ─► judge ─► Event ─► Reporter
//
// Engine.Run executes the plan's steps from State.Phase: preflight, image, register, predeploy,
// deploy, follow, invalidate, wait, verify. The command mode runs them to the end; the Lambda
// mode (package job) carries the State across invocations in a continuation token. The engine
// never prints: it emits Events, and one Reporter writes them as text or JSON lines; Result
// makes the Summary, and the command mode writes the release record from it.
//
// Errors carry their class (failure.ErrConfig, ErrFailed, ErrTimeout, ErrInterrupted) for
// errors.Is; failure.ExitCode maps the class to the documented exit code in one place. An
// AccessDenied is ErrConfig and ErrAccessDenied, whatever the service, and nothing falls back on
// it: the preflight reads what the later steps will (one service's service deployments, the
// pre-deploy task's log) so that a refusal comes before anything changes.
package deploy
