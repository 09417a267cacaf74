package deploy

// PAUSE lifecycle hooks: a deployment paused at one waits for ContinueServiceDeployment. With
// HOOK_COMMAND the run answers it: the command's exit status continues the deployment (0) or
// rolls it back.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// answerHook runs HOOK_COMMAND for a paused deployment (bounded by HOOK_TIMEOUT) and answers
// ContinueServiceDeployment: CONTINUE on exit 0, ROLLBACK otherwise. Each hook once.
func (e *Engine) answerHook(ctx context.Context, st *State, name string, h HookView) error {
	svc := st.Services[name]
	if e.Settings.HookCommand == "" || svc.Hooks[h.ID] != "" {
		return nil
	}
	hctx, cancel := context.WithTimeout(ctx, e.Settings.HookTimeout)
	defer cancel()
	cmd := exec.CommandContext(hctx, "sh", "-c", e.Settings.HookCommand)
	cmd.Env = append(os.Environ(), "DEPLOY_STAGE="+h.Stage, "SERVICE_DEPLOYMENT_ARN="+svc.SD, "HOOK_ID="+h.ID,
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
		_, err := e.ECS.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(svc.SD),
			HookId: aws.String(h.ID), Action: action})
		return classify(err, "ContinueServiceDeployment")
	})
	if err == nil || errors.Is(err, ErrConfig) && strings.Contains(err.Error(), "not awaiting action") {
		svc.Hooks[h.ID] = string(action) // answered, or answered before (a re-run)
		return nil
	}
	return err
}
