package verdict

import (
	"fmt"
	"strings"
)

// CDView is what a decision about a CodeDeploy deployment needs, read off GetDeployment and
// GetDeploymentTarget.
type CDView struct {
	ID, Status      string
	ErrCode, ErrMsg string
	Rollback        string // the rollback deployment CodeDeploy started
	Events          []CDEvent
	GreenTraffic    float64 // production traffic on the replacement task set
	GreenRunning    int64
	GreenDesired    int64
	GreenTaskSet    string
	HaveTarget      bool
}

// CDEvent is one lifecycle event of the ECS target.
type CDEvent struct{ Name, Status, Diagnostic string }

// trafficShifted is WAIT_UNTIL=traffic-shifted's end: AllowTraffic succeeded and all
// production traffic is on the replacement task set.
func trafficShifted(v CDView) bool {
	for _, ev := range v.Events {
		if ev.Name == "AllowTraffic" && ev.Status == "Succeeded" {
			return v.GreenTraffic >= 100
		}
	}
	return false
}

// NeededCodeDeploy says what a CodeDeploy snapshot's verdict needs: the replacement tasks' digests
// once the deployment ended well (and again while they report fewer than it runs), the stopped
// reasons of a failure.
func NeededCodeDeploy(v CDView, pin Pin, ev Evidence) Needs {
	ended := v.Status == "Succeeded" || pin.WaitUntil == "traffic-shifted" && trafficShifted(v)
	return Needs{
		Digests: pin.Digest != "" && v.GreenTaskSet != "" && ended &&
			(ev.Digests == nil || len(ev.Digests) < int(v.GreenDesired) && ev.DigestReads < DigestReadLimit),
		Reasons: (v.Status == "Failed" || v.Status == "Stopped") && v.GreenTaskSet != "" && len(ev.Stopped) == 0,
	}
}

// DecideCodeDeploy judges a CodeDeploy deployment: done, waiting (saying on what) or failed
// (saying why).
func DecideCodeDeploy(v CDView, pin Pin, ev Evidence) Decision {
	var current, failed *CDEvent
	for i := range v.Events {
		ev := &v.Events[i]
		if ev.Status == "Failed" && failed == nil {
			failed = ev
		}
		if ev.Status == "InProgress" && current == nil {
			current = ev
		}
	}
	switch {
	case v.Status == "Failed" || v.Status == "Stopped":
		return Decision{Verdict: Failed, Message: cdFailure(v, failed, ev.Stopped)}
	case v.Status == "Succeeded" || pin.WaitUntil == "traffic-shifted" && trafficShifted(v):
		msg := fmt.Sprintf("CodeDeploy deployment %s succeeded: the replacement task set serves all traffic", v.ID)
		if v.Status != "Succeeded" {
			msg = fmt.Sprintf("CodeDeploy deployment %s: all production traffic on the replacement task set (the original task set ends after the termination wait)", v.ID)
		}
		if v.GreenTaskSet == "" {
			return Decision{Verdict: Done, Message: msg}
		}
		d, judged := digestVerdict("CodeDeploy deployment "+v.ID, "succeeded", pin, ev, int(v.GreenDesired))
		switch {
		case !judged && pin.Digest != "":
			return Decision{Verdict: Done, Message: msg + " with the pushed digest"}
		case !judged:
			return Decision{Verdict: Done, Message: msg}
		case d.Verdict == Done:
			d.Message = msg + " (image digest not confirmed)"
		}
		return d
	}
	msg := fmt.Sprintf("CodeDeploy deployment %s %s", v.ID, v.Status)
	switch {
	case v.Status == "Ready":
		msg += ": waiting for traffic to be rerouted (ContinueDeployment)"
	case current != nil:
		msg += ": " + current.Name + " in progress"
	case v.HaveTarget && len(v.Events) > 0 && v.Events[len(v.Events)-1].Status == "Succeeded":
		msg += ": waiting for the original task set to end (termination wait)"
	}
	d := Decision{Verdict: Waiting, Stage: v.Status}
	if current != nil {
		d.Stage = current.Name
	}
	if v.HaveTarget {
		msg += fmt.Sprintf("; replacement task set %d/%d running, %.0f%% of production traffic", v.GreenRunning, v.GreenDesired, v.GreenTraffic)
		traffic := v.GreenTraffic
		d.Traffic = &traffic
	}
	d.Message = msg
	return d
}

// cdFailure says why a CodeDeploy deployment failed or stopped: the lifecycle event, its hook's
// diagnostic, CodeDeploy's errorInformation, the rollback it started, why replacement tasks stopped.
func cdFailure(v CDView, failed *CDEvent, stopped []string) string {
	msg := fmt.Sprintf("CodeDeploy deployment %s %s", v.ID, strings.ToLower(v.Status))
	if failed != nil {
		msg += " at " + failed.Name
		if failed.Diagnostic != "" {
			msg += " (" + failed.Diagnostic + ")"
		}
	}
	if v.ErrCode != "" {
		msg += ": " + v.ErrCode
		if v.ErrMsg != "" {
			msg += ": " + v.ErrMsg
		}
	}
	if v.Rollback != "" {
		msg += "; CodeDeploy started rollback deployment " + v.Rollback
	}
	if len(stopped) > 0 {
		msg += "; replacement tasks stopped: " + strings.Join(stopped[:min(len(stopped), 3)], "; ")
	}
	return msg
}

// Counts are a deployment's task counts.
type Counts struct {
	Running int `json:"running"`
	Desired int `json:"desired"`
	Pending int `json:"pending"`
	Failed  int `json:"failed"`
}
