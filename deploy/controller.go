package deploy

// Controllers: each deployment kind has one, chosen once per service (the service's deployment
// controller, kept in its record): it starts the release's deployment once, observes and decides
// it, and rolls it back. What every kind shares is here: the deploy and follow steps, sending a
// deployment's call exactly once, following a rollback, and reporting progress.
//
//	deploy:  controller.Start ─► Host.SendOnce (send, find)
//	follow:  controller.Observe (read, needs, fetch, decide once) ─► Engine.judge (progress, hooks, verdict)
//	failure: controller.Stop ─► controller.Rollback, followed by Engine.rollBack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/deploystep/deploystep/deploy/codedeployctl"
	"github.com/deploystep/deploystep/deploy/ecsctl"
	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/report"
	"github.com/deploystep/deploystep/deploy/state"
	"github.com/deploystep/deploystep/deploy/step"
	"github.com/deploystep/deploystep/deploy/verdict"
)

type controller interface {
	// Plan says what a release sends for the service, and what it follows to its end.
	Plan(h *step.Host, name string) (send, follow string)
	// Start begins the release's deployment of one service: one an earlier run of the release
	// began is adopted, else it is sent once (Host.SendOnce).
	Start(ctx context.Context, h *step.Host, st *state.State, name string, s ecstypes.Service) error
	// Observe reads a snapshot of each service's deployment with the evidence its verdict needs
	// (in the same poll) and decides each once.
	Observe(ctx context.Context, h *step.Host, st *state.State, names []string) (map[string]verdict.Decision, error)
	// Stop asks for the deployment to be rolled back (step.ErrNoRollback: it cannot be).
	Stop(ctx context.Context, h *step.Host, st *state.State, name string) error
	// Rollback says how the rollback goes, and whether it ended.
	Rollback(ctx context.Context, h *step.Host, st *state.State, name string) (status string, ended bool, err error)
	// Words name the kind in messages: who goes on with a deployment left behind, the call that
	// stops one, and what was sent.
	Words() step.KindWords
}

var controllers = map[string]controller{state.ControllerECS: ecsctl.Controller{}, state.ControllerCodeDeploy: codedeployctl.Controller{}}

// controllerOf is a service's deployment controller as ECS reports it (ECS when unset).
func controllerOf(s ecstypes.Service) string {
	if s.DeploymentController != nil && s.DeploymentController.Type != "" {
		return string(s.DeploymentController.Type)
	}
	return state.ControllerECS
}

