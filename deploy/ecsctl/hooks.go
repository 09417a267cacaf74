package ecsctl

// PAUSE lifecycle hooks: a deployment paused at one waits for ContinueServiceDeployment. With
// HOOK_COMMAND the run answers it: the command's exit status continues the deployment (0) or
// rolls it back.

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/report"
	"github.com/deploystep/deploystep/deploy/state"
	"github.com/deploystep/deploystep/deploy/step"
	"github.com/deploystep/deploystep/deploy/verdict"
)

// HookOf says how a paused deployment is answered by hand, and what ECS does if nobody does.
// HookOf is a paused hook as the service's record keeps it.
func HookOf(h verdict.HookView) *state.Hook {
	return &state.Hook{Stage: h.Stage, ID: h.ID, TimeoutAction: h.TimeoutAction, Expires: h.Expires}
}

// PauseHint says how a person answers a paused hook, and what ECS does if nobody does.
func PauseHint(sdARN string, h *state.Hook) string {
	msg := fmt.Sprintf("answer it with: aws ecs continue-service-deployment --service-deployment-arn %s --hook-id %s --action CONTINUE (or --action ROLLBACK)", sdARN, h.ID)
	if !h.Expires.IsZero() {
		action := cmp.Or(h.TimeoutAction, "ROLLBACK")
		msg += fmt.Sprintf("; unanswered, ECS takes the hook's timeout action, %s, at %s", action, h.Expires.UTC().Format(time.RFC3339))
	}
	return msg
}

// AnswerHook runs HOOK_COMMAND for a paused deployment (bounded by HOOK_TIMEOUT) and answers
// ContinueServiceDeployment: CONTINUE on exit 0, ROLLBACK otherwise. Each hook once.
func AnswerHook(ctx context.Context, h *step.Host, st *state.State, name string, hook verdict.HookView) error {
	svc := st.Services[name]
	svc.Paused = HookOf(hook)
	if svc.Answered[hook.ID] != "" {
		return nil
	}
	if h.Settings.HookAnswer != "" && hook.ID == svc.Adopted {
		action := ecstypes.DeploymentLifecycleHookAction(h.Settings.HookAnswer)
		h.Emit(report.Event{Kind: report.KindProgress, Service: name, Deployment: svc.Deployment,
			Message: fmt.Sprintf("answering the PAUSE hook %s at %s: ContinueServiceDeployment %s (HOOK_ANSWER)", hook.ID, hook.Stage, action)})
		return continueHook(ctx, h, svc, name, hook, action)
	}
	if h.Settings.HookCommand == "" {
		h.Once("pause "+hook.ID, report.Event{Kind: report.KindProgress, Service: name, Deployment: svc.Deployment,
			Message: fmt.Sprintf("paused at %s (PAUSE hook %s) and no HOOK_COMMAND is set: %s", hook.Stage, hook.ID, PauseHint(svc.SD, svc.Paused))})
		return nil
	}
	h.Emit(report.Event{Kind: report.KindProgress, Service: name, Message: fmt.Sprintf("paused at %s: running HOOK_COMMAND", hook.Stage)})
	h.SetWaiting(name, fmt.Sprintf("HOOK_COMMAND at %s (HOOK_TIMEOUT %v)", hook.Stage, h.Settings.HookTimeout))
	stop := beating(h)
	out, err, timedOut := runHook(ctx, h.Settings.HookTimeout, h.Settings.HookCommand, "DEPLOY_STAGE="+hook.Stage,
		"SERVICE_DEPLOYMENT_ARN="+svc.SD, "HOOK_ID="+hook.ID, "CLUSTER="+h.Settings.Cluster, "SERVICE="+name, "TEST_LISTENER_URL="+h.Settings.TestListenerURL)
	stop()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	action, verdict := ecstypes.DeploymentLifecycleHookActionContinue, "passed"
	if err != nil {
		action, verdict = ecstypes.DeploymentLifecycleHookActionRollback, "failed: "+failure.FirstLine(err)
		if timedOut {
			verdict = fmt.Sprintf("did not finish within HOOK_TIMEOUT (%v)", h.Settings.HookTimeout)
		}
	}
	if tail := strings.TrimSpace(string(out)); tail != "" {
		h.Emit(report.Event{Kind: report.KindProgress, Service: name, Message: "HOOK_COMMAND: " + failure.ClipTo(tail, 2000)})
	}
	h.Emit(report.Event{Kind: report.KindProgress, Service: name, Message: fmt.Sprintf("HOOK_COMMAND %s: ContinueServiceDeployment %s", verdict, action)})
	return continueHook(ctx, h, svc, name, hook, action)
}

