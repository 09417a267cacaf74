// Package step is the seam between the engine and its steps: Host, what the engine lends every
// step (the settings, the AWS clients, the clock, the output and the run's bookkeeping of this
// invocation), and the rules every step's calls go through: the one retry rule (Wait, Attempt,
// Accept), the per-cluster read budget (Read), send-once for a call that starts something
// (SendOnce), and the paced reads of the services (Describe). A step package (the ECS and
// CodeDeploy controllers, the task definitions, the pre-deploy task, CloudFront) takes a *Host,
// never the engine, so each can be read and tested alone, with a fake Clock and fake clients.
package step

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/deploystep/deploystep/deploy/awsapi"
	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/report"
	"github.com/deploystep/deploystep/deploy/settings"
	"github.com/deploystep/deploystep/deploy/state"
	"github.com/deploystep/deploystep/deploy/verdict"
)

// Clock is time as a run sees it: every wait sleeps on it, every timestamp reads it.
type Clock interface {
	Now() time.Time
	// Sleep returns after d, or with ctx's error when ctx ends first.
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now is time.Now.
func (RealClock) Now() time.Time { return time.Now() }

// Sleep waits d on a timer, or until ctx ends.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Host is what the engine lends a step.
type Host struct {
	Settings settings.Settings
	awsapi.Clients
	Clock  Clock // nil: RealClock
	Report report.Reporter
	// Notes are what the release record notes as the run goes.
	Notes report.Notes
	// Limit is the run's time limit (Settings.Limit resolves it per mode); heartbeats say it.
	Limit time.Duration
	// Edge fetches VERIFY_URL (edge.NewClient); nil builds one on the default transport.
	Edge *http.Client
	// ReadGap is the least time between two ECS reads (the per-cluster read budget of one a
	// second); default 1.05s, a margin for timer and network jitter and for the few reads a verdict
	// makes at once (bench: 0.974 reads a second on the busiest of 5 clusters of 10 services).
	ReadGap time.Duration

	mu       sync.Mutex
	lastRead time.Time
	run      *state.State // the state being run: event timestamps, heartbeats, whom it acts as
	said     said
	// waiting is what each unfinished service (and "edge", each "invalidation <id>") waits for,
	// from its last decision: a timeout and a heartbeat say it.
	waiting  map[string]string
	services map[string]*ServiceRun
	// preflight is the preflight's read of the services, for the steps of the same invocation
	// (until the deploy step has used it).
	preflight map[string]ecstypes.Service
}

// said is what the output has said: the one-time messages (by key) and when it last said
// anything (a heartbeat fills a silence).
type said struct {
	keys map[string]bool
	last time.Time
}

// ServiceRun is what this invocation knows of a service beyond its record in the State: the
// stopped tasks a failure names.
type ServiceRun struct {
	Stopped []StoppedTask
}

// StoppedTask is a stopped task a failure names, with its logs' place.
type StoppedTask struct {
	ID, Reason string
	// Logs names the awslogs group and stream of the container that failed ("" when its task
	// definition sends no logs to CloudWatch, or could not be read).
	Logs string
}

// Begin makes st the state being run (timestamps count from its start) and its caller the one
// messages name.
func (h *Host) Begin(st *state.State) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.run = st
}

// SetCaller records whom the run acts as (whoami), in the state being run.
func (h *Host) SetCaller(c state.Caller) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.run != nil {
		h.run.Caller = c
	}
}

// Caller is whom the run acts as, for messages that say where they looked.
func (h *Host) Caller() state.Caller {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.run == nil {
		return state.Caller{}
	}
	return h.run.Caller
}

// Now is the clock's time.
func (h *Host) Now() time.Time { return h.clock().Now() }

func (h *Host) clock() Clock {
	if h.Clock == nil {
		return RealClock{}
	}
	return h.Clock
}

// Emit reports ev, stamped with the time, the run's elapsed seconds and its phase.
func (h *Host) Emit(ev report.Event) {
	if h.Report == nil {
		return
	}
	ev.Time = h.Now()
	h.mu.Lock()
	h.said.last = ev.Time
	run := h.run
	h.mu.Unlock()
	if run != nil {
		ev.Elapsed = float64(ev.Time.Sub(run.Started).Milliseconds()) / 1000
		if ev.Phase == "" {
			ev.Phase = run.Phase
		}
	}
	h.Report.Report(ev)
}

