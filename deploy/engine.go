package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/deploystep/deploystep/deploy/awsapi"
	"github.com/deploystep/deploystep/deploy/cdn"
	"github.com/deploystep/deploystep/deploy/ecsctl"
	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/predeploy"
	"github.com/deploystep/deploystep/deploy/report"
	"github.com/deploystep/deploystep/deploy/settings"
	"github.com/deploystep/deploystep/deploy/state"
	"github.com/deploystep/deploystep/deploy/step"
	"github.com/deploystep/deploystep/deploy/taskdef"
)

// Engine runs releases: it holds the plan's steps and the state between them, and lends each
// step its Host (the settings, the clients, the clock, the output). Build it with NewEngine, or
// fill the Host yourself.
type Engine struct {
	*step.Host
	// STS says whom the credentials belong to (whoami.go); Region and Credentials are the SDK
	// configuration's.
	STS         awsapi.STSAPI
	Region      string
	Credentials aws.CredentialsProvider
	// Role, with ROLE_ARN, is the role session the other clients sign with (role.go).
	Role *RoleSession

	// revisionLines are the dry run's task-definition lines of the plan.
	revisionLines []string
}

// steps are the functions of the plan's steps.
var steps = map[string]func(*Engine, context.Context, *state.State) error{
	state.PhasePreflight:  (*Engine).preflight,
	state.PhaseImage:      (*Engine).checkImage,
	state.PhaseRegister:   (*Engine).register,
	state.PhasePredeploy:  func(e *Engine, ctx context.Context, st *state.State) error { return predeploy.Step(ctx, e.Host, st) },
	state.PhaseDeploy:     (*Engine).startDeployments,
	state.PhaseFollow:     (*Engine).follow,
	state.PhaseInvalidate: func(e *Engine, ctx context.Context, st *state.State) error { return cdn.Create(ctx, e.Host, st) },
	state.PhaseWait:       func(e *Engine, ctx context.Context, st *state.State) error { return cdn.Wait(ctx, e.Host, st) },
	state.PhaseVerify:     func(e *Engine, ctx context.Context, st *state.State) error { return cdn.Verify(ctx, e.Host, st) },
}

// register is the register step: the release's revisions, registered once each, after the
// pre-deploy task's container is checked on them.
func (e *Engine) register(ctx context.Context, st *state.State) error {
	return taskdef.Register(ctx, e.Host, st, func(plans []*taskdef.Plan, services map[string]ecstypes.Service) error {
		_, err := predeploy.FromPlans(ctx, e.Host, e.Attempt, st, plans, services)
		return err
	})
}

// Run executes the plan's steps from st.Phase until the release is done, it fails, the overall
// limit (Host.Limit from st.Started; Settings.Limit resolves it) runs out, or ctx ends. A
// ctx whose cause is errPaused (the invocation's own deadline) returns errPaused with st ready to
// resume; a ctx cancelled for a signal returns ErrInterrupted.
func (e *Engine) Run(outer context.Context, st *state.State) error {
	st.Init(e.Settings.Services)
	e.Begin(st)
	e.useRole(st)
	if e.Limit <= 0 {
		e.Limit, _ = e.Settings.Limit(false)
	}
	plan := e.Plan(st, nil)
	ctx, cancel := context.WithDeadlineCause(outer, st.Started.Add(e.Limit), failure.ErrTimeout)
	defer cancel()
	for st.Phase != state.PhaseDone {
		phase, start := st.Phase, e.Now()
		step, ok := steps[phase]
		if !ok {
			return failure.New(failure.ErrConfig, "unknown phase %q in state", phase)
		}
		err := step(e, ctx, st)
		st.Phases[phase] += e.Now().Sub(start).Seconds()
		e.Notes.Phase(phase, start, e.Now())
		if err != nil {
			return e.fail(outer, ctx, st, phase, err)
		}
		st.Phase = plan.next(phase)
	}
	return nil
}

// fail turns a step's error into the run's: the end of ctx into its class, and with
// ROLLBACK=on-failure, deploystep's own verdict or its timeout in the follow step into a rollback,
// bounded apart from the run's own limit (which may have run out), said in the message.
func (e *Engine) fail(outer, ctx context.Context, st *state.State, phase string, err error) error {
	err = e.interpret(ctx, st, err)
	own := errors.Is(err, failure.ErrTimeout) || errors.Is(err, failure.ErrFailed) && st.Failure != ""
	if phase != state.PhaseFollow || e.Settings.Rollback != "on-failure" || !own {
		return err
	}
	rctx, cancel := context.WithTimeout(outer, rollbackLimit)
	defer cancel()
	if res := e.rollBack(rctx, st); res != "" {
		class := failure.ErrFailed
		if errors.Is(err, failure.ErrTimeout) {
			class = failure.ErrTimeout
		}
		return failure.New(class, "%s; ROLLBACK=on-failure: %s", err.Error(), res)
	}
	return err
}