// continueHook answers a hook once: an answer lost on the way is sent again, and a hook already
// answered (by an earlier run) counts as answered.
func continueHook(ctx context.Context, h *step.Host, svc *state.ServiceState, name string, hook verdict.HookView, action ecstypes.DeploymentLifecycleHookAction) error {
	err := h.Attempt(ctx, "ContinueServiceDeployment "+name, func(ctx context.Context) error {
		_, err := h.ECS.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(svc.SD),
			HookId: aws.String(hook.ID), Action: action})
		return failure.Classify(err, "ContinueServiceDeployment")
	})
	if err == nil || errors.Is(err, failure.ErrConfig) && strings.Contains(err.Error(), "not awaiting action") {
		svc.Answered[hook.ID] = string(action) // answered, or answered before (a re-run)
		svc.Paused = nil
		return nil
	}
	return err
}

// hookWaitDelay is how long a hook's output may stay open after its process group was killed.
const hookWaitDelay = 2 * time.Second

// runHook runs command (sh -c) with env added, in a process group of its own: at timeout, at the
// end of ctx (the run's limit, a signal) the whole group is killed, children included, and
// whatever still holds its output open is cut off after hookWaitDelay. It returns the combined
// output (at most 64 KiB), the command's error, and whether the timeout ended it.
func runHook(ctx context.Context, timeout time.Duration, command string, env ...string) ([]byte, error, bool) {
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(hctx, "sh", "-c", command)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = hookWaitDelay
	out := &limitedBuffer{max: 64 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) //nolint:errcheck // children left behind by a hook that ended; none is ESRCH
	}
	return out.b.Bytes(), err, hctx.Err() != nil && ctx.Err() == nil
}

// beating says the heartbeat while something that is not a wait (a hook) runs; stop ends it.
func beating(h *step.Host) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				h.Heartbeat()
			}
		}
	}()
	return sync.OnceFunc(func() { close(done) })
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	b   bytes.Buffer
	max int
}

// Write keeps what fits of p and says all of it was written, so the command never blocks.
func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := l.max - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// adoptPaused is the deploy step with HOOK_ANSWER: instead of starting a deployment it finds the
// service's deployment paused at a PAUSE hook, the one this release's WAIT_UNTIL=paused step
// left (its service deployment's target revision is the service's PRIMARY deployment) or the
// only one, and follows it; the follow step answers the hook once (answerHook). None, or several
// with none of them the PRIMARY's, is ErrConfig naming what was found.
func adoptPaused(ctx context.Context, h *step.Host, st *state.State, name string, s ecstypes.Service) error {
	svc := st.Services[name]
	resumed := svc.Deployment // an earlier run of this step adopted it (the run marker)
	status := []ecstypes.ServiceDeploymentStatus{ecstypes.ServiceDeploymentStatusInProgress}
	if resumed != "" {
		status = nil // answered already, it may have ended
	}
	arns, err := listServiceDeployments(ctx, h, name, status)
	if err != nil {
		return err
	}
	var found []pausedSD
	var seen []string
	err = describeServiceDeployments(ctx, h, name, arns, func(sd ecstypes.ServiceDeployment) bool {
		v := sdView(h, svc, sd)
		seen = append(seen, fmt.Sprintf("%s %s at %s", failure.ShortARN(aws.ToString(sd.ServiceDeploymentArn)), v.Status, cmp.Or(v.Stage, "no stage")))
		rev := ""
		if t := sd.TargetServiceRevision; t != nil {
			rev = failure.ShortARN(aws.ToString(t.Arn))
		}
		if resumed != "" && rev == failure.ShortARN(resumed) {
			svc.SD = aws.ToString(sd.ServiceDeploymentArn)
			if len(v.Paused) > 0 {
				svc.Adopted = v.Paused[0].ID
			}
			return true
		}
		if len(v.Paused) > 0 {
			found = append(found, pausedSD{aws.ToString(sd.ServiceDeploymentArn), rev, v.Paused[0]})
		}
		return false
	})
	if err != nil || resumed != "" {
		return err // resumed and not listed: judged by deployments[] (pinSD says so)
	}
	p, err := choosePaused(h, name, PrimaryID(s), found, seen)
	if err != nil {
		return err
	}
	svc.SD, svc.Adopted = p.arn, p.hook.ID
	svc.Deployment = PrimaryID(s)
	for _, d := range s.Deployments {
		if failure.ShortARN(aws.ToString(d.Id)) == p.revision {
			svc.Deployment = aws.ToString(d.Id)
		}
	}
	h.Emit(report.Event{Kind: report.KindDeployment, Service: name, Deployment: svc.Deployment, Message: fmt.Sprintf(
		"found deployment %s paused at %s (PAUSE hook %s, service deployment %s): answering it with HOOK_ANSWER=%s, then following it",
		svc.Deployment, p.hook.Stage, p.hook.ID, failure.ShortARN(p.arn), h.Settings.HookAnswer)})
	return nil
}

