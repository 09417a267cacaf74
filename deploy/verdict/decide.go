// Package verdict decides, by pure functions of one snapshot, where a deployment stands: Decide
// for a service on ECS's controller (its deployments[], its service deployment, the tasks'
// evidence), DecideCodeDeploy for a CodeDeploy blue/green deployment, and Needed and
// NeededCodeDeploy, what evidence a snapshot's verdict needs before it is decided (the observer
// fetches it, then decides once). The standard library only: everything is tested by tables of
// snapshots.
package verdict

import (
	"cmp"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ServiceView is one snapshot of an ECS service, reduced to what the decision needs.
type ServiceView struct {
	Name        string
	Status      string // ACTIVE, DRAINING, INACTIVE
	Desired     int
	Running     int
	Pending     int
	Deployments []DeploymentView
	// Breaker is the service's deployment circuit breaker; EarlySuccess its rolling
	// deployments' early success criteria (nil: off).
	Breaker      Breaker
	EarlySuccess *EarlySuccess
}

// Breaker is a service's deployment circuit breaker as DescribeServices shows it (ecs v1.98.0's
// DeploymentCircuitBreaker: thresholdConfiguration type COUNT, BOUNDED_PERCENT or
// UNBOUNDED_PERCENT, value, resetOnHealthyTask).
type Breaker struct {
	Enabled bool
	Type    string // "" is BOUNDED_PERCENT, the documented default
	Value   int    // 0 is 50 for the percent types, the documented default
	// Reset: a task that reaches a healthy state resets the failure count ("The default is true").
	Reset bool
}

// EarlySuccess is a rolling deployment's early success criteria: SUCCESSFUL once HealthyPercent
// of the desired count runs the new revision (and the bake time elapsed); with Cleanup DEFERRED
// the old tasks are removed after that, with BLOCKING before it.
type EarlySuccess struct {
	HealthyPercent int
	Cleanup        string
}

// required is how many new tasks an early success needs of desired: HealthyPercent of it,
// rounded up (inferred: ECS documents a percentage of the desired count, not its rounding).
func (es *EarlySuccess) required(desired int) int {
	if es == nil {
		return desired
	}
	return min(desired, (es.HealthyPercent*desired+99)/100)
}

// DeploymentView is one entry of a service's deployments[].
type DeploymentView struct {
	ID           string
	Status       string // PRIMARY, ACTIVE, INACTIVE
	RolloutState string // IN_PROGRESS, COMPLETED, FAILED, or "" where ECS gives none
	Reason       string
	TaskDef      string
	Desired      int
	Running      int
	Pending      int
	Failed       int
	Created      time.Time
}

// SDView is the pinned service deployment (DescribeServiceDeployments), reduced to what the
// decision needs.
type SDView struct {
	Status    string // PENDING, IN_PROGRESS, SUCCESSFUL, STOPPED, STOP_REQUESTED, ROLLBACK_*
	Reason    string
	Stage     string // lifecycleStage; "" on ROLLING
	Strategy  string
	Prod      *float64      // share of production traffic on the new revision; nil on ROLLING
	BakeLeft  time.Duration // in BAKE_TIME: what is left (observed); <0 unknown
	Triggered []string      // deployment alarms in ALARM
	Rollback  string        // the rollback's reason
	Paused    []HookView    // PAUSE hooks awaiting action
	Running   []HookView    // other hooks in progress (AWS_LAMBDA)
	Failed    []HookView    // AWS_LAMBDA hooks that FAILED or TIMED_OUT (TimeoutAction holds which)
}

// HookView is a lifecycle hook of the service deployment: for a PAUSE hook, when ECS takes its
// timeout action and which.
type HookView struct {
	ID, Stage, Target string
	Expires           time.Time
	TimeoutAction     string
}

// name is a hook's target as a person knows it: a Lambda function's name, else the ARN.
func (h HookView) name() string {
	if _, fn, ok := strings.Cut(h.Target, ":function:"); ok {
		return fn
	}
	return h.Target
}

// Evidence is what the reads found about the pinned deployment.
type Evidence struct {
	// SD is the pinned service deployment; nil where the API is not used (then deployments[]
	// alone is judged).
	SD *SDView
	// Stopped lists the stopped reasons of its failed tasks, newest first.
	Stopped []string
	// Digests are the image digests its running tasks report; nil when not read yet. Tasks that
	// report none are not in it.
	Digests []string
	// DigestReads counts the digest reads made so far.
	DigestReads int
}

// Needs is the evidence a snapshot's verdict needs beyond what was read: the observer fetches
// each (at most once a poll) before the verdict runs.
type Needs struct {
	SD      bool // the service deployment, to confirm an end deployments[] shows or name its cause
	Digests bool // the image digests the new tasks run
	Reasons bool // why the deployment's tasks stopped
}

// Pin is what is being followed: one deployment, and what it must end up running.
type Pin struct {
	Deployment string
	Digest     string // "" when IMAGE was not given
	// FailedTasks is how many stopped tasks of the deployment make it a failure.
	FailedTasks int
	// DigestCheck is "fail" (default) or "warn": what tasks that report no digest mean.
	DigestCheck string
	// WaitUntil is "completed" (default) or "traffic-shifted".
	WaitUntil string
}

// DigestReadLimit is how many digest reads may come back short before a completed deployment's
// missing digests are judged: ECS reports a running task's digest once its image is pulled, so a
// few reads a poll apart separate "not yet" from "never" (tasks on older EC2 agents, emulators).
const DigestReadLimit = 3

// Verdict is the outcome of one decision.
type Verdict int

// Verdicts.
const (
	Waiting Verdict = iota
	Done
	Failed
)

// String is the verdict in a word.
func (v Verdict) String() string { return [...]string{"waiting", "done", "failed"}[v] }

// Decision is a verdict with the words a person needs: for Waiting what is still missing, for
// Failed why.
type Decision struct {
	Verdict Verdict
	Message string
	// Progress is how a waiting deployment's progress is reported (said when it changes), with
	// the deployment's task counts where known.
	Progress string
	Counts   *Counts
	// Warning, on Done, is something the person should know (DIGEST_CHECK=warn).
	Warning string
	// Own marks a failure that deploystep decided (failed tasks, digest) rather than ECS or
	// CodeDeploy (a rollback, a stop): ROLLBACK=on-failure rolls back only those.
	Own bool
	// Paused lists the PAUSE hooks the deployment waits at.
	Paused []HookView
	// Stage and Traffic are where a waiting deployment is, for the release record's timeline:
	// the lifecycle stage (a CodeDeploy lifecycle event) and the share of production traffic on
	// the new revision (nil where no traffic shifts).
	Stage   string
	Traffic *float64
}

// FailureThreshold is how many failed tasks fail a deployment when none is configured: the
// threshold of the ECS deployment circuit breaker, half the desired count between 3 and 200.
func FailureThreshold(desired int) int {
	n := (desired + 1) / 2
	return max(3, min(200, n))
}

// threshold is the failed-task count that fails ours, and the rule that gave it:
// FAILED_TASKS_THRESHOLD when set; else, with the circuit breaker on, the breaker's own
// threshold (COUNT: its value; BOUNDED_PERCENT: value % of the desired count within 3..200, the
// default 50 % being the old fixed rule; UNBOUNDED_PERCENT: the same without the bounds, at least
// 1); without the breaker, deploystep's max(3, desired/2).
func threshold(pin Pin, v ServiceView, ours *DeploymentView) (int, string) {
	if pin.FailedTasks > 0 {
		return pin.FailedTasks, "FAILED_TASKS_THRESHOLD"
	}
	b := v.Breaker
	if !b.Enabled {
		return FailureThreshold(ours.Desired), "deploystep's max(3, desired/2): the service's circuit breaker is off"
	}
	typ, value := cmp.Or(b.Type, "BOUNDED_PERCENT"), b.Value
	if value == 0 && typ != "COUNT" {
		value = 50
	}
	of := (value*ours.Desired + 99) / 100
	var n int
	var rule string
	switch typ {
	case "COUNT":
		n, rule = max(1, value), fmt.Sprintf("the circuit breaker's COUNT %d", value)
	case "UNBOUNDED_PERCENT":
		n, rule = max(1, of), fmt.Sprintf("the circuit breaker's UNBOUNDED_PERCENT %d of desired %d", value, ours.Desired)
	default:
		n, rule = max(3, min(200, of)), fmt.Sprintf("the circuit breaker's BOUNDED_PERCENT %d of desired %d, within 3..200", value, ours.Desired)
	}
	if b.Reset {
		rule += ", reset by a healthy task"
	}
	return n, rule
}

// overThreshold is whether ours failed enough tasks to fail it. With the breaker's
// resetOnHealthyTask, ECS counts consecutive failures, which deployments[]'s cumulative
// failedTasks cannot show: once a new task runs, deploystep leaves the count to ECS's breaker.
func overThreshold(pin Pin, v ServiceView, ours *DeploymentView) bool {
	n, _ := threshold(pin, v, ours)
	if ours.Failed < n {
		return false
	}
	return pin.FailedTasks > 0 || !v.Breaker.Enabled || !v.Breaker.Reset || ours.Running == 0
}

// deployments finds ours (the pinned deployment) and the PRIMARY in a snapshot.
func deployments(v ServiceView, id string) (ours, primary *DeploymentView) {
	for i := range v.Deployments {
		d := &v.Deployments[i]
		if d.ID == id {
			ours = d
		}
		if d.Status == "PRIMARY" {
			primary = d
		}
	}
	return ours, primary
}

// completedBy is whether the snapshot shows ours completed: the service deployment says
// SUCCESSFUL, or (without it) ours is COMPLETED, or where ECS gives no rollout state it is the
// only deployment and runs its desired count. shifted is WAIT_UNTIL=traffic-shifted's end: all
// production traffic on the new revision, past the shift.
func completedBy(v ServiceView, ours *DeploymentView, pin Pin, sd *SDView) (completed, shifted bool) {
	if sd != nil {
		// The service deployment is authoritative: during bake time blue and green both run,
		// and deployments[] alone is a guess.
		return sd.Status == "SUCCESSFUL", pin.WaitUntil == "traffic-shifted" && sd.Prod != nil && *sd.Prod >= 100 &&
			(sd.Stage == "POST_PRODUCTION_TRAFFIC_SHIFT" || sd.Stage == "BAKE_TIME" || sd.Stage == "CLEAN_UP")
	}
	return ours.RolloutState == "COMPLETED" || ours.RolloutState == "" && len(v.Deployments) == 1 && ours.Running == ours.Desired, false
}

func rollingBack(sd *SDView) bool {
	return sd != nil && strings.HasPrefix(sd.Status, "ROLLBACK_")
}

// Needed says what evidence the snapshot's verdict needs: the service deployment when
// deployments[] alone shows an end (to confirm it or name its cause); the digests once the new
// tasks all run (read early, so completion is judged in the same poll) and again while a
// completed deployment's tasks report fewer than it runs; the stopped reasons of a failure.
func Needed(v ServiceView, pin Pin, ev Evidence) Needs {
	ours, _ := deployments(v, pin.Deployment)
	if v.Status != "" && v.Status != "ACTIVE" {
		return Needs{}
	}
	if ours == nil {
		return Needs{SD: ev.SD == nil, Reasons: len(ev.Stopped) == 0}
	}
	failing := rollingBack(ev.SD) || ours.RolloutState == "FAILED" && ours.Failed > 0 || ours.Status == "PRIMARY" && overThreshold(pin, v, ours)
	completed, shifted := completedBy(v, ours, pin, ev.SD)
	if ev.SD == nil {
		completed = completed && ours.Status == "PRIMARY"
	}
	var n Needs
	n.SD = ev.SD == nil && (completed || failing || ours.RolloutState == "FAILED" || ours.Status != "PRIMARY")
	n.Reasons = failing && len(ev.Stopped) == 0
	if pin.Digest != "" && !failing && ours.Status == "PRIMARY" {
		done := completed || shifted
		want := ours.Desired
		if completed && v.EarlySuccess != nil {
			want = v.EarlySuccess.required(ours.Desired)
		}
		n.Digests = ev.Digests == nil && (done || ours.Desired > 0 && ours.Running == ours.Desired) ||
			done && ev.Digests != nil && len(ev.Digests) < want && ev.DigestReads < DigestReadLimit
	}
	return n
}

// Decide judges one snapshot of a service against the pinned deployment. It never declares
// success from counts alone: the pinned deployment must be PRIMARY and COMPLETED (or, where ECS
// gives no rollout state, the only deployment with running == desired), and with a digest pinned
// its running tasks must report that digest.
func Decide(v ServiceView, pin Pin, ev Evidence) Decision {
	ours, primary := deployments(v, pin.Deployment)
	failed := func(format string, args ...any) Decision {
		msg := fmt.Sprintf(format, args...)
		if len(ev.Stopped) > 0 {
			msg += "; stopped tasks: " + summarize(ev.Stopped)
		}
		return Decision{Verdict: Failed, Message: msg}
	}
	if v.Status != "" && v.Status != "ACTIVE" {
		return failed("service %s is %s", v.Name, v.Status)
	}
	if d, ok := decideStopped(ev.SD, ours, primary, pin, failed); ok {
		return d
	}
	switch {
	case ours == nil && primary != nil:
		return failed("deployment %s is gone: the service now runs %s (%s)", pin.Deployment, primary.ID, takeover(nil, primary))
	case ours == nil:
		return failed("deployment %s is gone from service %s", pin.Deployment, v.Name)
	case ours.RolloutState == "FAILED":
		reason := ours.Reason
		if reason == "" {
			reason = "rollout FAILED"
		}
		return failed("deployment %s failed: %s", ours.ID, reason)
	case ours.Status != "PRIMARY" && primary == nil:
		return failed("deployment %s is no longer the PRIMARY", ours.ID)
	case ours.Status != "PRIMARY":
		return failed("deployment %s is no longer the PRIMARY: %s took over (%s)", ours.ID, primary.ID, takeover(ours, primary))
	case overThreshold(pin, v, ours):
		n, rule := threshold(pin, v, ours)
		d := failed("deployment %s: %d tasks failed (threshold %d: %s)", ours.ID, ours.Failed, n, rule)
		d.Own = true
		return d
	}
	counts := &Counts{Running: ours.Running, Desired: ours.Desired, Pending: ours.Pending, Failed: ours.Failed}
	completed, shifted := completedBy(v, ours, pin, ev.SD)
	if !completed && !shifted {
		msg := progress(v, ours)
		if ev.SD != nil {
			msg = stageProgress(ev.SD) + msg
		}
		d := Decision{Verdict: Waiting, Message: msg, Progress: ours.ID + ": " + msg, Counts: counts}
		if ev.SD != nil {
			d.Paused, d.Stage, d.Traffic = ev.SD.Paused, ev.SD.Stage, ev.SD.Prod
		}
		return d
	}
	// Early success: SUCCESSFUL with HealthyPercent of the new revision running; the digests are
	// those of the new revision's tasks, as many as the criteria need.
	early := completed && ev.SD != nil && v.EarlySuccess != nil && ours.Running < ours.Desired
	want := ours.Desired
	if completed && v.EarlySuccess != nil {
		want = max(v.EarlySuccess.required(ours.Desired), min(ours.Running, ours.Desired))
	}
	if d, judged := digestVerdict("deployment "+ours.ID, "completed", pin, ev, want); judged {
		switch d.Verdict {
		case Done:
			d.Message = fmt.Sprintf("deployment %s completed: %d of %d tasks running (image digest not confirmed)", ours.ID, ours.Running, ours.Desired)
		case Waiting:
			d.Progress = ours.ID + ": " + d.Message
		}
		d.Counts = counts
		return d
	}
	if shifted && !completed {
		return Decision{Verdict: Done, Message: fmt.Sprintf("deployment %s: all production traffic is on the new revision (%s; WAIT_UNTIL=traffic-shifted: ECS finishes the bake time and clean-up alone)",
			ours.ID, ev.SD.Stage)}
	}
	if early || completed && v.EarlySuccess != nil && oldRunning(v, ours) > 0 {
		return Decision{Verdict: Done, Message: fmt.Sprintf("deployment %s succeeded: early success at %d %% (%d of %d new tasks running): old tasks drain after the release",
			ours.ID, v.EarlySuccess.HealthyPercent, ours.Running, ours.Desired)}
	}
	return Decision{Verdict: Done, Message: fmt.Sprintf("deployment %s completed: %d of %d tasks running", ours.ID, ours.Running, ours.Desired)}
}

// oldRunning counts the tasks of the deployments other than ours.
func oldRunning(v ServiceView, ours *DeploymentView) int {
	n := 0
	for _, d := range v.Deployments {
		if d.ID != ours.ID {
			n += d.Running
		}
	}
	return n
}

// decideStopped judges a service deployment that is rolling back or stopped; ok is false when
// it is neither.
func decideStopped(sd *SDView, ours, primary *DeploymentView, pin Pin, failed func(string, ...any) Decision) (Decision, bool) {
	switch {
	case sd == nil:
		return Decision{}, false
	case rollingBack(sd):
		why := sd.Rollback
		if why == "" {
			why = sd.Reason
		}
		if len(sd.Triggered) > 0 {
			why += "; alarms in ALARM: " + strings.Join(sd.Triggered, ", ")
		}
		for _, h := range sd.Failed {
			why += fmt.Sprintf("; lifecycle hook %s %s (Lambda function %s)", h.name(), h.TimeoutAction, h.Target)
		}
		return failed("service deployment of %s is %s: %s", pin.Deployment, sd.Status, why), true
	case sd.Status != "STOPPED" && sd.Status != "STOP_REQUESTED":
		return Decision{}, false
	case ours != nil && ours.Status != "PRIMARY" && primary != nil:
		// deployments[] says who took over.
		return failed("deployment %s is no longer the PRIMARY: %s took over (%s); its service deployment is %s: %s",
			ours.ID, primary.ID, takeover(ours, primary), sd.Status, sd.Reason), true
	}
	return failed("service deployment of %s is %s: %s", pin.Deployment, sd.Status, sd.Reason), true
}

// digestVerdict is the one digest rule of both controllers, for a deployment (subject) that has
// otherwise ended (verb: completed, succeeded) and runs desired new tasks: every digest they
// report must be the pushed one, and as many must report one as run; tasks that report none are
// read DigestReadLimit times, then fail (DIGEST_CHECK=fail) or pass with a warning (warn, Verdict
// Done). judged is false when the digests pass, or no digest is pinned.
func digestVerdict(subject, verb string, pin Pin, ev Evidence, desired int) (d Decision, judged bool) {
	if pin.Digest == "" {
		return Decision{}, false
	}
	if ev.Digests == nil {
		return Decision{Verdict: Waiting, Message: verb + "; reading the digests of its tasks"}, true
	}
	var wrong []string
	for _, d := range ev.Digests {
		if d != pin.Digest {
			wrong = append(wrong, d)
		}
	}
	if len(wrong) > 0 {
		return Decision{Verdict: Failed, Own: true, Message: fmt.Sprintf("%s %s, but %d of %d tasks run %s instead of the pushed %s",
			subject, verb, len(wrong), len(ev.Digests), summarize(wrong), pin.Digest)}, true
	}
	if len(ev.Digests) >= desired {
		return Decision{}, false
	}
	if ev.DigestReads < DigestReadLimit {
		return Decision{Verdict: Waiting, Message: fmt.Sprintf("%s; %d of %d tasks report an image digest", verb, len(ev.Digests), desired)}, true
	}
	msg := fmt.Sprintf("%s %s, but only %d of %d running tasks report an image digest after %d reads, "+
		"so the pushed %s cannot be confirmed (tasks on older EC2 container agents, and emulators, report none)",
		subject, verb, len(ev.Digests), desired, ev.DigestReads, pin.Digest)
	if pin.DigestCheck == "warn" {
		return Decision{Verdict: Done, Warning: msg + "; DIGEST_CHECK=warn accepts it", Message: subject + " " + verb + " (image digest not confirmed)"}, true
	}
	return Decision{Verdict: Failed, Own: true, Message: msg + "; set DIGEST_CHECK=warn to accept a deployment whose digest cannot be read"}, true
}

// stageProgress names the lifecycle stage and, for the strategies that shift traffic, the share
// of production traffic on the new revision and the bake time left.
func stageProgress(sd *SDView) string {
	var msg string
	switch {
	case len(sd.Paused) > 0:
		msg = fmt.Sprintf("paused at %s (PAUSE hook %s): waiting for ContinueServiceDeployment", sd.Paused[0].Stage, sd.Paused[0].ID)
	case sd.Stage == "BAKE_TIME" && sd.BakeLeft >= 0:
		msg = fmt.Sprintf("BAKE_TIME: %v left", sd.BakeLeft.Round(time.Second))
	case sd.Stage != "" && sd.Prod != nil:
		msg = fmt.Sprintf("%s: %s%% of production traffic on the new revision", sd.Stage, strconv.FormatFloat(*sd.Prod, 'f', -1, 64))
	case sd.Stage != "":
		msg = sd.Stage
	default:
		return ""
	}
	for _, h := range sd.Running {
		msg += fmt.Sprintf("; lifecycle hook %s running at %s", h.name(), h.Stage)
	}
	return msg + "; "
}

// takeover says whether the deployment that took over is a rollback (older than ours) or
// someone else's deployment (newer).
func takeover(ours, primary *DeploymentView) string {
	switch {
	case ours != nil && !primary.Created.IsZero() && primary.Created.Before(ours.Created):
		return "rolled back"
	case ours != nil && primary.TaskDef != "" && primary.TaskDef != ours.TaskDef && primary.Created.After(ours.Created):
		return "replaced by another deployment, task definition " + primary.TaskDef
	case ours != nil:
		return "replaced by another deployment"
	}
	return "rolled back or replaced"
}

// progress says what is still missing, kubectl style.
func progress(v ServiceView, ours *DeploymentView) string {
	old := 0
	for _, d := range v.Deployments {
		if d.ID != ours.ID {
			old += d.Running
		}
	}
	msg := fmt.Sprintf("%d of %d new tasks running, %d pending", ours.Running, ours.Desired, ours.Pending)
	if ours.Failed > 0 {
		msg += fmt.Sprintf(", %d failed", ours.Failed)
	}
	if old > 0 {
		msg += fmt.Sprintf(", %d old tasks still running", old)
	}
	return msg
}

// summarize folds repeated strings: `reason A (x3); reason B`.
func summarize(items []string) string {
	count := map[string]int{}
	var order []string
	for _, s := range items {
		if count[s] == 0 {
			order = append(order, s)
		}
		count[s]++
	}
	sort.SliceStable(order, func(i, j int) bool { return count[order[i]] > count[order[j]] })
	parts := make([]string, 0, len(order))
	for _, s := range order {
		if count[s] > 1 {
			s = fmt.Sprintf("%s (x%d)", s, count[s])
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}
