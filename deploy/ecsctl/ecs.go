// Package ecsctl is the ECS controller: a release of a service on ECS's own deployment controller is an
// UpdateService (forceNewDeployment) whose deployment, ecs-svc/<n>, is pinned and followed with
// its service deployment (servicedeployment.go), and rolled back with StopServiceDeployment.
// Reads are paced so a cluster sees at most one ECS read a second: one DescribeServices per poll
// for up to 10 services, plus the evidence a verdict needs (needs): the service deployment, the
// new tasks' digests, the stopped reasons of a failure.
package ecsctl

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/report"
	"github.com/deploystep/deploystep/deploy/settings"
	"github.com/deploystep/deploystep/deploy/state"
	"github.com/deploystep/deploystep/deploy/step"
	"github.com/deploystep/deploystep/deploy/tasks"
	"github.com/deploystep/deploystep/deploy/verdict"
)

// Controller is the ECS deployment controller's: UpdateService starts the deployment, its
// service deployment and deployments[] decide it, StopServiceDeployment rolls it back.
type Controller struct{}

// Words name ECS in messages.
func (Controller) Words() step.KindWords {
	return step.KindWords{Owner: "ECS", StopCall: "StopServiceDeployment", StopSent: "StopServiceDeployment ROLLBACK"}
}

// Plan says what the release sends for the service (UpdateService) and what it follows.
func (Controller) Plan(h *step.Host, name string) (send, follow string) {
	count := ""
	if n := h.Settings.DesiredCount; n != nil {
		count = fmt.Sprintf(" --desired-count %d", *n)
	}
	follow = fmt.Sprintf("its deployment until COMPLETED and PRIMARY (its service deployment SUCCESSFUL; with early success criteria, SUCCESSFUL); fail after %s failed tasks", thresholdText(h.Settings.FailedTasks))
	switch h.Settings.WaitUntil {
	case "traffic-shifted":
		follow = "its service deployment until all production traffic is on the new revision (WAIT_UNTIL=traffic-shifted)"
	case "paused":
		follow = "its service deployment until it pauses at a PAUSE hook (WAIT_UNTIL=paused: then exit 0, nothing invalidated) or completes"
	}
	if h.Settings.HookAnswer != "" {
		return fmt.Sprintf("no UpdateService: find the deployment of %s/%s paused at a PAUSE hook and answer it, ContinueServiceDeployment %s (HOOK_ANSWER)", h.Settings.Cluster, name, h.Settings.HookAnswer), follow
	}
	if h.Settings.Registers() {
		return fmt.Sprintf("UpdateService --task-definition <the revision of step 2>%s %s/%s", count, h.Settings.Cluster, name), follow
	}
	return fmt.Sprintf("UpdateService --force-new-deployment%s %s/%s", count, h.Settings.Cluster, name), follow
}

func thresholdText(n int) string {
	if n > 0 {
		return fmt.Sprint(n)
	}
	return "the circuit breaker's threshold (without it max(3, desired/2))"
}

// Start forces the new deployment of one service and pins it, or adopts the one an earlier run
// of the release started (the run marker).
func (Controller) Start(ctx context.Context, h *step.Host, st *state.State, name string, s ecstypes.Service) error {
	svc := st.Services[name]
	// Events up to now are history: the follow step reports the ones after this id.
	if evs := s.Events; len(evs) > 0 && svc.LastEvent == "" {
		svc.LastEvent = aws.ToString(evs[0].Id)
	}
	if resume(h, st, name, s) {
		if h.Settings.HookAnswer != "" { // a re-run of the answering step: its service deployment again
			return adoptPaused(ctx, h, st, name, s)
		}
		return nil
	}
	if h.Settings.HookAnswer != "" {
		if err := adoptPaused(ctx, h, st, name, s); err != nil {
			return err
		}
		return mark(ctx, h, st, name, s.ServiceArn, st.Services[name].Deployment)
	}
	if svc.Before == "" {
		svc.Before = PrimaryID(s)
	}
	var sent *ecs.UpdateServiceInput
	var taskDef string
	send := func(ctx context.Context) (string, error) {
		if err := mark(ctx, h, st, name, s.ServiceArn, ""); err != nil {
			return "", err
		}
		in := updateInput(h.Settings, name, svc.TaskDef, s)
		out, err := h.ECS.UpdateService(ctx, in, func(o *ecs.Options) { o.RetryMaxAttempts = 1 })
		if err != nil || out.Service == nil {
			return "", failure.Classify(err, "UpdateService "+name)
		}
		sent, taskDef = in, failure.ShortARN(aws.ToString(out.Service.TaskDefinition))
		return PrimaryID(*out.Service), nil
	}
	// A deployment that replaced the one before is ours.
	find := func(ctx context.Context) (string, error) {
		services, err := h.Describe(ctx, []string{name})
		if id := PrimaryID(services[name]); err == nil && id != svc.Before {
			return id, nil
		}
		return "", err
	}
	id, lost, err := h.SendOnce(ctx, "starting the deployment of "+name, &svc.Sent, send, find)
	if err != nil {
		return err
	}
	svc.Deployment = id
	msg := fmt.Sprintf("UpdateService's answer was lost, but deployment %s was started: following it", id)
	if !lost {
		msg = fmt.Sprintf("started deployment %s of task definition %s", id, taskDef)
		if sent.DesiredCount != nil {
			msg += fmt.Sprintf(" with desired count %d", *sent.DesiredCount)
		}
	}
	h.Emit(report.Event{Kind: report.KindDeployment, Service: name, Deployment: id, Message: msg})
	return mark(ctx, h, st, name, s.ServiceArn, id)
}

