// Package codedeployctl is the CodeDeploy controller, for services on the CODE_DEPLOY deployment controller: UpdateService
// cannot change what they run; a release is a CodeDeploy blue/green deployment with an AppSpec
// (codedeploy_group.go), created exactly once and followed to its end:
//
//		prepare (group, AppSpec) ─► CreateDeployment (Host.SendOnce) ─► GetDeployment + GetDeploymentTarget ─► DecideCodeDeploy
//
//	  - Exactly once: the deployment's description carries the release's CallerReference. Before
//	    creating, the group's recent deployments are listed and one with that description is
//	    adopted (a re-run, a re-delivered Lambda event, a CreateDeployment whose answer was lost).
//	  - The verdict (DecideCodeDeploy, pure): Succeeded is done, or with WAIT_UNTIL=traffic-shifted
//	    all production traffic on the replacement task set; Failed and Stopped fail with CodeDeploy's
//	    errorInformation, the lifecycle event that failed and the rollback deployment it started.
//	    With IMAGE, the replacement task set's tasks must run the pushed digest (digestVerdict, the
//	    rule of both controllers).
package codedeployctl

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/report"
	"github.com/deploystep/deploystep/deploy/state"
	"github.com/deploystep/deploystep/deploy/step"
	"github.com/deploystep/deploystep/deploy/tasks"
	"github.com/deploystep/deploystep/deploy/verdict"
)

// Controller is the CODE_DEPLOY controller's: CreateDeployment starts the deployment, its
// status and target decide it, StopDeployment with automatic rollback rolls it back.
type Controller struct{}

// Words name CodeDeploy in messages.
func (Controller) Words() step.KindWords {
	return step.KindWords{Owner: "CodeDeploy", StopCall: "StopDeployment", StopSent: "StopDeployment with automatic rollback"}
}

// Plan says what the release sends for the service (CreateDeployment) and what it follows.
func (Controller) Plan(h *step.Host, name string) (send, follow string) {
	follow = "the CodeDeploy deployment until Succeeded"
	if h.Settings.WaitUntil == "traffic-shifted" {
		follow = "the CodeDeploy deployment until all production traffic is on the replacement task set (WAIT_UNTIL=traffic-shifted)"
	}
	return "CodeDeploy CreateDeployment of " + h.Settings.Cluster + "/" + name + " through its deployment group, with an AppSpec", follow
}

// description is the release's mark on its CodeDeploy deployments.
func description(st *state.State) string { return "deploystep release " + st.Run.CallerRef }

// Start creates the release's CodeDeploy deployment of one service, or adopts the one an earlier
// run of the release created.
func (Controller) Start(ctx context.Context, h *step.Host, st *state.State, name string, s ecstypes.Service) error {
	svc := st.Services[name]
	g, err := findGroup(ctx, h, h.Attempt, name)
	if err != nil {
		return err
	}
	find := func(ctx context.Context) (string, error) { return ourCDDeployment(ctx, h, g, description(st)) }
	if svc.Sent.IsZero() {
		if id, err := find(ctx); err != nil {
			return err
		} else if id != "" {
			svc.Deployment = id
			h.Emit(report.Event{Kind: report.KindDeployment, Service: name, Deployment: id,
				Message: fmt.Sprintf("resuming: CodeDeploy deployment %s was created by an earlier run of this release; following it instead of creating another", id)})
			return nil
		}
	}
	r, err := Prepare(ctx, h, h.Attempt, name, s, svc.TaskDef)
	if err != nil {
		return err
	}
	h.Emit(report.Event{Kind: report.KindProgress, Service: name, Message: "AppSpec: " + r.Describe})
	send := func(ctx context.Context) (string, error) {
		out, err := h.CodeDeploy.CreateDeployment(ctx, &codedeploy.CreateDeploymentInput{ApplicationName: aws.String(g.App),
			DeploymentGroupName: aws.String(g.Name), Description: aws.String(description(st)),
			Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent,
				AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(r.appSpec)}}},
			func(o *codedeploy.Options) { o.RetryMaxAttempts = 1 })
		var limit *cdtypes.DeploymentLimitExceededException
		if errors.As(err, &limit) {
			// An active deployment in the group: ours (an earlier attempt landed) or another's.
			return "", &step.ErrMaybeOurs{Msg: fmt.Sprintf("service %s: deployment group %s/%s already has an active deployment not started by this release: %s", name, g.App, g.Name, aws.ToString(limit.Message))}
		}
		if err != nil {
			return "", failure.Classify(err, "CreateDeployment "+g.App+"/"+g.Name)
		}
		return aws.ToString(out.DeploymentId), nil
	}
	id, lost, err := h.SendOnce(ctx, "starting the deployment of "+name, &svc.Sent, send, find)
	if err != nil {
		return err
	}
	svc.Deployment = id
	msg := fmt.Sprintf("created CodeDeploy deployment %s (%s/%s) of task definition %s", id, g.App, g.Name, failure.ShortARN(r.TaskDef))
	if lost {
		msg = fmt.Sprintf("following CodeDeploy deployment %s, which an earlier CreateDeployment of this release created", id)
	}
	h.Emit(report.Event{Kind: report.KindDeployment, Service: name, Deployment: id, Message: msg})
	return nil
}

