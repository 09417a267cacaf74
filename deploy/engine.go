package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"deploystep/deploy/awsapi"
	"deploystep/deploy/failure"
	"deploystep/deploy/report"
	"deploystep/deploy/settings"
	"deploystep/deploy/state"
	"deploystep/deploy/verdict"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Engine runs releases. Build it with NewEngine, or fill the clients yourself.
type Engine struct {
	Settings   settings.Settings
	ECS        awsapi.ECSAPI
	ECR        awsapi.ECRAPI
	CloudFront awsapi.CloudFrontAPI
	// ELB tells which load balancers serve the services (INVALIDATION_PATHS=auto).
	ELB awsapi.ELBAPI
	// CodeDeploy deploys services on the CODE_DEPLOY controller.
	CodeDeploy awsapi.CodeDeployAPI
	// Logs reads the pre-deploy task's log lines (nil: they are not shown).
	Logs awsapi.LogsAPI
	// STS says whom the credentials belong to (whoami.go); Region and Credentials are the SDK
	// configuration's.
	STS         awsapi.STSAPI
	Region      string
	Credentials aws.CredentialsProvider
	// Role, with ROLE_ARN, is the role session the other clients sign with (role.go).
	Role *RoleSession
	// Edge fetches VERIFY_URL (edge.NewClient); nil builds one on the default transport.
	Edge   *http.Client
	Report report.Reporter
	// ReadGap is the least time between two ECS reads (the per-cluster read budget of one a
	// second); default 1.05s, a margin for timer and network jitter and for the few reads a verdict
	// makes at once (bench: 0.974 reads a second on the busiest of 5 clusters of 10 services).
	ReadGap time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time

	mu       sync.Mutex
	lastRead time.Time
	st       *state.State // the state being run, for event timestamps
	// waiting is what each unfinished service (and "edge") waits for, from its last decision: a
	// timeout says it.
	waiting map[string]string
	// preflightRead is the preflight's read of the services, for the deploy step of the same
	// invocation; used once.
	preflightRead map[string]ecstypes.Service
	// caller is who the run acts as (State.Caller), for messages that say where they looked.
	caller state.Caller
	// paused is, per service, the PAUSE hook its deployment waits at, with its service
	// deployment: what a run that ends leaves behind.
	paused map[string]pausedAt
	// said lists the one-time messages already said; lastEmit is when anything was.
	said     map[string]bool
	lastEmit time.Time
	// revisionLines are the dry run's task-definition lines of the plan.
	revisionLines []string
	// stopped is, per service, the stopped tasks a failure names (tasks.go).
	stopped map[string][]stoppedTask
	// notes is what the release record notes as the run goes (record.go).
	notes report.Notes
}

// setStopped records the stopped tasks of a service's failing deployment.
func (e *Engine) setStopped(name string, tasks []stoppedTask) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped == nil {
		e.stopped = map[string][]stoppedTask{}
	}
	e.stopped[name] = tasks
}

// sayStopped names, as failure lines, each stopped task of a failed deployment and its logs.
func (e *Engine) sayStopped(name, deployment string) {
	e.mu.Lock()
	tasks := e.stopped[name]
	e.mu.Unlock()
	for _, t := range tasks {
		msg := fmt.Sprintf("task %s stopped: %s", t.ID, t.Reason)
		if t.Logs != "" {
			msg += "; its logs: " + t.Logs
		}
		e.emit(report.Event{Kind: report.KindFailure, Service: name, Deployment: deployment, Message: msg})
	}
}

// pausedAt is a deployment paused at a PAUSE hook.
type pausedAt struct {
	sd   string
	hook verdict.HookView
}

// setPaused records the hook a service's deployment waits at (a zero hook: none).
func (e *Engine) setPaused(name string, h verdict.HookView) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.paused == nil {
		e.paused = map[string]pausedAt{}
	}
	if h.ID == "" {
		delete(e.paused, name)
		return
	}
	e.paused[name] = pausedAt{sd: e.st.Services[name].SD, hook: h}
}

// once emits ev the first time key is said.
func (e *Engine) once(key string, ev report.Event) {
	e.mu.Lock()
	if e.said == nil {
		e.said = map[string]bool{}
	}
	seen := e.said[key]
	e.said[key] = true
	e.mu.Unlock()
	if !seen {
		e.emit(ev)
	}
}

