package deploy

// Service deployments (ECS, since October 2024): the authoritative status of a deployment, its
// lifecycle stage and, for BLUE_GREEN, LINEAR and CANARY, traffic, bake time and PAUSE hooks.
//
// Pinning. UpdateService's answer names the deployment it started in deployments[] (ecs-svc/<n>),
// not its service deployment. The run lists the service's service deployments created since
// just before its UpdateService (ListServiceDeployments, createdAt.after) and takes the one whose
// target service revision is revision <n> (the number of ecs-svc/<n>: inferred, ECS documents no
// mapping); failing that, the only one created since. Where none or several match, or the API is
// denied or absent, the run judges deployments[] alone and says so once.
//
// Reading. A service whose strategy shifts traffic is read every poll (during bake time blue and
// green both run, and deployments[] is a guess). A ROLLING service is read when deployments[]
// alone says done or failed, to confirm it or to name the cause (circuit breaker, alarms), so
// that a rolling deployment keeps its one-read-a-second pace.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

// unsupported reports whether err says the service deployment API cannot be used here.
func unsupported(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	code := api.ErrorCode()
	return strings.Contains(code, "AccessDenied") || code == "UnsupportedFeatureException" ||
		code == "UnknownOperationException" || code == "InvalidAction"
}

// noSD falls back to deployments[] for the rest of the run, saying why once.
func (e *Engine) noSD(st *State, why string) {
	if !st.NoSD {
		st.NoSD = true
		e.emit(Event{Kind: KindWarning, Message: "judging deployments[] alone: " + why})
	}
}

// pinTries is how many failed ListServiceDeployments calls end the attempt to pin.
const pinTries = 3

// pinSD pins the service deployment of each service that has none yet.
func (e *Engine) pinSD(ctx context.Context, st *State, names []string) error {
	for _, name := range names {
		if st.NoSD || st.SD[name] != "" {
			continue
		}
		dep := st.Deployments[name]
		after := st.Started.Add(-time.Minute) // clock skew between the runner and ECS
		// One try a poll: the pin is evidence the run can do without, so a call that keeps
		// failing (an emulator answers an operation it lacks with a 500) ends in the fallback.
		if err := e.pace(ctx, false); err != nil {
			return err
		}
		out, err := e.ECS.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String(e.Settings.Cluster),
			Service: aws.String(name), CreatedAt: &ecstypes.CreatedAt{After: aws.Time(after)}},
			func(o *ecs.Options) { o.RetryMaxAttempts = 2 })
		switch {
		case unsupported(err):
			e.noSD(st, "the service deployment API is denied or not available here (ecs:ListServiceDeployments)")
			continue
		case err != nil:
			if err := e.check(ctx, classify(err, "ListServiceDeployments"), "pinning the service deployment", Event{Service: name}); err != nil {
				return err
			}
			if e.pinFails++; e.pinFails >= pinTries {
				e.noSD(st, fmt.Sprintf("ListServiceDeployments failed %d times (%s)", pinTries, firstLine(err)))
			}
			continue
		}
		var match, created []string
		for _, b := range out.ServiceDeployments {
			created = append(created, aws.ToString(b.ServiceDeploymentArn))
			if shortARN(aws.ToString(b.TargetServiceRevisionArn)) == shortARN(dep) {
				match = append(match, aws.ToString(b.ServiceDeploymentArn))
			}
		}
		switch {
		case len(match) == 1:
			st.SD[name] = match[0]
		case len(created) == 1:
			st.SD[name] = created[0]
		default:
			e.noSD(st, fmt.Sprintf("%d service deployments of %s since the run started, none known to be %s", len(created), name, dep))
			continue
		}
		e.emit(Event{Kind: KindProgress, Service: name, Deployment: dep, Message: "service deployment " + shortARN(st.SD[name])})
	}
	return nil
}

// readSD describes the pinned service deployments of names (20 a call).
func (e *Engine) readSD(ctx context.Context, st *State, names []string, burst bool) (map[string]*SDView, error) {
	byARN := map[string]string{}
	var arns []string
	for _, n := range names {
		if a := st.SD[n]; a != "" && !st.NoSD {
			byARN[a] = n
			arns = append(arns, a)
		}
	}
	out := map[string]*SDView{}
	for i := 0; i < len(arns); i += 20 {
		if err := e.pace(ctx, burst); err != nil {
			return nil, err
		}
		res, err := e.ECS.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: arns[i:min(i+20, len(arns))]})
		if unsupported(err) {
			e.noSD(st, "ecs:DescribeServiceDeployments is denied or not available here")
			return nil, nil
		}
		if err != nil {
			return nil, classify(err, "DescribeServiceDeployments")
		}
		for _, sd := range res.ServiceDeployments {
			name := byARN[aws.ToString(sd.ServiceDeploymentArn)]
			out[name] = e.sdView(st, name, sd)
		}
	}
	return out, nil
}

