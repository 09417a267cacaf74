package deploy

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
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// pauseHint says how a paused deployment is answered by hand, and what ECS does if nobody does.
func pauseHint(sdARN string, h HookView) string {
	msg := fmt.Sprintf("answer it with: aws ecs continue-service-deployment --service-deployment-arn %s --hook-id %s --action CONTINUE (or --action ROLLBACK)", sdARN, h.ID)
	if !h.Expires.IsZero() {
		action := cmp.Or(h.TimeoutAction, "ROLLBACK")
		msg += fmt.Sprintf("; unanswered, ECS takes the hook's timeout action, %s, at %s", action, h.Expires.UTC().Format(time.RFC3339))
	}
	return msg
}

// answerHook runs HOOK_COMMAND for a paused deployment (bounded by HOOK_TIMEOUT) and answers
// ContinueServiceDeployment: CONTINUE on exit 0, ROLLBACK otherwise. Each hook once.
func (e *Engine) answerHook(ctx context.Context, st *State, name string, h HookView) error {
	svc := st.Services[name]
	e.setPaused(name, h)
	if svc.Hooks[h.ID] != "" {
		return nil
	}
	if e.Settings.HookCommand == "" {
		e.once("pause "+h.ID, Event{Kind: KindProgress, Service: name, Deployment: svc.Deployment,
			Message: fmt.Sprintf("paused at %s (PAUSE hook %s) and no HOOK_COMMAND is set: %s", h.Stage, h.ID, pauseHint(svc.SD, h))})
		return nil
	}
	e.emit(Event{Kind: KindProgress, Service: name, Message: fmt.Sprintf("paused at %s: running HOOK_COMMAND", h.Stage)})
	e.setWaiting(name, fmt.Sprintf("HOOK_COMMAND at %s (HOOK_TIMEOUT %v)", h.Stage, e.Settings.HookTimeout))
	stop := e.beating()
	out, err, timedOut := runHook(ctx, e.Settings.HookTimeout, e.Settings.HookCommand, "DEPLOY_STAGE="+h.Stage,
		"SERVICE_DEPLOYMENT_ARN="+svc.SD, "HOOK_ID="+h.ID, "CLUSTER="+e.Settings.Cluster, "SERVICE="+name, "TEST_LISTENER_URL="+e.Settings.TestListenerURL)
	stop()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	action, verdict := ecstypes.DeploymentLifecycleHookActionContinue, "passed"
	if err != nil {
		action, verdict = ecstypes.DeploymentLifecycleHookActionRollback, "failed: "+firstLine(err)
		if timedOut {
			verdict = fmt.Sprintf("did not finish within HOOK_TIMEOUT (%v)", e.Settings.HookTimeout)
		}
	}
	if tail := strings.TrimSpace(string(out)); tail != "" {
		e.emit(Event{Kind: KindProgress, Service: name, Message: "HOOK_COMMAND: " + clipTo(tail, 2000)})
	}
	e.emit(Event{Kind: KindProgress, Service: name, Message: fmt.Sprintf("HOOK_COMMAND %s: ContinueServiceDeployment %s", verdict, action)})
	err = e.attempt(ctx, "ContinueServiceDeployment "+name, func(ctx context.Context) error {
		_, err := e.ECS.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(svc.SD),
			HookId: aws.String(h.ID), Action: action})
		return classify(err, "ContinueServiceDeployment")
	})
	if err == nil || errors.Is(err, ErrConfig) && strings.Contains(err.Error(), "not awaiting action") {
		svc.Hooks[h.ID] = string(action) // answered, or answered before (a re-run)
		e.setPaused(name, HookView{})
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
func (e *Engine) beating() (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				e.heartbeat()
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

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := l.max - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