// steps are the functions of the plan's steps.
var steps = map[string]func(*Engine, context.Context, *state.State) error{
	state.PhasePreflight:  (*Engine).preflight,
	state.PhaseImage:      (*Engine).checkImage,
	state.PhaseRegister:   (*Engine).registerStep,
	state.PhasePredeploy:  (*Engine).predeployStep,
	state.PhaseDeploy:     (*Engine).startDeployments,
	state.PhaseFollow:     (*Engine).follow,
	state.PhaseInvalidate: (*Engine).createInvalidations,
	state.PhaseWait:       (*Engine).waitInvalidations,
	state.PhaseVerify:     (*Engine).verifyEdge,
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) emit(ev report.Event) {
	if e.Report == nil {
		return
	}
	ev.Time = e.now()
	e.mu.Lock()
	e.lastEmit = ev.Time
	e.mu.Unlock()
	if e.st != nil {
		ev.Elapsed = float64(ev.Time.Sub(e.st.Started).Milliseconds()) / 1000
		if ev.Phase == "" {
			ev.Phase = e.st.Phase
		}
	}
	e.Report.Report(ev)
}

// Run executes the plan's steps from st.Phase until the release is done, it fails, the overall
// timeout (Settings.Timeout from st.Started; Settings.Limit resolves it) runs out, or ctx ends. A
// ctx whose cause is errPaused (the invocation's own deadline) returns errPaused with st ready to
// resume; a ctx cancelled for a signal returns ErrInterrupted.
func (e *Engine) Run(outer context.Context, st *state.State) error {
	st.Init(e.Settings.Services)
	e.st, e.caller = st, st.Caller
	e.useRole(st)
	if e.Settings.Timeout <= 0 {
		e.Settings.Limit(false)
	}
	plan := e.plan(st, nil)
	ctx, cancel := context.WithDeadlineCause(outer, st.Started.Add(e.Settings.Timeout), failure.ErrTimeout)
	defer cancel()
	for st.Phase != state.PhaseDone {
		phase, start := st.Phase, e.now()
		step, ok := steps[phase]
		if !ok {
			return failure.New(failure.ErrConfig, "unknown phase %q in state", phase)
		}
		err := step(e, ctx, st)
		st.Phases[phase] += e.now().Sub(start).Seconds()
		e.notes.Phase(phase, start, e.now())
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
		return failure.New(failure.ErrTimeout, "timed out after %v during %s: %s", e.Settings.Timeout, st.Phase, e.leftInFlight(st))
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
		case e.pausedAt(name).hook.ID != "":
			p := e.pausedAt(name)
			parts = append(parts, fmt.Sprintf("%s deployment %s paused at %s, unanswered: %s", name, svc.Deployment, p.hook.Stage, pauseHint(p.sd, p.hook)))
		default:
			owner := "ECS"
			if c, ok := controllerFor(svc.Controller); ok {
				owner = c.words().owner
			}
			msg := fmt.Sprintf("%s deployment %s still in progress (%s goes on with it)", name, svc.Deployment, owner)
			if w := e.waitingFor(name); w != "" {
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
		parts = append(parts, "edge verification waiting for "+e.waitingFor("edge"))
	}
	return strings.Join(parts, "; ")
}

// Result reports the end of a run and returns its summary.
func (e *Engine) Result(st *state.State, err error) report.Summary {
	s := report.Summary{Result: "succeeded", ExitCode: failure.ExitCode(err), Seconds: e.now().Sub(st.Started).Seconds(),
		Phases: st.Phases, Digest: st.Digest, TaskDefinitions: st.TaskDefinitions(), Deployments: st.Deployments(), Invalidations: st.Invalidations,
		VerifiedVersion: verifiedVersion(e.Settings, st)}
	if pd := st.Predeploy; pd != nil && pd.Passed {
		s.PredeployTask = pd.Task
	}
	if pd := st.Predeploy; pd != nil && pd.Task != "" {
		_, _, rec := e.notes.Noted()
		s.PredeployResult = rec.Result
	}
	s.Identity, s.AssumedBy = st.Caller.ARN, st.Caller.Via
	for name, svc := range st.Services {
		if svc.SD != "" {
			if s.ServiceDeployments == nil {
				s.ServiceDeployments = map[string]string{}
			}
			s.ServiceDeployments[name] = svc.SD
		}
	}
	group, stream := e.notes.PredeployLogs()
	s.Links = report.Links(e.Settings, st, cmp.Or(st.Caller.Region, e.Region), group, stream)
	if !e.Settings.SkipInvalidation {
		s.InvalidationDecisions = map[string]report.InvalidationDecision{}
		for _, d := range e.Settings.Distributions {
			if _, decided := st.Decisions[d]; decided || e.Settings.InvalidationMode() == settings.ModePaths {
				dec := e.decision(st, d)
				s.InvalidationDecisions[d] = report.InvalidationDecision{Mode: dec.Mode, Paths: append([]string{}, dec.Paths...), Reason: dec.Reason}
			}
		}
	}
	for _, name := range st.Paused() {
		if s.Paused == nil {
			s.Paused = map[string]report.PausedHook{}
		}
		svc := st.Services[name]
		stage, hook, _ := strings.Cut(svc.Paused, " ")
		s.Paused[name] = report.PausedHook{Stage: stage, Hook: hook, ServiceDeployment: svc.SD}
	}
	msg := "release finished: deployments completed"
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
	if len(s.Paused) > 0 && err == nil {
		s.Result, msg = "paused", "release paused at the PAUSE hook (WAIT_UNTIL=paused): production traffic not moved, nothing invalidated; answer it with HOOK_ANSWER=CONTINUE or ROLLBACK in the next step"
	}
	if e.Settings.DryRun {
		s.Result, msg = "dry run passed", "dry run: every check passed; nothing was changed"
	}
	switch {
	case err == nil:
	case errors.Is(err, failure.ErrConfig):
		s.Result, msg = "configuration error", err.Error()
	case errors.Is(err, failure.ErrTimeout):
		s.Result, msg = "timed out", err.Error()
	case errors.Is(err, failure.ErrInterrupted):
		s.Result, msg = "interrupted", err.Error()
	default:
		s.Result, msg = "failed", err.Error()
	}
	if err != nil {
		s.Error = err.Error()
	}
	e.notes.Record(&s, e.Settings, st)
	e.writeRecord(s) // before the result, which stays the run's last event
	e.emit(report.Event{Kind: report.KindResult, Message: msg, Summary: &s})
	return s
}

// writeRecord writes the release record to SUMMARY_FILE (nothing without it). A record that
// cannot be written is a warning: the release's outcome stands.
func (e *Engine) writeRecord(sum report.Summary) {
	path := e.Settings.SummaryFile
	if path == "" {
		return
	}
	if err := report.WriteRecord(path, sum); err != nil {
		e.emit(report.Event{Kind: report.KindWarning, Message: fmt.Sprintf("SUMMARY_FILE: the release record was not written: %v", err)})
		return
	}
	e.emit(report.Event{Kind: report.KindRecord, Phase: "record", Message: "release record written to " + path})
}

// setWaiting records what a service (or "edge") waits for ("" when it waits no more).
func (e *Engine) setWaiting(what, msg string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.waiting == nil {
		e.waiting = map[string]string{}
	}
	e.waiting[what] = msg
}

func (e *Engine) pausedAt(name string) pausedAt {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.paused[name]
}

func (e *Engine) waitingFor(what string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.waiting[what]
}

// preflight is the real run's verify: any failed check ends the run with ErrConfig before
// anything changes. The deploy step of the same invocation starts from its read of the services
// instead of reading them again.
func (e *Engine) preflight(ctx context.Context, st *state.State) error {
	if err := e.whoami(ctx, st, e.attempt); err != nil {
		return err
	}
	v, err := e.verify(ctx, e.attempt, false)
	if err != nil {
		return err
	}
	if failed := v.failed(); len(failed) > 0 {
		return failure.New(failure.ErrConfig, "preflight: %s", strings.Join(failed, "; "))
	}
	checks, err := e.decideInvalidations(ctx, st, e.attempt, v.services)
	if err != nil {
		return err
	}
	var failed []string
	for _, c := range checks {
		if !c.OK {
			failed = append(failed, c.Message)
			continue
		}
		e.emit(report.Event{Kind: report.KindInvalidation, Message: c.Message})
	}
	if len(failed) > 0 {
		return failure.New(failure.ErrConfig, "preflight: %s", strings.Join(failed, "; "))
	}
	e.preflightRead = v.services
	return nil
}