// pausedSD is a service deployment paused at a PAUSE hook: its ARN, its target revision's
// short id, and the hook.
type pausedSD struct {
	arn, revision string
	hook          verdict.HookView
}

// choosePaused picks the paused service deployment HOOK_ANSWER answers: the one whose target
// revision is the PRIMARY deployment, else the only one; otherwise ErrConfig naming what was
// seen.
func choosePaused(h *step.Host, name, primary string, found []pausedSD, seen []string) (pausedSD, error) {
	for _, p := range slices.Backward(found) { // the newest listed
		if p.revision != "" && p.revision == failure.ShortARN(primary) {
			return p, nil
		}
	}
	if len(found) == 1 {
		return found[0], nil
	}
	what := "none in progress"
	if len(seen) > 0 {
		what = strings.Join(seen, "; ")
	}
	if len(found) > 1 {
		return pausedSD{}, failure.New(failure.ErrConfig, "service %s: %d deployments are paused at a PAUSE hook and none is the PRIMARY's (%s): HOOK_ANSWER answers one; answer the others with aws ecs continue-service-deployment", name, len(found), what)
	}
	return pausedSD{}, failure.New(failure.ErrConfig, "service %s: no deployment paused at a PAUSE hook to answer with HOOK_ANSWER=%s (service deployments: %s); HOOK_ANSWER answers the deployment a WAIT_UNTIL=paused step left paused", name, h.Settings.HookAnswer, what)
}

// listServiceDeployments lists every page of a service's service deployments with status
// (nil: all): without a status filter (a re-run) the service's history can be longer than one.
func listServiceDeployments(ctx context.Context, h *step.Host, name string, status []ecstypes.ServiceDeploymentStatus) ([]string, error) {
	var arns []string
	for token := (*string)(nil); ; {
		var list *ecs.ListServiceDeploymentsOutput
		err := h.Attempt(ctx, "listing the service deployments of "+name, func(ctx context.Context) (err error) {
			err = h.Read(ctx, false, func() (err error) {
				list, err = h.ECS.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String(h.Settings.Cluster), Service: aws.String(name),
					Status: status, NextToken: token})
				return err
			})
			return failure.Classify(err, "ListServiceDeployments "+name)
		})
		if err != nil {
			return nil, err
		}
		for _, b := range list.ServiceDeployments {
			arns = append(arns, aws.ToString(b.ServiceDeploymentArn))
		}
		if token = list.NextToken; aws.ToString(token) == "" {
			return arns, nil
		}
	}
}

// describeServiceDeployments reads arns in batches of 20 (DescribeServiceDeployments' limit) and
// hands each to each, until each says it has found what it looks for.
func describeServiceDeployments(ctx context.Context, h *step.Host, name string, arns []string, each func(ecstypes.ServiceDeployment) (done bool)) error {
	for i := 0; i < len(arns); i += 20 {
		var out *ecs.DescribeServiceDeploymentsOutput
		err := h.Attempt(ctx, "reading the service deployments of "+name, func(ctx context.Context) (err error) {
			err = h.Read(ctx, false, func() (err error) {
				out, err = h.ECS.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: arns[i:min(i+20, len(arns))]})
				return err
			})
			return failure.Classify(err, "DescribeServiceDeployments")
		})
		if err != nil {
			return err
		}
		for _, sd := range out.ServiceDeployments {
			if each(sd) {
				return nil
			}
		}
	}
	return nil
}