// ourCDDeployment finds the deployment of the group this release created (by its description)
// among those created in the last day.
func ourCDDeployment(ctx context.Context, h *step.Host, g cdGroup, description string) (string, error) {
	var ids []string
	err := h.Attempt(ctx, "ListDeployments", func(ctx context.Context) error {
		out, err := h.CodeDeploy.ListDeployments(ctx, &codedeploy.ListDeploymentsInput{ApplicationName: aws.String(g.App),
			DeploymentGroupName: aws.String(g.Name), CreateTimeRange: &cdtypes.TimeRange{Start: aws.Time(h.Now().Add(-24 * time.Hour))}})
		if err != nil {
			return failure.Classify(err, "ListDeployments "+g.App+"/"+g.Name)
		}
		ids = out.Deployments
		return nil
	})
	if err != nil {
		return "", err
	}
	for _, id := range ids[:min(len(ids), 10)] { // newest first
		var out *codedeploy.GetDeploymentOutput
		err := h.Attempt(ctx, "GetDeployment", func(ctx context.Context) (err error) {
			out, err = h.CodeDeploy.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
			return failure.Classify(err, "GetDeployment "+id)
		})
		if err != nil {
			return "", err
		}
		if aws.ToString(out.DeploymentInfo.Description) == description {
			return id, nil
		}
	}
	return "", nil
}

// Observe reads each service's CodeDeploy deployment and its ECS target, gathers what the verdict
// needs, and decides once.
func (Controller) Observe(ctx context.Context, h *step.Host, st *state.State, names []string) (map[string]verdict.Decision, error) {
	out := map[string]verdict.Decision{}
	for _, name := range names {
		svc := st.Services[name]
		v, err := readCD(ctx, h, svc, svc.Deployment)
		if err != nil {
			if err := h.Accept(ctx, err, "reading CodeDeploy deployment "+svc.Deployment, report.Event{Service: name}); err != nil {
				return nil, err
			}
			continue
		}
		pin, ev := step.PinFor(h, st, svc), svc.Evidence()
		if verdict.NeededCodeDeploy(v, pin, ev).Digests {
			if err := tasks.ReadDigests(ctx, h, st, name, v.GreenTaskSet, &ev); err != nil {
				return nil, err
			}
		}
		if verdict.NeededCodeDeploy(v, pin, ev).Reasons {
			// Why the replacement tasks stopped, when it was not the rollback scaling them in.
			if reasons, named, err := tasks.StoppedReasons(ctx, h, name, v.GreenTaskSet); err == nil {
				h.SetStopped(name, slices.DeleteFunc(named, func(t step.StoppedTask) bool { return strings.HasPrefix(t.Reason, "Scaling activity initiated by") }))
				for _, r := range reasons {
					if !strings.HasPrefix(r, "Scaling activity initiated by") && !slices.Contains(ev.Stopped, r) {
						ev.Stopped = append(ev.Stopped, r)
					}
				}
			}
		}
		out[name] = verdict.DecideCodeDeploy(v, pin, ev)
	}
	return out, nil
}