// sdView reduces a service deployment; bake time left is counted from when this run first saw
// BAKE_TIME (ECS reports the stage, not when it began).
func (e *Engine) sdView(st *State, name string, sd ecstypes.ServiceDeployment) *SDView {
	v := &SDView{Status: string(sd.Status), Reason: aws.ToString(sd.StatusReason), Stage: string(sd.LifecycleStage), BakeLeft: -1}
	if c := sd.DeploymentConfiguration; c != nil {
		v.Strategy = string(c.Strategy)
		if v.Stage == "BAKE_TIME" && c.BakeTimeInMinutes != nil {
			if st.BakeSeen[name].IsZero() {
				st.BakeSeen[name] = e.now()
			}
			v.BakeLeft = max(0, time.Duration(*c.BakeTimeInMinutes)*time.Minute-e.now().Sub(st.BakeSeen[name]))
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
		hv := HookView{ID: aws.ToString(h.HookId), Stage: v.Stage, Target: aws.ToString(h.TargetArn)}
		switch {
		case h.TargetType == ecstypes.DeploymentLifecycleHookTargetTypePause && h.Status == ecstypes.DeploymentLifecycleHookStatusAwaitingAction:
			v.Paused = append(v.Paused, hv)
		case h.Status == ecstypes.DeploymentLifecycleHookStatusInProgress:
			v.Running = append(v.Running, hv)
		}
	}
	return v
}

// answerHook runs HOOK_COMMAND for a paused deployment (bounded by HOOK_TIMEOUT) and answers
// ContinueServiceDeployment: CONTINUE on exit 0, ROLLBACK otherwise. Each hook once.
func (e *Engine) answerHook(ctx context.Context, st *State, name string, h HookView) error {
	if e.Settings.HookCommand == "" || st.Hooks[h.ID] != "" {
		return nil
	}
	arn := st.SD[name]
	hctx, cancel := context.WithTimeout(ctx, e.Settings.HookTimeout)
	defer cancel()
	cmd := exec.CommandContext(hctx, "sh", "-c", e.Settings.HookCommand)
	cmd.Env = append(os.Environ(), "DEPLOY_STAGE="+h.Stage, "SERVICE_DEPLOYMENT_ARN="+arn, "HOOK_ID="+h.ID,
		"CLUSTER="+e.Settings.Cluster, "SERVICE="+name, "TEST_LISTENER_URL="+e.Settings.TestListenerURL)
	e.emit(Event{Kind: KindProgress, Service: name, Message: fmt.Sprintf("paused at %s: running HOOK_COMMAND", h.Stage)})
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	action, verdict := ecstypes.DeploymentLifecycleHookActionContinue, "passed"
	if err != nil {
		action, verdict = ecstypes.DeploymentLifecycleHookActionRollback, "failed: "+firstLine(err)
		if hctx.Err() != nil {
			verdict = fmt.Sprintf("did not finish within HOOK_TIMEOUT (%v)", e.Settings.HookTimeout)
		}
	}
	if tail := strings.TrimSpace(string(out)); tail != "" {
		e.emit(Event{Kind: KindProgress, Service: name, Message: "HOOK_COMMAND: " + clipTo(tail, 2000)})
	}
	e.emit(Event{Kind: KindProgress, Service: name, Message: fmt.Sprintf("HOOK_COMMAND %s: ContinueServiceDeployment %s", verdict, action)})
	err = e.attempt(ctx, "ContinueServiceDeployment "+name, func(ctx context.Context) error {
		_, err := e.ECS.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn),
			HookId: aws.String(h.ID), Action: action})
		return classify(err, "ContinueServiceDeployment")
	})
	if err == nil || errors.Is(err, ErrConfig) && strings.Contains(err.Error(), "not awaiting action") {
		st.Hooks[h.ID] = string(action) // answered, or answered before (a re-run)
		return nil
	}
	return err
}

// rollbackLimit bounds following a rollback that ROLLBACK=on-failure started.
const rollbackLimit = 10 * time.Minute

// rollBack stops each unfinished service's deployment with a rollback (once: State.Stopped) and
// follows the rollbacks to their end. It returns how they ended, for the failure's message.
func (e *Engine) rollBack(ctx context.Context, st *State) string {
	var results []string
	for _, name := range e.Settings.Services {
		if !st.Finished[name] && isCDDeployment(st.Deployments[name]) {
			results = append(results, e.rollBackCodeDeploy(ctx, st, name))
			continue
		}
		if st.Finished[name] || st.SD[name] == "" {
			continue
		}
		if !st.Stopped[name] {
			err := e.attempt(ctx, "StopServiceDeployment "+name, func(ctx context.Context) error {
				_, err := e.ECS.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{
					ServiceDeploymentArn: aws.String(st.SD[name]), StopType: ecstypes.StopServiceDeploymentStopTypeRollback})
				var conflict *ecstypes.ConflictException
				if errors.As(err, &conflict) {
					return nil // already stopping or rolling back: one rollback
				}
				return classify(err, "StopServiceDeployment")
			})
			if err != nil {
				results = append(results, fmt.Sprintf("%s: StopServiceDeployment failed: %s", name, firstLine(err)))
				continue
			}
			st.Stopped[name] = true
			e.emit(Event{Kind: KindProgress, Service: name, Message: "ROLLBACK=on-failure: StopServiceDeployment ROLLBACK sent; following the rollback"})
		}
		status := "not finished"
		for ctx.Err() == nil {
			views, err := e.readSD(ctx, st, []string{name}, false)
			if err == nil && views[name] != nil {
				status = views[name].Status
				if status == "ROLLBACK_SUCCESSFUL" || status == "ROLLBACK_FAILED" || status == "STOPPED" || status == "SUCCESSFUL" {
					break
				}
			}
			sleep(ctx, e.Settings.Poll) //nolint:errcheck // ctx ends the loop
		}
		if ctx.Err() != nil {
			// Cut by rollbackLimit, or earlier by the run's own end (a Lambda invocation's slice).
			status = "not finished when the run had to end (ECS goes on with it)"
		}
		results = append(results, fmt.Sprintf("%s rollback %s", name, status))
	}
	return strings.Join(results, "; ")
}
