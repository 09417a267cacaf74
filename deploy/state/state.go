// Package state is what a release has decided so far, all a later invocation needs to resume it:
// run-level facts (the release's Identity, whom it acts as, the image's digest, the invalidations,
// the edge's proof), one ServiceState per service, the task-definition revisions and the pre-deploy
// task. The Lambda mode carries it across invocations in a continuation token (EncodeToken,
// DecodeToken, proven to fit by worstState); DecodeToken checks a token against the settings
// before anything trusts it.
package state

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/settings"
	"github.com/deploystep/deploystep/deploy/verdict"
)

// State is everything a release has decided so far.
type State struct {
	Phase   string    `json:"p"`
	Started time.Time `json:"s"`
	// Run is the release's identity, derived once at the start (identity.go).
	Run Identity `json:"id"`
	// Caller is who the run acts as, and where (whoami.go).
	Caller Caller `json:"who,omitempty"`
	// Digest is IMAGE's digest, resolved in the image step.
	Digest string `json:"d,omitempty"`
	// Services holds one record per service of SERVICE.
	Services map[string]*ServiceState `json:"sv,omitempty"`
	// TaskDefs holds, per base ("file:<path>", the TASK_DEFINITION named, or "services:<names>"
	// for services on their own revision), the revision the release registered from it
	// (taskdef.go).
	TaskDefs map[string]*TaskDefState `json:"td,omitempty"`
	// Predeploy is the pre-deploy task's record (predeploy.go); nil without PREDEPLOY_COMMAND.
	Predeploy *PredeployState `json:"pd,omitempty"`
	// Invalidations holds the invalidation id, per distribution.
	Invalidations map[string]string `json:"i,omitempty"`
	// Decisions holds, per distribution, what the release invalidates, decided in the preflight
	// (cache.go); none with an INVALIDATION_PATHS list, which is sent as it is.
	Decisions map[string]CacheDecision `json:"dc,omitempty"`
	// Phases accumulates the seconds spent per phase.
	Phases map[string]float64 `json:"t,omitempty"`
	// Failure is deploystep's own failure verdict (failed tasks, digests, a timeout): the one
	// ROLLBACK=on-failure rolls back.
	Failure string `json:"fl,omitempty"`
	// VerifyStarted is when edge verification began (VERIFY_TIMEOUT runs from it across
	// invocations); Verified holds, by the index of each VERIFY_URL verified, the version it
	// served (indexes, not URLs, keep the continuation token small).
	VerifyStarted time.Time      `json:"vs,omitempty"`
	Verified      map[int]string `json:"v,omitempty"`
}

// ServiceState is one service's record: its controller, the deployment followed, and by concern
// what the release did and saw of it. The concerns are embedded, so the JSON (and the
// continuation token) stays one flat object per service.
type ServiceState struct {
	// Controller is the service's deployment controller (ECS or CODE_DEPLOY), read once, in the
	// deploy step; it picks the controller that starts, observes and rolls back its deployment.
	Controller string `json:"c,omitempty"`
	// TaskDef is the task-definition revision the release deploys to the service (its ARN; ""
	// without a register step: the service's own is redeployed).
	TaskDef string `json:"td,omitempty"`
	// Deployment is the deployment followed: ecs-svc/<n>, or a CodeDeploy d-<id>.
	Deployment string `json:"dp,omitempty"`
	// LastEvent is the id of the newest ECS service event already seen: events are told apart by
	// their ids, not by comparing AWS's clock with ours.
	LastEvent string `json:"e,omitempty"`
	// Finished: the deployment is done. Stopped: the run stopped it with a rollback
	// (ROLLBACK=on-failure), so that it is sent once across invocations and re-runs.
	Finished bool `json:"f,omitempty"`
	Stopped  bool `json:"st,omitempty"`
	Sending
	ServiceDeployment
	PauseHooks
	TaskDigests
	CodeDeployTarget
}

// Sending is the send-once bookkeeping of the call that starts the deployment.
type Sending struct {
	// Before is the service's PRIMARY deployment before the release: a deployment that replaces
	// it after an UpdateService whose answer was lost is ours.
	Before string `json:"b,omitempty"`
	// Sent is when a call that starts the deployment was sent whose outcome is unknown (cut off,
	// timed out, reset, 5xx): it may still land, so it is not sent again within the unknown
	// window, and a deployment that shows up in the meantime is ours.
	Sent time.Time `json:"u,omitempty"`
}

// ServiceDeployment is the ECS service deployment the release's UpdateService started.
type ServiceDeployment struct {
	// SD is its ARN. NoSD says the service deployment API is not available for it (absent,
	// ambiguous, PinFails tries failed): deployments[] alone is judged, as said once.
	SD       string `json:"sd,omitempty"`
	NoSD     bool   `json:"nsd,omitempty"`
	PinFails int    `json:"pf,omitempty"`
	// BakeSeen is when the run first saw the service deployment in BAKE_TIME (for "left").
	BakeSeen time.Time `json:"bk,omitempty"`
}