// readCD reads a CodeDeploy deployment and its ECS target (the target and the replacement task
// set are kept in the service's record).
func readCD(ctx context.Context, h *step.Host, svc *state.ServiceState, id string) (verdict.CDView, error) {
	v := verdict.CDView{ID: id}
	out, err := h.CodeDeploy.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
	if err != nil {
		return v, failure.Classify(err, "GetDeployment "+id)
	}
	info := out.DeploymentInfo
	v.Status = string(info.Status)
	if ei := info.ErrorInformation; ei != nil {
		v.ErrCode, v.ErrMsg = string(ei.Code), aws.ToString(ei.Message)
	}
	if ri := info.RollbackInfo; ri != nil {
		v.Rollback = aws.ToString(ri.RollbackDeploymentId)
	}
	if info.Status == cdtypes.DeploymentStatusCreated || info.Status == cdtypes.DeploymentStatusQueued {
		return v, nil
	}
	if svc.Target == "" {
		tl, err := h.CodeDeploy.ListDeploymentTargets(ctx, &codedeploy.ListDeploymentTargetsInput{DeploymentId: aws.String(id)})
		var notStarted *cdtypes.DeploymentNotStartedException
		switch {
		case errors.As(err, &notStarted):
			return v, nil
		case err != nil:
			return v, failure.Classify(err, "ListDeploymentTargets "+id)
		case len(tl.TargetIds) == 0:
			return v, nil
		}
		svc.Target = tl.TargetIds[0]
	}
	t, err := h.CodeDeploy.GetDeploymentTarget(ctx, &codedeploy.GetDeploymentTargetInput{DeploymentId: aws.String(id), TargetId: aws.String(svc.Target)})
	if err != nil {
		return v, failure.Classify(err, "GetDeploymentTarget "+id)
	}
	if t.DeploymentTarget == nil || t.DeploymentTarget.EcsTarget == nil {
		return v, nil
	}
	et := t.DeploymentTarget.EcsTarget
	v.HaveTarget = true
	for _, le := range et.LifecycleEvents {
		ev := verdict.CDEvent{Name: aws.ToString(le.LifecycleEventName), Status: string(le.Status)}
		if d := le.Diagnostics; d != nil {
			ev.Diagnostic = strings.TrimPrefix(strings.TrimSpace(aws.ToString(d.ScriptName)+": "+aws.ToString(d.Message)), ": ")
		}
		v.Events = append(v.Events, ev)
	}
	for _, ts := range et.TaskSetsInfo {
		if ts.TaskSetLabel == cdtypes.TargetLabelGreen {
			v.GreenTaskSet, v.GreenTraffic = aws.ToString(ts.Identifer), ts.TrafficWeight
			v.GreenRunning, v.GreenDesired = ts.RunningCount, ts.DesiredCount
		}
	}
	if v.GreenTaskSet != "" {
		svc.TaskSet = v.GreenTaskSet
	}
	return v, nil
}

// Stop stops the deployment with automatic rollback; one already completed is one rollback.
func (Controller) Stop(ctx context.Context, h *step.Host, st *state.State, name string) error {
	id := st.Services[name].Deployment
	_, err := h.CodeDeploy.StopDeployment(ctx, &codedeploy.StopDeploymentInput{DeploymentId: aws.String(id), AutoRollbackEnabled: aws.Bool(true)})
	var done *cdtypes.DeploymentAlreadyCompletedException
	if errors.As(err, &done) {
		return nil
	}
	return failure.Classify(err, "StopDeployment "+id)
}

// Rollback follows the rollback deployment CodeDeploy started.
func (Controller) Rollback(ctx context.Context, h *step.Host, st *state.State, name string) (string, bool, error) {
	svc := st.Services[name]
	v, err := readCD(ctx, h, svc, svc.Deployment)
	switch {
	case err != nil:
		return "", false, err
	case v.Rollback == "" && (v.Status == "Stopped" || v.Status == "Failed"):
		return "not started by CodeDeploy (" + v.Status + ")", true, nil
	case v.Rollback == "":
		return "", false, nil
	}
	out, err := h.CodeDeploy.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(v.Rollback)})
	if err != nil {
		return "", false, failure.Classify(err, "GetDeployment "+v.Rollback)
	}
	s := out.DeploymentInfo.Status
	return v.Rollback + " " + string(s), s == cdtypes.DeploymentStatusSucceeded || s == cdtypes.DeploymentStatusFailed || s == cdtypes.DeploymentStatusStopped, nil
}