// Once emits ev the first time key is said.
func (h *Host) Once(key string, ev report.Event) {
	h.mu.Lock()
	if h.said.keys == nil {
		h.said.keys = map[string]bool{}
	}
	seen := h.said.keys[key]
	h.said.keys[key] = true
	h.mu.Unlock()
	if !seen {
		h.Emit(ev)
	}
}

// SetWaiting records what a service (or "edge", or "invalidation <id>") waits for ("" when it
// waits no more).
func (h *Host) SetWaiting(what, msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.waiting == nil {
		h.waiting = map[string]string{}
	}
	h.waiting[what] = msg
}

// WaitingFor is what SetWaiting last recorded for what.
func (h *Host) WaitingFor(what string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.waiting[what]
}

// Service is this invocation's record of a service (made on first use).
func (h *Host) Service(name string) ServiceRun {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.services[name]; r != nil {
		return *r
	}
	return ServiceRun{}
}

func (h *Host) updateService(name string, f func(*ServiceRun)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.services == nil {
		h.services = map[string]*ServiceRun{}
	}
	if h.services[name] == nil {
		h.services[name] = &ServiceRun{}
	}
	f(h.services[name])
}

// SetStopped records the stopped tasks of a service's failing deployment.
func (h *Host) SetStopped(name string, tasks []StoppedTask) {
	h.updateService(name, func(r *ServiceRun) { r.Stopped = tasks })
}

// SayStopped names, as failure lines, each stopped task of a failed deployment and its logs.
func (h *Host) SayStopped(name, deployment string) {
	for _, t := range h.Service(name).Stopped {
		msg := fmt.Sprintf("task %s stopped: %s", t.ID, t.Reason)
		if t.Logs != "" {
			msg += "; its logs: " + t.Logs
		}
		h.Emit(report.Event{Kind: report.KindFailure, Service: name, Deployment: deployment, Message: msg})
	}
}

// DefaultHeartbeat is the longest a wait goes without a line when HEARTBEAT is not loaded (a Host
// built in a test).
const DefaultHeartbeat = 30 * time.Second

// Heartbeat says, when nothing was said for HEARTBEAT, how long the run has waited against its
// limit and for what: each service's last verdict, the invalidations, the edge.
func (h *Host) Heartbeat() {
	every := cmp.Or(h.Settings.Heartbeat, DefaultHeartbeat)
	now := h.Now()
	h.mu.Lock()
	run := h.run
	quiet := run != nil && now.Sub(h.said.last)+h.Settings.Poll >= every // before the next poll would pass it
	var what []string
	for _, k := range slices.Sorted(maps.Keys(h.waiting)) {
		if w := h.waiting[k]; w != "" {
			if !strings.HasPrefix(k, "invalidation ") && k != "edge" {
				w = k + ": " + w
			}
			what = append(what, w)
		}
	}
	h.mu.Unlock()
	if !quiet {
		return
	}
	msg := fmt.Sprintf("still waiting (%s of %s)", now.Sub(run.Started).Round(time.Second), h.Limit)
	if len(what) > 0 {
		msg += ": " + strings.Join(what, "; ")
	}
	h.Emit(report.Event{Kind: report.KindProgress, Message: msg})
}

// KindWords name a deployment kind in messages: who goes on with a deployment left behind, the
// call that stops one, and what was sent.
type KindWords struct{ Owner, StopCall, StopSent string }

// ErrNoRollback: the deployment cannot be stopped with a rollback (no service deployment pinned).
// It is final (of class ErrFailed), so the retry rule does not ask again for what cannot come.
var ErrNoRollback = fmt.Errorf("no rollback possible: %w", failure.ErrFailed)

// PinFor is what a verdict on a service pins: the deployment the release follows, the digest its
// tasks must run, and the settings that judge it.
func PinFor(h *Host, st *state.State, svc *state.ServiceState) verdict.Pin {
	return verdict.Pin{Deployment: svc.Deployment, Digest: st.Digest, FailedTasks: h.Settings.FailedTasks,
		DigestCheck: h.Settings.DigestCheck, WaitUntil: h.Settings.WaitUntil}
}
