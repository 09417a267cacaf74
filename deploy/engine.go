package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Phases of a run, in order.
const (
	PhasePreflight  = "preflight"
	PhaseImage      = "image"
	PhaseDeploy     = "deploy"
	PhaseFollow     = "follow"
	PhaseInvalidate = "invalidate"
	PhaseWait       = "wait"
	PhaseVerify     = "verify"
	PhaseDone       = "done"
)

var phaseOrder = []string{PhasePreflight, PhaseImage, PhaseDeploy, PhaseFollow, PhaseInvalidate, PhaseWait, PhaseVerify}

// State is everything a run has decided so far; a later invocation resumes from it.
type State struct {
	Phase   string    `json:"p"`
	Started time.Time `json:"s"`
	Digest  string    `json:"d,omitempty"`
	// Run is the release's identity, derived once at the start (identity.go).
	Run Identity `json:"id"`
	// Before is each service's PRIMARY deployment before UpdateService: a deployment that
	// replaces it after an UpdateService whose answer was lost is ours.
	Before map[string]string `json:"b,omitempty"`
	// Unknown holds, per service, when an UpdateService was sent whose outcome is unknown (cut
	// off, timed out, reset, 5xx): it may still land, so it is not sent again within
	// unknownWindow of that time, and a new PRIMARY in the meantime is ours.
	Unknown map[string]time.Time `json:"u,omitempty"`
	// Deployments pins the deployment followed, per service.
	Deployments map[string]string `json:"dp,omitempty"`
	// Digests holds the image digests read from each service's new tasks; WantDigests marks the
	// services whose digests a decision asked for, read first thing in the next poll (or the
	// next invocation), so that short invocations still make progress.
	Digests     map[string][]string `json:"g,omitempty"`
	WantDigests map[string]bool     `json:"w,omitempty"`
	// DigestReads counts the digest reads per service: tasks that report no digest end the
	// follow phase after a few reads instead of waiting for what cannot come.
	DigestReads map[string]int `json:"n,omitempty"`
	// Finished lists the services whose deployment is done.
	Finished map[string]bool `json:"f,omitempty"`
	// Invalidations holds the invalidation id, per distribution.
	Invalidations map[string]string `json:"i,omitempty"`
	// Phases accumulates the seconds spent per phase.
	Phases map[string]float64 `json:"t,omitempty"`
	// LastEvent is, per service, the id of the newest ECS service event already seen: events
	// are told apart by their ids, not by comparing AWS's clock with ours.
	LastEvent map[string]string `json:"e,omitempty"`
	// SD pins, per service, the service deployment that UpdateService started (its ARN);
	// NoSD says the service deployment API could not be used (denied, absent, ambiguous) and
	// the run judges deployments[] alone, as it said once.
	SD   map[string]string `json:"sd,omitempty"`
	NoSD bool              `json:"nsd,omitempty"`
	// BakeSeen is when the run first saw a service deployment in BAKE_TIME (for "left").
	BakeSeen map[string]time.Time `json:"bk,omitempty"`
	// Hooks lists the PAUSE hooks the run answered (hook id: CONTINUE or ROLLBACK).
	Hooks map[string]string `json:"hk,omitempty"`
	// Stopped marks the services whose deployment the run stopped with a rollback
	// (ROLLBACK=on-failure), so that it is sent once across invocations and re-runs; Failure is
	// the verdict that led to it.
	Stopped map[string]bool `json:"st,omitempty"`
	Failure string          `json:"fl,omitempty"`
	// VerifyStarted is when edge verification began (VERIFY_TIMEOUT runs from it across
	// invocations); Verified holds, by the index of each VERIFY_URL verified, the version it
	// served (indexes, not URLs, keep the continuation token small).
	VerifyStarted time.Time      `json:"vs,omitempty"`
	Verified      map[int]string `json:"v,omitempty"`
	// CDTarget is, per service on the CODE_DEPLOY controller, the deployment target id;
	// CDTaskSet the replacement task set (codedeploy.go).
	CDTarget  map[string]string `json:"ct,omitempty"`
	CDTaskSet map[string]string `json:"cs,omitempty"`
}

// NewState is the state of a release that starts now; key names it for re-runs (the CodeBuild
// build id or the first CodePipeline job id; "" for a one-off run).
func NewState(s Settings, key string, now time.Time) *State {
	return &State{Phase: PhasePreflight, Started: now, Run: NewIdentity(s, key)}
}