// PauseHooks is what the release did with the deployment's PAUSE hooks.
type PauseHooks struct {
	// Answered lists the PAUSE hooks the run answered (hook id: CONTINUE or ROLLBACK).
	Answered map[string]string `json:"hk,omitempty"`
	// Paused is the PAUSE hook the deployment waits at, as last read (nil: none); with
	// WAIT_UNTIL=paused the release stopped there (Finished). Adopted, with HOOK_ANSWER, the hook
	// this run answers.
	Paused  *Hook  `json:"pz,omitempty"`
	Adopted string `json:"ad,omitempty"`
}

// TaskDigests are the image digests the deployment's new tasks reported at the last of
// DigestReads reads (tasks that report none are not in it).
type TaskDigests struct {
	Digests     []string `json:"g,omitempty"`
	DigestReads int      `json:"n,omitempty"`
}

// CodeDeployTarget is a CodeDeploy deployment's ECS target and replacement task set.
type CodeDeployTarget struct {
	Target  string `json:"ct,omitempty"`
	TaskSet string `json:"cs,omitempty"`
}

// Hook is a PAUSE lifecycle hook a deployment waits at.
type Hook struct {
	Stage string `json:"s"`
	ID    string `json:"h"`
	// TimeoutAction and Expires are what ECS does, and when, if nobody answers.
	TimeoutAction string    `json:"a,omitempty"`
	Expires       time.Time `json:"x,omitzero"`
}