// updateInput is the UpdateService that starts the release's deployment of service name (s as
// read before): the release's revision td, which starts a deployment by itself, or the service's
// own revision with ForceNewDeployment; DESIRED_COUNT when set.
func updateInput(set settings.Settings, name, td string, s ecstypes.Service) *ecs.UpdateServiceInput {
	in := &ecs.UpdateServiceInput{Cluster: aws.String(set.Cluster), Service: aws.String(name), ForceNewDeployment: true}
	if td != "" && td != aws.ToString(s.TaskDefinition) {
		in.TaskDefinition, in.ForceNewDeployment = aws.String(td), false
	}
	if n := set.DesiredCount; n != nil {
		in.DesiredCount = aws.Int32(int32(*n))
	}
	return in
}

// runTag is the service tag that marks the deployment a release started:
// "<Identity.Marker> <the PRIMARY deployment it replaces> t=<unix seconds of the attempt>". It is
// written before each UpdateService, so a re-run of the same release or a re-delivered job event
// finds it whether or not the deployment was started, and knows whether an attempt may still
// land. Another release (another step of the same build) has another marker.
const runTag = "deploystep:run"

// resume adopts the deployment an earlier run of the same release started, if any; when that
// run's last attempt may still land, it makes the send wait for it instead of sending another.
func resume(h *step.Host, st *state.State, name string, s ecstypes.Service) bool {
	if st.Run.Marker == "" {
		return false
	}
	svc := st.Services[name]
	var value string
	for _, t := range s.Tags {
		if aws.ToString(t.Key) == runTag {
			value = aws.ToString(t.Value)
		}
	}
	rest, ok := strings.CutPrefix(value, st.Run.Marker+" ")
	if !ok {
		return false
	}
	rest, started, _ := strings.Cut(rest, " d=")
	before, stamp, _ := strings.Cut(rest, " t=")
	svc.Before = before
	id := started // the deployment this release started, PRIMARY or not (rolled back, replaced)
	if id == "" {
		if id = PrimaryID(s); id == "" || id == before {
			if secs, err := strconv.ParseInt(stamp, 10, 64); err == nil {
				if at := time.Unix(secs, 0); h.Now().Sub(at) < step.UnknownWindow && at.After(svc.Sent) {
					svc.Sent = at
				}
			}
			return false // marked, but no deployment of ours yet: the send waits or sends
		}
	}
	svc.Sent, svc.Deployment = time.Time{}, id
	h.Emit(report.Event{Kind: report.KindDeployment, Service: name, Deployment: id,
		Message: fmt.Sprintf("resuming: deployment %s was started by an earlier run of this release; following it instead of starting another", id)})
	return true
}

