package ecsctl

// Service deployments (ECS, since October 2024): the authoritative status of an ECS-controller
// deployment, its lifecycle stage and, for BLUE_GREEN, LINEAR and CANARY, traffic, bake time and
// PAUSE hooks. They are evidence for the ECS controller's verdict (ecs.go).
//
// Pinning. UpdateService's answer names the deployment it started in deployments[] (ecs-svc/<n>),
// not its service deployment. The run lists the service's service deployments created since
// just before its UpdateService (ListServiceDeployments, createdAt.after) and takes the one whose
// target service revision is revision <n> (the number of ecs-svc/<n>: inferred, ECS documents no
// mapping); failing that, the only one created since. Where none or several match, the API is
// not available here, or pinTries calls failed (counted in the service's record, across Lambda
// invocations), the service is judged by deployments[] alone, as said once. A denial is not
// "not available": it ends the run (ErrAccessDenied) naming the statement to add, since the
// PAUSE hooks, ROLLBACK=on-failure and the traffic-shifting strategies need the API.
//
// Reading. A service whose strategy shifts traffic is read every poll (during bake time blue and
// green both run, and deployments[] is a guess). A ROLLING service is read when deployments[]
// alone says done or failed, to confirm it or to name the cause (circuit breaker, alarms), so
// that a rolling deployment keeps its one-read-a-second pace.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/report"
	"github.com/deploystep/deploystep/deploy/state"
	"github.com/deploystep/deploystep/deploy/step"
	"github.com/deploystep/deploystep/deploy/verdict"
)

// Unsupported reports whether err says the service deployment API is not available here, as the
// API reference documents it: UnsupportedFeatureException ("The specified task isn't supported in
// this Region.", an error of ListServiceDeployments and DescribeServiceDeployments in the ECS
// model), or an endpoint that does not know the operation (UnknownOperationException in the
// awsJson protocol; InvalidAction in awsQuery's). An AccessDenied is not among them.
func Unsupported(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	code := api.ErrorCode()
	return code == "UnsupportedFeatureException" || code == "UnknownOperationException" || code == "InvalidAction"
}

// noSD falls back to deployments[] for the service for the rest of the release, saying why once.
func noSD(h *step.Host, st *state.State, name, why string) {
	if svc := st.Services[name]; !svc.NoSD {
		svc.NoSD = true
		h.Emit(report.Event{Kind: report.KindWarning, Service: name, Message: "judging deployments[] alone: " + why})
	}
}

// pinSD pins the service deployment of each service that has none yet; one try a poll: the pin
// is evidence the run can do without, so a call that keeps failing (an emulator answers an
// operation it lacks with a 500) ends in the fallback.
func pinSD(ctx context.Context, h *step.Host, st *state.State, names []string) error {
	for _, name := range names {
		svc := st.Services[name]
		if svc.NoSD || svc.SD != "" {
			continue
		}
		after := st.Started.Add(-time.Minute) // clock skew between the runner and ECS
		var out *ecs.ListServiceDeploymentsOutput
		err := h.Read(ctx, false, func() (err error) {
			out, err = h.ECS.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String(h.Settings.Cluster),
				Service: aws.String(name), CreatedAt: &ecstypes.CreatedAt{After: aws.Time(after)}},
				func(o *ecs.Options) { o.RetryMaxAttempts = 2 })
			return err
		})
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case Unsupported(err):
			for _, n := range names {
				noSD(h, st, n, "the service deployment API is not available here (ecs:ListServiceDeployments: "+failure.FirstLine(err)+")")
			}
			return nil
		case err != nil:
			if err := h.Accept(ctx, failure.Classify(err, "ListServiceDeployments"), "pinning the service deployment", report.Event{Service: name}); err != nil {
				return err
			}
			if svc.PinFails++; svc.PinFails >= state.PinTries {
				noSD(h, st, name, fmt.Sprintf("ListServiceDeployments failed %d times (%s)", state.PinTries, failure.FirstLine(err)))
			}
			continue
		}
		var match, created []string
		for _, b := range out.ServiceDeployments {
			created = append(created, aws.ToString(b.ServiceDeploymentArn))
			if failure.ShortARN(aws.ToString(b.TargetServiceRevisionArn)) == failure.ShortARN(svc.Deployment) {
				match = append(match, aws.ToString(b.ServiceDeploymentArn))
			}
		}
		switch {
		case len(match) == 1:
			svc.SD = match[0]
		case len(created) == 1:
			svc.SD = created[0]
		default:
			noSD(h, st, name, fmt.Sprintf("%d service deployments of %s since the run started, none known to be %s", len(created), name, svc.Deployment))
			continue
		}
		h.Emit(report.Event{Kind: report.KindProgress, Service: name, Deployment: svc.Deployment, Message: "service deployment " + failure.ShortARN(svc.SD)})
	}
	return nil
}

