package deploy

import (
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
}

// HookView is a lifecycle hook of the service deployment.
type HookView struct{ ID, Stage, Target string }

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

func (v Verdict) String() string { return [...]string{"waiting", "done", "failed"}[v] }

// Decision is a verdict with the words a person needs: for Waiting what is still missing, for
// Failed why.
type Decision struct {
	Verdict Verdict
	Message string
	// NeedDigests asks the observer to read the running tasks' digests.
	NeedDigests bool
	// NeedReasons asks the observer to read the stopped tasks' reasons.
	NeedReasons bool
	// Warning, on Done, is something the person should know (DIGEST_CHECK=warn).
	Warning string
	// Own marks a failure that deploystep decided (failed tasks, digest) rather than ECS (a
	// rollback, a stop): ROLLBACK=on-failure rolls back only those.
	Own bool
	// Paused lists the PAUSE hooks the deployment waits at.
	Paused []HookView
}

// FailureThreshold is how many failed tasks fail a deployment when none is configured: the
// threshold of the ECS deployment circuit breaker, half the desired count between 3 and 200.
func FailureThreshold(desired int) int {
	n := (desired + 1) / 2
	return max(3, min(200, n))
}

// Decide judges one snapshot of a service against the pinned deployment. It never declares
// success from counts alone: the pinned deployment must be PRIMARY and COMPLETED (or, where ECS
// gives no rollout state, the only deployment with running == desired), and with a digest pinned
// its running tasks must report that digest.
func Decide(v ServiceView, pin Pin, ev Evidence) Decision {
	var ours, primary *DeploymentView
	for i := range v.Deployments {
		d := &v.Deployments[i]
		if d.ID == pin.Deployment {
			ours = d
		}
		if d.Status == "PRIMARY" {
			primary = d
		}
	}
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
	if sd := ev.SD; sd != nil {
		switch sd.Status {
		case "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED":
			why := sd.Rollback
			if why == "" {
				why = sd.Reason
			}
			if len(sd.Triggered) > 0 {
				why += "; alarms in ALARM: " + strings.Join(sd.Triggered, ", ")
			}
			d := failed("service deployment of %s is %s: %s", pin.Deployment, sd.Status, why)
			d.NeedReasons = len(ev.Stopped) == 0 // its tasks' stopped reasons, where there are any
			return d
		case "STOPPED", "STOP_REQUESTED":
			if ours != nil && ours.Status != "PRIMARY" && primary != nil {
				// deployments[] says who took over.
				return failed("deployment %s is no longer the PRIMARY: %s took over (%s); its service deployment is %s: %s",
					ours.ID, primary.ID, takeover(ours, primary), sd.Status, sd.Reason)
			}
			return failed("service deployment of %s is %s: %s", pin.Deployment, sd.Status, sd.Reason)
		}
	}
	if ours == nil {
		var d Decision
		if primary != nil {
			d = failed("deployment %s is gone: the service now runs %s (%s)", pin.Deployment, primary.ID, takeover(nil, primary))
		} else {
			d = failed("deployment %s is gone from service %s", pin.Deployment, v.Name)
		}
		d.NeedReasons = len(ev.Stopped) == 0 // its tasks' stopped reasons, where there are any
		return d
	}
	if ours.RolloutState == "FAILED" {
		reason := ours.Reason
		if reason == "" {
			reason = "rollout FAILED"
		}
		if len(ev.Stopped) == 0 && ours.Failed > 0 {
			return Decision{Verdict: Failed, Message: fmt.Sprintf("deployment %s failed: %s", ours.ID, reason), NeedReasons: true}
		}
		return failed("deployment %s failed: %s", ours.ID, reason)
	}
	if ours.Status != "PRIMARY" {
		if primary == nil {
			return failed("deployment %s is no longer the PRIMARY", ours.ID)
		}
		return failed("deployment %s is no longer the PRIMARY: %s took over (%s)", ours.ID, primary.ID, takeover(ours, primary))
	}
	threshold := pin.FailedTasks
	if threshold <= 0 {
		threshold = FailureThreshold(ours.Desired)
	}
	if ours.Failed >= threshold {
		if len(ev.Stopped) == 0 {
			return Decision{Verdict: Failed, NeedReasons: true, Own: true,
				Message: fmt.Sprintf("deployment %s: %d tasks failed (threshold %d)", ours.ID, ours.Failed, threshold)}
		}
		d := failed("deployment %s: %d tasks failed (threshold %d)", ours.ID, ours.Failed, threshold)
		d.Own = true
		return d
	}
	completed := ours.RolloutState == "COMPLETED" ||
		(ours.RolloutState == "" && len(v.Deployments) == 1 && ours.Running == ours.Desired)
	shifted := false
	if sd := ev.SD; sd != nil {
		// The service deployment is authoritative: during bake time blue and green both run,
		// and deployments[] alone is a guess.
		completed = sd.Status == "SUCCESSFUL"
		shifted = pin.WaitUntil == "traffic-shifted" && sd.Prod != nil && *sd.Prod >= 100 &&
			(sd.Stage == "POST_PRODUCTION_TRAFFIC_SHIFT" || sd.Stage == "BAKE_TIME" || sd.Stage == "CLEAN_UP")
	}
	if !completed && !shifted {
		msg := progress(v, ours)
		if ev.SD != nil {
			msg = stageProgress(ev.SD) + msg
		}
		d := Decision{Verdict: Waiting, Message: msg,
			NeedDigests: pin.Digest != "" && ev.Digests == nil && ours.Running == ours.Desired && ours.Desired > 0}
		if ev.SD != nil && len(ev.SD.Paused) > 0 {
			d.Paused = ev.SD.Paused
		}
		return d
	}
	if pin.Digest != "" {
		if ev.Digests == nil {
			return Decision{Verdict: Waiting, Message: "completed; reading the digests of its tasks", NeedDigests: true}
		}
		var wrong []string
		for _, d := range ev.Digests {
			if d != pin.Digest {
				wrong = append(wrong, d)
			}
		}
		if len(wrong) > 0 {
			d := failed("deployment %s completed, but %d of %d tasks run %s instead of the pushed %s",
				ours.ID, len(wrong), len(ev.Digests), summarize(wrong), pin.Digest)
			d.Own = true
			return d
		}
		if len(ev.Digests) < ours.Desired {
			if ev.DigestReads < DigestReadLimit {
				return Decision{Verdict: Waiting, Message: fmt.Sprintf("completed; %d of %d tasks report an image digest", len(ev.Digests), ours.Desired), NeedDigests: true}
			}
			msg := fmt.Sprintf("deployment %s completed, but only %d of %d running tasks report an image digest after %d reads, "+
				"so the pushed %s cannot be confirmed (tasks on older EC2 container agents, and emulators, report none)",
				ours.ID, len(ev.Digests), ours.Desired, ev.DigestReads, pin.Digest)
			if pin.DigestCheck == "warn" {
				return Decision{Verdict: Done, Warning: msg + "; DIGEST_CHECK=warn accepts it",
					Message: fmt.Sprintf("deployment %s completed: %d of %d tasks running (image digest not confirmed)", ours.ID, ours.Running, ours.Desired)}
			}
			return Decision{Verdict: Failed, Own: true, Message: msg + "; set DIGEST_CHECK=warn to accept a deployment whose digest cannot be read"}
		}
	}
	if shifted && !completed {
		return Decision{Verdict: Done, Message: fmt.Sprintf("deployment %s: all production traffic is on the new revision (%s; WAIT_UNTIL=traffic-shifted: ECS finishes the bake time and clean-up alone)",
			ours.ID, ev.SD.Stage)}
	}
	return Decision{Verdict: Done, Message: fmt.Sprintf("deployment %s completed: %d of %d tasks running", ours.ID, ours.Running, ours.Desired)}
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
		msg += fmt.Sprintf("; lifecycle hook %s running at %s", h.Target, h.Stage)
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