// startDeployments is the deploy step: every service is checked again (a resumed Lambda action
// may come much later than the preflight) before any is touched, then each service's controller
// starts its deployment.
func (e *Engine) startDeployments(ctx context.Context, st *state.State) error {
	var todo []string
	for _, name := range e.Settings.Services {
		if st.Services[name].Deployment == "" {
			todo = append(todo, name)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	services, err := e.ServicesNow(ctx, todo)
	e.ForgetPreflight()
	if err != nil {
		return err
	}
	var problems []string
	for _, name := range todo {
		s, ok := services[name]
		if c := serviceCheck(e.Settings, e.Caller(), name, s, ok, nil); !c.OK {
			problems = append(problems, c.Message)
		} else if e.Settings.HookAnswer != "" && controllerOf(s) != state.ControllerECS {
			problems = append(problems, fmt.Sprintf("service %s is on the CODE_DEPLOY controller, whose deployments have no PAUSE hooks: HOOK_ANSWER answers ECS service deployments", name))
		}
	}
	if len(problems) > 0 {
		return failure.New(failure.ErrConfig, "%s", strings.Join(problems, "; "))
	}
	for _, name := range todo {
		svc := st.Services[name]
		svc.Controller = controllerOf(services[name])
		if err := controllers[svc.Controller].Start(ctx, e.Host, st, name, services[name]); err != nil {
			return err
		}
		if svc.Deployment != "" {
			e.Notes.Started(name, e.Now()) // the record's timeline of the service starts here
		}
	}
	return nil
}

// follow is the follow step: every poll, each controller observes its unfinished services and
// decides; Engine.judge reports and acts on each decision, until every deployment is done or one
// fails.
func (e *Engine) follow(ctx context.Context, st *state.State) error {
	said := map[string]string{} // the last progress reported, per service
	return e.Wait(ctx, "reading the deployments", report.Event{}, e.EveryPoll(), func(ctx context.Context) (bool, error) {
		byKind := map[string][]string{}
		for _, name := range e.Settings.Services {
			if svc := st.Services[name]; !svc.Finished {
				byKind[svc.Controller] = append(byKind[svc.Controller], name)
			}
		}
		if len(byKind) == 0 {
			return true, nil
		}
		for _, kind := range slices.Sorted(maps.Keys(byKind)) {
			decisions, err := controllers[kind].Observe(ctx, e.Host, st, byKind[kind])
			if err != nil {
				return false, err
			}
			for _, name := range byKind[kind] {
				if d, ok := decisions[name]; ok {
					if err := e.judge(ctx, st, name, d, said); err != nil {
						return false, err
					}
				}
			}
		}
		return false, nil
	})
}

// judge reports a decision and acts on it: progress when what the deployment waits for changes
// (counts, stage, traffic, bake time to the second), HOOK_COMMAND at a PAUSE hook, and the end.
func (e *Engine) judge(ctx context.Context, st *state.State, name string, d verdict.Decision, said map[string]string) error {
	svc := st.Services[name]
	e.SetWaiting(name, d.Message)
	e.Notes.Decision(name, e.Now(), d)
	if msg := cmp.Or(d.Progress, d.Message); d.Verdict == verdict.Waiting && msg != said[name] {
		said[name] = msg
		e.Emit(report.Event{Kind: report.KindProgress, Service: name, Deployment: svc.Deployment, Counts: d.Counts, Message: msg})
	}
	svc.Paused = nil
	if len(d.Paused) > 0 {
		svc.Paused = ecsctl.HookOf(d.Paused[0])
	}
	if e.Settings.WaitUntil == "paused" && d.Verdict == verdict.Waiting && len(d.Paused) > 0 {
		h := d.Paused[0]
		svc.Finished = true
		e.SetWaiting(name, "")
		e.Emit(report.Event{Kind: report.KindProgress, Service: name, Deployment: svc.Deployment, Message: fmt.Sprintf(
			"paused at %s (PAUSE hook %s) of service deployment %s: production traffic not moved (WAIT_UNTIL=paused); a later step answers it with HOOK_ANSWER=CONTINUE or ROLLBACK, or %s",
			h.Stage, h.ID, svc.SD, ecsctl.PauseHint(svc.SD, svc.Paused))})
		return nil
	}
	for _, h := range d.Paused {
		if err := ecsctl.AnswerHook(ctx, e.Host, st, name, h); err != nil {
			return err
		}
	}
	switch d.Verdict {
	case verdict.Failed:
		if d.Own {
			st.Failure = d.Message
		}
		e.SayStopped(name, svc.Deployment)
		if svc.Adopted != "" && svc.Answered[svc.Adopted] == "ROLLBACK" {
			return failure.New(failure.ErrFailed, "service %s: rolled back as answered (HOOK_ANSWER=ROLLBACK): %s", name, d.Message)
		}
		return failure.New(failure.ErrFailed, "service %s: %s", name, d.Message)
	case verdict.Done:
		svc.Finished = true
		e.SetWaiting(name, "")
		if d.Warning != "" {
			e.Emit(report.Event{Kind: report.KindWarning, Service: name, Deployment: svc.Deployment, Message: d.Warning})
		}
		e.Emit(report.Event{Kind: report.KindProgress, Service: name, Deployment: svc.Deployment, Message: d.Message})
	}
	return nil
}

// rollbackLimit bounds following a rollback that ROLLBACK=on-failure started.
const rollbackLimit = 10 * time.Minute

// rollBack stops each unfinished service's deployment with a rollback (once: Stopped) and
// follows the rollbacks to their end. It returns how they ended, for the failure's message.
func (e *Engine) rollBack(ctx context.Context, st *state.State) string {
	var results []string
	for _, name := range e.Settings.Services {
		svc := st.Services[name]
		if svc.Finished || svc.Deployment == "" {
			continue
		}
		c := controllers[svc.Controller]
		w := c.Words()
		if !svc.Stopped {
			err := e.Attempt(ctx, w.StopCall+" "+name, func(ctx context.Context) error { return c.Stop(ctx, e.Host, st, name) })
			if errors.Is(err, step.ErrNoRollback) {
				results = append(results, fmt.Sprintf("%s not rolled back: %s needs its service deployment, which is not known (%s goes on with it; its circuit breaker, when enabled, rolls it back)", name, w.StopCall, w.Owner))
				continue
			}
			if err != nil {
				results = append(results, fmt.Sprintf("%s: %s failed: %s", name, w.StopCall, failure.FirstLine(err)))
				continue
			}
			svc.Stopped = true
			e.Emit(report.Event{Kind: report.KindProgress, Service: name, Message: "ROLLBACK=on-failure: " + w.StopSent + " sent; following the rollback"})
		}
		status := "not finished"
		e.Wait(ctx, "following the rollback of "+name, report.Event{Service: name}, e.EveryPoll(), func(ctx context.Context) (bool, error) { //nolint:errcheck // ctx ends it; the status says how
			s, ended, err := c.Rollback(ctx, e.Host, st, name)
			if s != "" {
				status = s
			}
			return ended, err
		})
		if ctx.Err() != nil {
			// Cut by rollbackLimit, or earlier by the run's own end (a Lambda invocation's slice).
			status = fmt.Sprintf("not finished when the run had to end (%s goes on with it)", w.Owner)
		}
		results = append(results, fmt.Sprintf("%s rollback %s", name, status))
	}
	return strings.Join(results, "; ")
}