// mark tags the service with the run marker before an UpdateService, and again with the
// deployment it started once that is known. The marker is what makes a re-run of the release
// adopt its deployment instead of starting a second one, so a refusal (ecs:TagResource on the
// service) ends the run like any other: the first one comes before the UpdateService.
func mark(ctx context.Context, h *step.Host, st *state.State, name string, arn *string, started string) error {
	if st.Run.Marker == "" {
		return nil
	}
	value := fmt.Sprintf("%s %s t=%d", st.Run.Marker, st.Services[name].Before, h.Now().Unix())
	if started != "" {
		value += " d=" + started
	}
	return h.Attempt(ctx, "TagResource "+name, func(ctx context.Context) error {
		_, err := h.ECS.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: arn,
			Tags: []ecstypes.Tag{{Key: aws.String(runTag), Value: aws.String(value)}}})
		return failure.Classify(err, "TagResource "+name)
	})
}

// Observe reads the services, reports their new events, pins and reads their service
// deployments, gathers what each verdict needs, and decides each once.
func (Controller) Observe(ctx context.Context, h *step.Host, st *state.State, names []string) (map[string]verdict.Decision, error) {
	services, err := h.Describe(ctx, names)
	if err != nil {
		return nil, err
	}
	reportEvents(h, st, services, names)
	if err := pinSD(ctx, h, st, names); err != nil {
		return nil, err
	}
	// The strategies that shift traffic are judged by their service deployment every poll.
	var shifting []string
	for _, name := range names {
		if shiftsTraffic(services[name]) {
			shifting = append(shifting, name)
		}
	}
	sds, err := readSD(ctx, h, st, shifting, false)
	if err := h.Accept(ctx, err, "reading the service deployments", report.Event{}); err != nil {
		return nil, err
	}
	out := map[string]verdict.Decision{}
	for _, name := range names {
		s, ok := services[name]
		if !ok {
			return nil, failure.New(failure.ErrFailed, "service %s: it disappeared from cluster %s during the deployment", name, h.Settings.Cluster)
		}
		svc := st.Services[name]
		view, pin := viewOf(s), step.PinFor(h, st, svc)
		ev := svc.Evidence()
		ev.SD = sds[name]
		if err := gather(ctx, h, st, name, view, pin, &ev); err != nil {
			return nil, err
		}
		out[name] = verdict.Decide(view, pin, ev)
	}
	return out, nil
}

// gather fetches the evidence the snapshot needs (needs), each at most once, asking again after
// each fetch: the service deployment first (it can show the end), then the digests, then the
// stopped reasons of a failure (a read that fails only leaves the message without them).
func gather(ctx context.Context, h *step.Host, st *state.State, name string, view verdict.ServiceView, pin verdict.Pin, ev *verdict.Evidence) error {
	svc := st.Services[name]
	if n := verdict.Needed(view, pin, *ev); n.SD && svc.SD != "" && !svc.NoSD {
		views, err := readSD(ctx, h, st, []string{name}, true)
		if err := h.Accept(ctx, err, "reading the service deployment", report.Event{Service: name}); err != nil {
			return err
		}
		ev.SD = views[name]
	}
	if verdict.Needed(view, pin, *ev).Digests {
		if err := tasks.ReadDigests(ctx, h, st, name, pin.Deployment, ev); err != nil {
			return err
		}
	}
	if verdict.Needed(view, pin, *ev).Reasons {
		reasons, named, err := tasks.StoppedReasons(ctx, h, name, pin.Deployment)
		h.SetStopped(name, named)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, failure.ErrAccessDenied) {
				return err
			}
			reasons = []string{"(stopped reasons unavailable: " + failure.FirstLine(err) + ")"}
		}
		ev.Stopped = reasons
	}
	return nil
}

// Stop stops the pinned service deployment with a rollback; one already stopping or rolling
// back is one rollback.
func (Controller) Stop(ctx context.Context, h *step.Host, st *state.State, name string) error {
	svc := st.Services[name]
	if svc.SD == "" {
		return step.ErrNoRollback
	}
	_, err := h.ECS.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{
		ServiceDeploymentArn: aws.String(svc.SD), StopType: ecstypes.StopServiceDeploymentStopTypeRollback})
	var conflict *ecstypes.ConflictException
	if errors.As(err, &conflict) {
		return nil
	}
	return failure.Classify(err, "StopServiceDeployment")
}

// Rollback reads the stopped service deployment: its status, and whether the rollback ended.
func (Controller) Rollback(ctx context.Context, h *step.Host, st *state.State, name string) (string, bool, error) {
	views, err := readSD(ctx, h, st, []string{name}, false)
	if err != nil || views[name] == nil {
		return "", false, err
	}
	status := views[name].Status
	switch status {
	case "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED", "STOPPED", "SUCCESSFUL":
		return status, true, nil
	}
	return status, false, nil
}