func (st *State) init() {
	ensure(&st.Before)
	ensure(&st.Deployments)
	ensure(&st.Unknown)
	ensure(&st.Digests)
	ensure(&st.WantDigests)
	ensure(&st.Finished)
	ensure(&st.Invalidations)
	ensure(&st.Phases)
	ensure(&st.DigestReads)
	ensure(&st.LastEvent)
	ensure(&st.SD)
	ensure(&st.BakeSeen)
	ensure(&st.Hooks)
	ensure(&st.Stopped)
	ensure(&st.Verified)
	ensure(&st.CDTarget)
	ensure(&st.CDTaskSet)
}

// ensure makes a nil map empty (a State decoded from a token has nil maps where it had none).
func ensure[M ~map[K]V, K comparable, V any](m *M) {
	if *m == nil {
		*m = M{}
	}
}

// ECSAPI is the ECS calls deploystep makes; the IAM policy in infra.yaml and the README grant
// exactly these.
type ECSAPI interface {
	DescribeClusters(context.Context, *ecs.DescribeClustersInput, ...func(*ecs.Options)) (*ecs.DescribeClustersOutput, error)
	DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	UpdateService(context.Context, *ecs.UpdateServiceInput, ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
	TagResource(context.Context, *ecs.TagResourceInput, ...func(*ecs.Options)) (*ecs.TagResourceOutput, error)
	ListTasks(context.Context, *ecs.ListTasksInput, ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
	DescribeTasks(context.Context, *ecs.DescribeTasksInput, ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
	ListServiceDeployments(context.Context, *ecs.ListServiceDeploymentsInput, ...func(*ecs.Options)) (*ecs.ListServiceDeploymentsOutput, error)
	DescribeServiceDeployments(context.Context, *ecs.DescribeServiceDeploymentsInput, ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error)
	ContinueServiceDeployment(context.Context, *ecs.ContinueServiceDeploymentInput, ...func(*ecs.Options)) (*ecs.ContinueServiceDeploymentOutput, error)
	StopServiceDeployment(context.Context, *ecs.StopServiceDeploymentInput, ...func(*ecs.Options)) (*ecs.StopServiceDeploymentOutput, error)
	// The task definitions a CodeDeploy release may deploy (codedeploy.go).
	DescribeTaskDefinition(context.Context, *ecs.DescribeTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	ListTaskDefinitions(context.Context, *ecs.ListTaskDefinitionsInput, ...func(*ecs.Options)) (*ecs.ListTaskDefinitionsOutput, error)
}

// ECRAPI is the ECR call deploystep makes.
type ECRAPI interface {
	DescribeImages(context.Context, *ecr.DescribeImagesInput, ...func(*ecr.Options)) (*ecr.DescribeImagesOutput, error)
}

// CloudFrontAPI is the CloudFront calls deploystep makes.
type CloudFrontAPI interface {
	GetDistribution(context.Context, *cloudfront.GetDistributionInput, ...func(*cloudfront.Options)) (*cloudfront.GetDistributionOutput, error)
	CreateInvalidation(context.Context, *cloudfront.CreateInvalidationInput, ...func(*cloudfront.Options)) (*cloudfront.CreateInvalidationOutput, error)
	GetInvalidation(context.Context, *cloudfront.GetInvalidationInput, ...func(*cloudfront.Options)) (*cloudfront.GetInvalidationOutput, error)
}

// Engine runs deployments. Build it with NewEngine, or fill the clients yourself.
type Engine struct {
	Settings   Settings
	ECS        ECSAPI
	ECR        ECRAPI
	CloudFront CloudFrontAPI
	// CodeDeploy deploys services on the CODE_DEPLOY controller.
	CodeDeploy CodeDeployAPI
	// Edge fetches VERIFY_URL (NewEdgeClient); nil builds one on the default transport.
	Edge   *http.Client
	Report Reporter
	// ReadGap is the least time between two ECS reads (the per-cluster read budget of one a
	// second); default 1.02s, a margin for timer and network jitter.
	ReadGap time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time

	mu       sync.Mutex
	lastRead time.Time
	st       *State // the state being run, for event timestamps
	// waiting is what each unfinished service waits for, from its last decision: a timeout
	// says it.
	waiting map[string]string
	// preflightRead is the preflight's read of the services, for the deploy phase of the same
	// invocation; used once.
	preflightRead map[string]ecstypes.Service
	// pinFails counts failed attempts to pin service deployments (pinTries ends them).
	pinFails int
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) emit(ev Event) {
	if e.Report == nil {
		return
	}
	ev.Time = e.now()
	if e.st != nil {
		ev.Elapsed = float64(ev.Time.Sub(e.st.Started).Milliseconds()) / 1000
		if ev.Phase == "" {
			ev.Phase = e.st.Phase
		}
	}
	e.Report.Report(ev)
}

// Run advances st until the release is done, it fails, the overall timeout (Settings.Timeout
// from st.Started; Settings.Limit resolves it) runs out, or ctx ends. A ctx whose cause is errPaused (the invocation's own
// deadline) returns errPaused with st ready to resume; a ctx cancelled for a signal returns
// ErrInterrupted.
func (e *Engine) Run(outer context.Context, st *State) error {
	st.init()
	e.st = st
	if e.Settings.Timeout <= 0 {
		e.Settings.Limit(false)
	}
	deadline := st.Started.Add(e.Settings.Timeout)
	ctx, cancel := context.WithDeadlineCause(outer, deadline, ErrTimeout)
	defer cancel()
	for st.Phase != PhaseDone {
		phase, start := st.Phase, e.now()
		var err error
		next := PhaseDone
		switch phase {
		case PhasePreflight:
			err, next = e.preflight(ctx), PhaseDeploy
			if e.Settings.Image != "" {
				next = PhaseImage
			}
		case PhaseImage:
			err, next = e.checkImage(ctx, st), PhaseDeploy
		case PhaseDeploy:
			err, next = e.startDeployments(ctx, st), PhaseFollow
		case PhaseFollow:
			err, next = e.follow(ctx, st), PhaseInvalidate
			if e.Settings.SkipInvalidation {
				next = e.afterInvalidations()
			}
		case PhaseInvalidate:
			err, next = e.createInvalidations(ctx, st), PhaseWait
		case PhaseWait:
			err, next = e.waitInvalidations(ctx, st), e.afterInvalidations()
		case PhaseVerify:
			err = e.verifyEdge(ctx, st)
		default:
			return newError(ErrConfig, "unknown phase %q in state", phase)
		}
		st.Phases[phase] += e.now().Sub(start).Seconds()
		if err != nil {
			err = e.interpret(ctx, st, err)
			if phase == PhaseFollow && e.Settings.Rollback == "on-failure" &&
				(errors.Is(err, ErrTimeout) || errors.Is(err, ErrFailed) && st.Failure != "") {
				// deploystep's own verdict, or its timeout: roll back, bounded apart from the
				// run's own limit (which may have run out), and say how it ended.
				rctx, rcancel := context.WithTimeout(outer, rollbackLimit)
				res := e.rollBack(rctx, st)
				rcancel()
				if res != "" {
					class := ErrFailed
					if errors.Is(err, ErrTimeout) {
						class = ErrTimeout
					}
					err = newError(class, "%s; ROLLBACK=on-failure: %s", err.Error(), res)
				}
			}
			return err
		}
		st.Phase = next
	}
	return nil
}

// afterInvalidations is the phase after the invalidations: edge verification when VERIFY_URL is set.
func (e *Engine) afterInvalidations() string {
	if len(e.Settings.VerifyURLs) > 0 {
		return PhaseVerify
	}
	return PhaseDone
}

// interpret turns a context ending into the error of its class, saying what was left in
// which state.
func (e *Engine) interpret(ctx context.Context, st *State, err error) error {
	if ctx.Err() == nil || isFinal(err) {
		return err
	}
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, errPaused):
		return errPaused
	case errors.Is(cause, ErrTimeout):
		return newError(ErrTimeout, "timed out after %v during %s: %s", e.Settings.Timeout, st.Phase, e.leftInFlight(st))
	default:
		return newError(ErrInterrupted, "interrupted during %s: %s", st.Phase, e.leftInFlight(st))
	}
}

// leftInFlight says what a stopped run leaves behind.
func (e *Engine) leftInFlight(st *State) string {
	var parts []string
	for _, svc := range e.Settings.Services {
		switch id, ok := st.Deployments[svc]; {
		case !ok:
			parts = append(parts, svc+" not updated")
		case st.Finished[svc]:
			parts = append(parts, fmt.Sprintf("%s deployment %s completed", svc, id))
		default:
			who := "ECS"
			if isCDDeployment(id) {
				who = "CodeDeploy"
			}
			msg := fmt.Sprintf("%s deployment %s still in progress (%s goes on with it)", svc, id, who)
			e.mu.Lock()
			if w := e.waiting[svc]; w != "" {
				msg += ", waiting for: " + w
			}
			e.mu.Unlock()
			parts = append(parts, msg)
		}
	}
	if !e.Settings.SkipInvalidation {
		for _, d := range e.Settings.Distributions {
			if id, ok := st.Invalidations[d]; ok {
				parts = append(parts, fmt.Sprintf("invalidation %s on %s created (CloudFront completes it); it was waiting for it to complete", id, d))
			} else {
				parts = append(parts, "no invalidation created on "+d)
			}
		}
	}
	if st.Phase == PhaseVerify {
		e.mu.Lock()
		parts = append(parts, "edge verification waiting for "+e.waiting["edge"])
		e.mu.Unlock()
	}
	return strings.Join(parts, "; ")
}

// Result reports the end of a run and returns its summary.
func (e *Engine) Result(st *State, err error) Summary {
	s := Summary{Result: "succeeded", ExitCode: ExitCode(err), Seconds: e.now().Sub(st.Started).Seconds(),
		Phases: st.Phases, Digest: st.Digest, Deployments: st.Deployments, Invalidations: st.Invalidations,
		VerifiedVersion: verifiedVersion(e.Settings, st)}
	msg := "release finished: deployments completed"
	if !e.Settings.SkipInvalidation {
		msg += ", invalidations completed"
	}
	if s.VerifiedVersion != "" {
		msg += ", the edge serves version " + s.VerifiedVersion
	} else if len(e.Settings.VerifyURLs) > 0 && len(st.Verified) == len(e.Settings.VerifyURLs) {
		msg += ", the edge answers 2xx"
	}
	if e.Settings.DryRun {
		s.Result, msg = "dry run passed", "dry run: every check passed; nothing was changed"
	}
	switch {
	case err == nil:
	case errors.Is(err, ErrConfig):
		s.Result, msg = "configuration error", err.Error()
	case errors.Is(err, ErrTimeout):
		s.Result, msg = "timed out", err.Error()
	case errors.Is(err, ErrInterrupted):
		s.Result, msg = "interrupted", err.Error()
	default:
		s.Result, msg = "failed", err.Error()
	}
	if err != nil {
		s.Error = err.Error()
	}
	e.emit(Event{Kind: KindResult, Message: msg, Summary: &s})
	return s
}

// The one retry rule. Every AWS call of a run goes through check, directly or through attempt:
// a final error (ErrConfig: not found, access denied, invalid parameter; ErrFailed) ends the run
// at once with its class, as does the end of ctx; anything else (throttling that outlived the
// SDK's retries, 5xx, a reset) is reported and tried again after a poll.

// check returns err when it ends the run; otherwise it reports it as a warning and returns nil,
// and the caller tries again (in the next poll, or through attempt).
func (e *Engine) check(ctx context.Context, err error, what string, ev Event) error {
	if err == nil {
		return nil
	}
	if isFinal(err) || ctx.Err() != nil {
		return err
	}
	ev.Kind, ev.Message = KindWarning, fmt.Sprintf("%s: %v; trying again", what, err)
	e.emit(ev)
	return nil
}

// attempt runs call until it succeeds or check says the run ends; between tries it waits a poll.
func (e *Engine) attempt(ctx context.Context, what string, call func(context.Context) error) error {
	for {
		err := call(ctx)
		if err == nil {
			return nil
		}
		if err := e.check(ctx, err, what, Event{}); err != nil {
			return err
		}
		if err := sleep(ctx, e.Settings.Poll); err != nil {
			return err
		}
	}
}

// setWaiting records what a service waits for ("" when it waits no more).
func (e *Engine) setWaiting(svc, what string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.waiting == nil {
		e.waiting = map[string]string{}
	}
	e.waiting[svc] = what
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// pace waits until an ECS read fits the cluster's read budget. A burst read (the diagnosis of
// a failure, once per run) does not wait.
func (e *Engine) pace(ctx context.Context, burst bool) error {
	gap := e.ReadGap
	if gap == 0 {
		gap = 1020 * time.Millisecond
	}
	e.mu.Lock()
	wait := time.Until(e.lastRead.Add(gap))
	if burst || wait < 0 {
		wait = 0
	}
	e.lastRead = time.Now().Add(wait)
	e.mu.Unlock()
	if wait == 0 {
		return ctx.Err()
	}
	return sleep(ctx, wait)
}