// interpret turns a context ending into the error of its class, saying what was left in
// which state.
func (e *Engine) interpret(ctx context.Context, st *state.State, err error) error {
	if ctx.Err() == nil || failure.IsFinal(err) {
		return err
	}
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, failure.ErrPaused):
		return failure.ErrPaused
	case errors.Is(cause, failure.ErrTimeout):
		return failure.New(failure.ErrTimeout, "timed out after %v during %s: %s", e.Limit, st.Phase, e.leftInFlight(st))
	default:
		return failure.New(failure.ErrInterrupted, "interrupted during %s: %s", st.Phase, e.leftInFlight(st))
	}
}

// leftInFlight says what a stopped run leaves behind.
func (e *Engine) leftInFlight(st *state.State) string {
	var parts []string
	if pd := st.Predeploy; pd != nil && pd.Task != "" && !pd.Passed {
		state := "running"
		if pd.Stopped {
			state = "stopped (StopTask sent)"
		}
		parts = append(parts, fmt.Sprintf("pre-deploy task %s %s", pd.Task, state))
	}
	for _, name := range e.Settings.Services {
		svc := st.Services[name]
		switch {
		case svc.Deployment == "":
			parts = append(parts, name+" not updated")
		case svc.Finished:
			parts = append(parts, fmt.Sprintf("%s deployment %s completed", name, svc.Deployment))
		case svc.Paused != nil:
			parts = append(parts, fmt.Sprintf("%s deployment %s paused at %s, unanswered: %s", name, svc.Deployment, svc.Paused.Stage, ecsctl.PauseHint(svc.SD, svc.Paused)))
		default:
			owner := "ECS"
			if c, ok := controllerFor(svc.Controller); ok {
				owner = c.Words().Owner
			}
			msg := fmt.Sprintf("%s deployment %s still in progress (%s goes on with it)", name, svc.Deployment, owner)
			if w := e.WaitingFor(name); w != "" {
				msg += ", waiting for: " + w
			}
			parts = append(parts, msg)
		}
	}
	if !e.Settings.SkipInvalidation {
		for _, d := range e.Settings.Distributions {
			if id, ok := st.Invalidations[d]; ok {
				parts = append(parts, fmt.Sprintf("invalidation %s on %s created (CloudFront completes it); it was waiting for it to complete", id, d))
			} else if dec, ok := st.Decisions[d]; ok && len(dec.Paths) == 0 {
				parts = append(parts, "nothing to invalidate on "+d)
			} else {
				parts = append(parts, "no invalidation created on "+d)
			}
		}
	}
	if st.Phase == state.PhaseVerify {
		parts = append(parts, "edge verification waiting for "+e.WaitingFor("edge"))
	}
	return strings.Join(parts, "; ")
}

// Result reports the end of a run and returns its summary.
func (e *Engine) Result(st *state.State, err error) report.Summary {
	s := e.summarize(st, err)
	var msg string
	s.Result, msg = e.outcome(st, s, err)
	if err != nil {
		s.Error = err.Error()
	}
	e.Notes.Record(&s, e.Settings, st)
	e.writeRecord(s) // before the result, which stays the run's last event
	e.writeOutputs(s)
	e.Emit(report.Event{Kind: report.KindResult, Message: msg, Summary: &s})
	return s
}

// summarize is the Summary of the release in st, ended with err: what it registered, ran,
// started, invalidated and verified, where each is, and what waits paused.
func (e *Engine) summarize(st *state.State, err error) report.Summary {
	s := report.Summary{ExitCode: failure.ExitCode(err), Seconds: e.Now().Sub(st.Started).Seconds(),
		Phases: st.Phases, Digest: st.Digest, TaskDefinitions: st.TaskDefinitions(), Deployments: st.Deployments(), Invalidations: st.Invalidations,
		VerifiedVersion: cdn.VerifiedVersion(e.Settings, st)}
	if pd := st.Predeploy; pd != nil && pd.Passed {
		s.PredeployTask = pd.Task
	}
	if pd := st.Predeploy; pd != nil && pd.Task != "" {
		_, _, rec := e.Notes.Noted()
		s.PredeployResult = rec.Result
	}
	s.Identity, s.AssumedBy = st.Caller.ARN, st.Caller.Via
	for name, svc := range st.Services {
		if svc.SD != "" {
			state.Ensure(&s.ServiceDeployments)
			s.ServiceDeployments[name] = svc.SD
		}
	}
	group, stream := e.Notes.PredeployLogs()
	s.Links = report.Links(e.Settings, st, cmp.Or(st.Caller.Region, e.Region), group, stream)
	if !e.Settings.SkipInvalidation {
		s.InvalidationDecisions = map[string]report.InvalidationDecision{}
		for _, d := range e.Settings.Distributions {
			if _, decided := st.Decisions[d]; decided || e.Settings.InvalidationMode() == settings.ModePaths {
				dec := cdn.DecisionFor(e.Host, st, d)
				s.InvalidationDecisions[d] = report.InvalidationDecision{Mode: dec.Mode, Paths: append([]string{}, dec.Paths...), Reason: dec.Reason}
			}
		}
	}
	for _, name := range st.Paused() {
		state.Ensure(&s.Paused)
		svc := st.Services[name]
		s.Paused[name] = report.PausedHook{Stage: svc.Paused.Stage, Hook: svc.Paused.ID, ServiceDeployment: svc.SD}
	}
	return s
}