// readSD describes the pinned service deployments of names (20 a call).
func readSD(ctx context.Context, h *step.Host, st *state.State, names []string, burst bool) (map[string]*verdict.SDView, error) {
	byARN := map[string]string{}
	var arns []string
	for _, n := range names {
		if svc := st.Services[n]; svc.SD != "" && !svc.NoSD {
			byARN[svc.SD] = n
			arns = append(arns, svc.SD)
		}
	}
	out := map[string]*verdict.SDView{}
	for i := 0; i < len(arns); i += 20 {
		var res *ecs.DescribeServiceDeploymentsOutput
		err := h.Read(ctx, burst, func() (err error) {
			res, err = h.ECS.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: arns[i:min(i+20, len(arns))]})
			return err
		})
		if Unsupported(err) {
			for _, n := range names {
				noSD(h, st, n, "ecs:DescribeServiceDeployments is not available here ("+failure.FirstLine(err)+")")
			}
			return nil, nil
		}
		if err != nil {
			return nil, failure.Classify(err, "DescribeServiceDeployments")
		}
		for _, sd := range res.ServiceDeployments {
			name := byARN[aws.ToString(sd.ServiceDeploymentArn)]
			out[name] = sdView(h, st.Services[name], sd)
			sayFirstRead(h, name, st.Services[name], out[name])
		}
	}
	return out, nil
}

// sayFirstRead says, at the first read of a service's service deployment (in an invocation),
// where it stands: its status and lifecycle stage, and what the stage means for the new
// revision's traffic, so a deployment first read past a stage (POST_TEST_TRAFFIC_SHIFT: test
// traffic has shifted) says what happened before the run looked. Later stages are said as the
// progress changes (Engine.judge).
func sayFirstRead(h *step.Host, name string, svc *state.ServiceState, v *verdict.SDView) {
	msg := fmt.Sprintf("service deployment %s: %s", failure.ShortARN(svc.SD), v.Status)
	if v.Stage != "" {
		msg += " at " + v.Stage
		if m := verdict.StageMeaning(v.Stage); m != "" {
			msg += " (" + m + ")"
		}
	}
	h.Once("sd-first-read "+svc.SD, report.Event{Kind: report.KindProgress, Service: name, Deployment: svc.Deployment, Message: msg})
}

// sdView reduces a service deployment; bake time left is counted from when this run first saw
// BAKE_TIME (ECS reports the stage, not when it began).
func sdView(h *step.Host, svc *state.ServiceState, sd ecstypes.ServiceDeployment) *verdict.SDView {
	v := &verdict.SDView{Status: string(sd.Status), Reason: aws.ToString(sd.StatusReason), Stage: string(sd.LifecycleStage), BakeLeft: -1}
	if c := sd.DeploymentConfiguration; c != nil {
		v.Strategy = string(c.Strategy)
		if v.Stage == "BAKE_TIME" && c.BakeTimeInMinutes != nil {
			if svc.BakeSeen.IsZero() {
				svc.BakeSeen = h.Now()
			}
			v.BakeLeft = max(0, time.Duration(*c.BakeTimeInMinutes)*time.Minute-h.Now().Sub(svc.BakeSeen))
		}
	}
	if t := sd.TargetServiceRevision; t != nil {
		v.Prod = t.RequestedProductionTrafficWeight
	}
	if a := sd.Alarms; a != nil {
		v.Triggered = a.TriggeredAlarmNames
	}
	if r := sd.Rollback; r != nil {
		v.Rollback = aws.ToString(r.Reason)
	}
	for _, h := range sd.LifecycleHookDetails {
		hv := verdict.HookView{ID: aws.ToString(h.HookId), Stage: v.Stage, Target: aws.ToString(h.TargetArn),
			Expires: aws.ToTime(h.ExpiresAt), TimeoutAction: string(h.TimeoutAction)}
		switch {
		case h.TargetType == ecstypes.DeploymentLifecycleHookTargetTypePause && h.Status == ecstypes.DeploymentLifecycleHookStatusAwaitingAction:
			v.Paused = append(v.Paused, hv)
		case h.Status == ecstypes.DeploymentLifecycleHookStatusInProgress:
			v.Running = append(v.Running, hv)
		case h.Status == ecstypes.DeploymentLifecycleHookStatusFailed || h.Status == ecstypes.DeploymentLifecycleHookStatusTimedOut:
			if h.TargetType != ecstypes.DeploymentLifecycleHookTargetTypePause {
				hv.TimeoutAction = string(h.Status) // how it ended
				v.Failed = append(v.Failed, hv)
			}
		}
	}
	return v
}