// shiftsTraffic reports whether the service deploys with a strategy that shifts traffic.
func shiftsTraffic(s ecstypes.Service) bool {
	if c := s.DeploymentConfiguration; c != nil {
		switch c.Strategy {
		case ecstypes.DeploymentStrategyBlueGreen, ecstypes.DeploymentStrategyLinear, ecstypes.DeploymentStrategyCanary:
			return true
		}
	}
	return false
}

// reportEvents reports each service event not seen before, oldest first. Events are told
// apart by id: DescribeServices lists them newest first, so the new ones are those before the
// last id seen. Without a last id (a run resumed from an older state) the run's start time is
// the fallback.
func reportEvents(h *step.Host, st *state.State, services map[string]ecstypes.Service, names []string) {
	type item struct {
		svc string
		ev  ecstypes.ServiceEvent
	}
	var items []item
	for _, name := range names {
		evs := services[name].Events // newest first
		if len(evs) == 0 {
			continue
		}
		svc := st.Services[name]
		var fresh []ecstypes.ServiceEvent
		for _, ev := range evs {
			if svc.LastEvent != "" && aws.ToString(ev.Id) == svc.LastEvent ||
				svc.LastEvent == "" && !aws.ToTime(ev.CreatedAt).After(st.Started) {
				break
			}
			fresh = append(fresh, ev)
		}
		for i := len(fresh) - 1; i >= 0; i-- {
			items = append(items, item{name, fresh[i]})
		}
		svc.LastEvent = aws.ToString(evs[0].Id)
	}
	// In time order across services; a stable sort keeps ECS's order for equal times.
	sort.SliceStable(items, func(i, j int) bool {
		return aws.ToTime(items[i].ev.CreatedAt).Before(aws.ToTime(items[j].ev.CreatedAt))
	})
	for _, it := range items {
		h.Emit(report.Event{Kind: report.KindServiceEvent, Service: it.svc, Message: aws.ToString(it.ev.Message)})
	}
}

// viewOf reduces an SDK service to what Decide needs.
func viewOf(s ecstypes.Service) verdict.ServiceView {
	// ECS's enums are upper case; emulators' need not be, and AWS documents no case rule.
	v := verdict.ServiceView{Name: aws.ToString(s.ServiceName), Status: strings.ToUpper(aws.ToString(s.Status)),
		Desired: int(s.DesiredCount), Running: int(s.RunningCount), Pending: int(s.PendingCount)}
	for _, d := range s.Deployments {
		v.Deployments = append(v.Deployments, verdict.DeploymentView{
			ID: aws.ToString(d.Id), Status: strings.ToUpper(aws.ToString(d.Status)), RolloutState: strings.ToUpper(string(d.RolloutState)),
			Reason: aws.ToString(d.RolloutStateReason), TaskDef: failure.ShortARN(aws.ToString(d.TaskDefinition)),
			Desired: int(d.DesiredCount), Running: int(d.RunningCount), Pending: int(d.PendingCount),
			Failed: int(d.FailedTasks), Created: aws.ToTime(d.CreatedAt),
		})
	}
	if c := s.DeploymentConfiguration; c != nil {
		if cb := c.DeploymentCircuitBreaker; cb != nil && cb.Enable {
			v.Breaker = verdict.Breaker{Enabled: true, Reset: cb.ResetOnHealthyTask == nil || *cb.ResetOnHealthyTask}
			if t := cb.ThresholdConfiguration; t != nil {
				v.Breaker.Type, v.Breaker.Value = string(t.Type), int(t.Value)
			}
		}
		if es := c.EarlySuccessCriteria; es != nil && es.Enable && (c.Strategy == "" || c.Strategy == ecstypes.DeploymentStrategyRolling) {
			v.EarlySuccess = &verdict.EarlySuccess{HealthyPercent: int(aws.ToInt32(es.HealthyPercent)), Cleanup: string(es.SourceServiceRevisionCleanup)}
		}
	}
	return v
}

// PrimaryID is the id of the service's PRIMARY deployment ("" when none).
func PrimaryID(s ecstypes.Service) string {
	for _, d := range s.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			return aws.ToString(d.Id)
		}
	}
	return ""
}