// outcome is the run's result in a word and the message that says it.
func (e *Engine) outcome(st *state.State, s report.Summary, err error) (result, msg string) {
	switch {
	case errors.Is(err, failure.ErrConfig):
		return "configuration error", err.Error()
	case errors.Is(err, failure.ErrTimeout):
		return "timed out", err.Error()
	case errors.Is(err, failure.ErrInterrupted):
		return "interrupted", err.Error()
	case err != nil:
		return "failed", err.Error()
	case e.Settings.DryRun:
		return "dry run passed", "dry run: every check passed; nothing was changed"
	case len(s.Paused) > 0:
		return "paused", "release paused at the PAUSE hook (WAIT_UNTIL=paused): production traffic not moved, nothing invalidated; answer it with HOOK_ANSWER=CONTINUE or ROLLBACK in the next step"
	}
	msg = "release finished: deployments completed"
	if !e.Settings.SkipInvalidation && len(st.Invalidations) > 0 {
		msg += ", invalidations completed"
	} else if !e.Settings.SkipInvalidation {
		msg += ", nothing to invalidate"
	}
	if s.VerifiedVersion != "" {
		msg += ", the edge serves version " + s.VerifiedVersion
	} else if len(e.Settings.VerifyURLs) > 0 && len(st.Verified) == len(e.Settings.VerifyURLs) {
		msg += ", the edge answers 2xx"
	}
	return "succeeded", msg
}

// writeRecord writes the release record to SUMMARY_FILE (nothing without it). A record that
// cannot be written is a warning: the release's outcome stands.
func (e *Engine) writeRecord(sum report.Summary) {
	path := e.Settings.SummaryFile
	if path == "" {
		return
	}
	if err := report.WriteRecord(path, sum); err != nil {
		e.Emit(report.Event{Kind: report.KindWarning, Message: fmt.Sprintf("SUMMARY_FILE: the release record was not written: %v", err)})
		return
	}
	e.Emit(report.Event{Kind: report.KindRecord, Phase: "record", Message: "release record written to " + path})
}

// writeOutputs appends the release's output variables to OUTPUTS_FILE (nothing without it); like
// the record, one that cannot be written is a warning.
func (e *Engine) writeOutputs(sum report.Summary) {
	if path := e.Settings.OutputsFile; path != "" {
		if err := report.WriteOutputs(path, sum); err != nil {
			e.Emit(report.Event{Kind: report.KindWarning, Message: fmt.Sprintf("OUTPUTS_FILE: the output variables were not written: %v", err)})
		}
	}
}

// preflight is the real run's verify: any failed check ends the run with ErrConfig before
// anything changes. The deploy step of the same invocation starts from its read of the services
// instead of reading them again.
func (e *Engine) preflight(ctx context.Context, st *state.State) error {
	if err := e.whoami(ctx, st, e.Attempt); err != nil {
		return err
	}
	v, err := e.verify(ctx, e.Attempt, false)
	if err != nil {
		return err
	}
	if failed := v.failed(); len(failed) > 0 {
		return failure.New(failure.ErrConfig, "preflight: %s", strings.Join(failed, "; "))
	}
	checks, err := cdn.Decide(ctx, e.Host, st, e.Attempt, v.services)
	if err != nil {
		return err
	}
	var failed []string
	for _, c := range checks {
		if !c.OK {
			failed = append(failed, c.Message)
			continue
		}
		e.Emit(report.Event{Kind: report.KindInvalidation, Message: c.Message})
	}
	if len(failed) > 0 {
		return failure.New(failure.ErrConfig, "preflight: %s", strings.Join(failed, "; "))
	}
	e.KeepPreflight(v.services)
	return nil
}