// Paused lists the services whose deployment WAIT_UNTIL=paused left at a PAUSE hook.
func (st *State) Paused() []string {
	var out []string
	for name, svc := range st.Services {
		if svc.Paused != nil && svc.Finished {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// NewState is the state of a release that starts now; key names it for re-runs (the CodeBuild
// build id or the first CodePipeline job id; "" for a one-off run).
func NewState(s settings.Settings, key string, now time.Time) *State {
	return &State{Phase: PhasePreflight, Started: now, Run: NewIdentity(s, key)}
}

// Init makes the maps a decoded state lacks, and a record for each service.
func (st *State) Init(services []string) {
	Ensure(&st.Services)
	Ensure(&st.TaskDefs)
	Ensure(&st.Invalidations)
	Ensure(&st.Decisions)
	Ensure(&st.Phases)
	Ensure(&st.Verified)
	for _, name := range services {
		if st.Services[name] == nil {
			st.Services[name] = &ServiceState{}
		}
		Ensure(&st.Services[name].Answered)
	}
}

// Ensure makes a nil map empty (a State decoded from a token has nil maps where it had none).
func Ensure[M ~map[K]V, K comparable, V any](m *M) {
	if *m == nil {
		*m = M{}
	}
}

// check validates a state read from outside (a continuation token) against the settings: the
// one validation of a decoded state.
func (st *State) check(s settings.Settings, now time.Time) string {
	switch {
	case !slices.Contains(append(PhaseOrder, PhaseDone), st.Phase):
		return fmt.Sprintf("unknown phase %q", failure.Clip(st.Phase))
	case st.Started.IsZero() || st.Started.After(now.Add(time.Minute)):
		return "start time missing or in the future"
	case st.Run.CallerRef == "" || len(st.Run.CallerRef) > 128:
		return "CallerReference missing or too long"
	case st.Run.Key == "" || st.Run.Marker == "":
		return "run identity missing"
	}
	for k, svc := range st.Services {
		switch {
		case !slices.Contains(s.Services, k):
			return fmt.Sprintf("names service %q, which the settings do not", failure.Clip(k))
		case svc == nil:
			return fmt.Sprintf("service %q has no record", failure.Clip(k))
		case svc.Controller != "" && svc.Controller != ControllerECS && svc.Controller != ControllerCodeDeploy:
			return fmt.Sprintf("service %q has an unknown controller %q", failure.Clip(k), failure.Clip(svc.Controller))
		}
	}
	if len(st.TaskDefs) > len(s.Services) {
		return fmt.Sprintf("%d task-definition bases for %d services", len(st.TaskDefs), len(s.Services))
	}
	for k, td := range st.TaskDefs {
		if td == nil || td.ARN != "" && !strings.Contains(td.ARN, ":task-definition/") {
			return fmt.Sprintf("task definition of %q is not a task-definition ARN", failure.Clip(k))
		}
	}
	if pd := st.Predeploy; pd != nil && (s.PredeployCommand == "" || !taskIDRule.MatchString(pd.Task) || len(pd.LogToken) > 512) {
		return "pre-deploy task record does not fit the settings"
	}
	for k := range st.Invalidations {
		if !slices.Contains(s.Distributions, k) {
			return fmt.Sprintf("names distribution %q, which the settings do not", failure.Clip(k))
		}
	}
	for k, d := range st.Decisions {
		if !slices.Contains(s.Distributions, k) {
			return fmt.Sprintf("decides for distribution %q, which the settings do not", failure.Clip(k))
		}
		auto, tags := d.Mode == settings.ModeAuto, d.Mode == settings.ModeTags
		if !auto && !tags || auto && len(d.Paths) > 0 && settings.CheckPaths(d.Paths) != "" {
			return fmt.Sprintf("the invalidation decision for %q does not fit the settings", failure.Clip(k))
		}
	}
	for i := range st.Verified {
		if i < 0 || i >= len(s.VerifyURLs) {
			return fmt.Sprintf("verified URL %d, which the settings do not list", i)
		}
	}
	return ""
}

// taskIDRule is what a task id in a decoded state may be: ECS's 32 hex digits (a UUID where an
// emulator writes one; "" before RunTask answered).
var taskIDRule = regexp.MustCompile(`^[0-9a-f-]{0,36}$`)

// worstState is the largest state the action s can reach, every field at its longest: every
// service started on the controller with the longer record, replaced, sent with an unknown
// outcome, pinned, baked, its hooks answered, its digests read, stopped; every distribution
// invalidated; every URL verified. A test fills it by reflection, so a field added later that is
// left out here fails there.
func worstState(s settings.Settings) *State {
	now := time.Now()
	digest := "sha256:" + strings.Repeat("f", 64)
	st := &State{Phase: PhaseFollow, Started: now, Digest: digest, Run: NewIdentity(s, strings.Repeat("0", 36)),
		Failure: strings.Repeat("f", 300), VerifyStarted: now,
		// An assumed role's ARN at its longest: role name 64, session name 64.
		Caller: Caller{ARN: "arn:aws:sts::123456789012:assumed-role/" + strings.Repeat("r", 64) + "/" + strings.Repeat("s", 64),
			Account: "123456789012", Region: "ap-southeast-2"}}
	st.Init(s.Services)
	for i, name := range s.Services {
		id := fmt.Sprintf("ecs-svc/%019d", 9000000000000000000+i)
		// A revision ARN at its longest: a family of 255 characters, revision up to 1,000,000.
		td := fmt.Sprintf("arn:aws:ecs:ap-southeast-2:123456789012:task-definition/%s%03d:1000000", strings.Repeat("f", 252), i%1000)
		// Each service on its own base (its current revision): one base each, the longest case.
		st.TaskDefs["services:"+name] = &TaskDefState{ARN: td, Sent: now}
		*st.Services[name] = ServiceState{Controller: ControllerCodeDeploy, Deployment: id + "1", TaskDef: td,
			LastEvent: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i), Finished: true, Stopped: true,
			Sending: Sending{Before: id, Sent: now},
			ServiceDeployment: ServiceDeployment{
				SD:   fmt.Sprintf("arn:aws:ecs:ap-southeast-2:123456789012:service-deployment/%s/%s/%021d", s.Cluster, name, i),
				NoSD: true, PinFails: PinTries, BakeSeen: now},
			PauseHooks: PauseHooks{Answered: map[string]string{fmt.Sprintf("%020d", i): "CONTINUE"},
				Paused:  &Hook{Stage: "POST_PRODUCTION_TRAFFIC_SHIFT", ID: strings.Repeat("h", 36), TimeoutAction: "ROLLBACK", Expires: now},
				Adopted: strings.Repeat("h", 36)},
			TaskDigests: TaskDigests{Digests: []string{digest, "sha256:" + strings.Repeat(fmt.Sprintf("%02x", i%256), 32)},
				DigestReads: verdict.DigestReadLimit},
			CodeDeployTarget: CodeDeployTarget{Target: s.Cluster + ":" + name, TaskSet: fmt.Sprintf("ecs-svc/%019d", 8000000000000000000+i)}}
	}
	for i, d := range s.Distributions {
		st.Invalidations[d] = fmt.Sprintf("I%013d", i)
		// The longest decision deploystep keeps: maxDecisionChars of paths (or the tags), and a
		// reason clipped at 400.
		dec := CacheDecision{Mode: settings.ModeAuto, Reason: strings.Repeat("w", 400)}
		for n := 0; n < MaxDecisionChars/40; n++ {
			dec.Paths = append(dec.Paths, fmt.Sprintf("/%02d%s*", n, strings.Repeat(fmt.Sprintf("%x", n%16), 36)))
		}
		if len(s.Tags) > 0 {
			dec = CacheDecision{Mode: settings.ModeTags, Paths: s.TagItems(), Reason: strings.Repeat("w", 400)}
		}
		st.Decisions[d] = dec
	}
	if s.PredeployCommand != "" {
		// A task id is 32 hex digits; a forward token as CloudWatch Logs writes them, "f/" 56 digits "/s".
		st.Predeploy = &PredeployState{Task: strings.Repeat("f", 32), Sent: now, Began: now, LogToken: "f/" + strings.Repeat("9", 56) + "/s",
			Lines: MaxLogLines + 1, Bytes: 256 << 10, Cut: true, Stopped: true, Passed: true}
	}
	for _, p := range PhaseOrder {
		st.Phases[p] = 1234.5
	}
	for i := range s.VerifyURLs {
		st.Verified[i] = strings.Repeat("v", 200) // a version as read (edge.Read clips at 200)
	}
	return st
}
