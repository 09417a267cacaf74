// Package predeploy runs the pre-deploy task (PREDEPLOY_COMMAND): a schema migration, run once per release after the
// image and the revision and before any service moves, gated on its exit code, its log lines
// printed as they come.
//
//   - What runs: one task of the revision PREDEPLOY_SERVICE deploys (the release's, or the
//     service's own), with the command as the container override of the container of IMAGE's
//     repository (PREDEPLOY_CONTAINER names another; a single container needs no name), on the
//     service's network configuration, launch type or capacity provider strategy and platform
//     version (ECS API reference, RunTask; "This parameter is required for task definitions that
//     use the awsvpc network mode").
//   - Once: startedBy and clientToken come from the release's identity. RunTask's client token
//     makes a repeated request within 24 hours return the original task ("Ensuring
//     idempotency"); a re-run, a re-delivered Lambda event or a lost answer first looks for the
//     task: ListTasks by startedBy alone finds it while it runs ("When you specify startedBy as
//     the filter, it must be the only filter that you use", and RUNNING is the default status),
//     ListTasks by family with desiredStatus STOPPED, then DescribeTasks, once it stopped. Its
//     outcome is adopted: never a second migration for one release.
//   - The gate: the task STOPPED and the override's container and every essential container
//     exited 0. A task that never ran (stopCode TaskFailedToStart, a CannotPullContainerError)
//     or a RunTask answer with failures[] and no task is exit 1 with that reason.
//   - Its logs: with the awslogs driver the stream prefix/container/task id is read with
//     GetLogEvents, forward from the last token (startFromHead, as the reference requires with a
//     nextForwardToken), each poll while the task runs and after it stops, until a read brings
//     nothing new. Lines are data: control characters escaped, each clipped, their number and
//     bytes bounded. A failure message carries the last lines.
//   - Bounded: PREDEPLOY_TIMEOUT from the task's start stops it (StopTask, once) and exits 3; the
//     run's own limit and SIGTERM stop it too. The Lambda mode's invocation deadline does not:
//     the next invocation follows the same task.
package predeploy

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/report"
	"github.com/deploystep/deploystep/deploy/settings"
	"github.com/deploystep/deploystep/deploy/state"
	"github.com/deploystep/deploystep/deploy/step"
	"github.com/deploystep/deploystep/deploy/taskdef"
	"github.com/deploystep/deploystep/deploy/tasks"
)

// Bounds of what a pre-deploy task prints.
const (
	maxLogBytes    = 256 << 10 // bytes printed in all (state.PredeployState.Bytes)
	maxLogLineLen  = 2000      // bytes of one line
	failLogLines   = 10        // last lines a failure message carries
	logDrainReads  = 5         // reads after the task stopped, until one brings nothing
	missingTaskFor = 30 * time.Second
)

// predeployPlan is the task the release runs.
type predeployPlan struct {
	service, revision, Container string
	command                      []string
	essential                    []string // the revision's essential containers
	logs                         string   // the container's awslogs "group|prefix" ("" when none)
	input                        *ecs.RunTaskInput
}

// choosePredeployContainer is the container the command runs in: PREDEPLOY_CONTAINER, else the
// one of IMAGE's repository, else the only one.
func choosePredeployContainer(h *step.Host, defs []ecstypes.ContainerDefinition, revision string) (string, error) {
	var names []string
	for _, c := range defs {
		names = append(names, fmt.Sprintf("%s (%s)", aws.ToString(c.Name), aws.ToString(c.Image)))
	}
	if want := h.Settings.PredeployContainer; want != "" {
		for _, c := range defs {
			if aws.ToString(c.Name) == want {
				return want, nil
			}
		}
		return "", failure.New(failure.ErrConfig, "PREDEPLOY_CONTAINER %q is not a container of %s: its containers are %s", want, revision, strings.Join(names, ", "))
	}
	if ref := h.Settings.ImageRef; ref.Repository != "" {
		repo := ref.RepositoryURI()
		for _, c := range defs {
			if img := aws.ToString(c.Image); taskdef.ImageRepo(img) == repo || img == taskdef.ImagePlaceholder {
				return aws.ToString(c.Name), nil
			}
		}
	}
	if len(defs) == 1 {
		return aws.ToString(defs[0].Name), nil
	}
	return "", failure.New(failure.ErrConfig, "PREDEPLOY_COMMAND: which container runs it? %s has %s: set PREDEPLOY_CONTAINER", revision, strings.Join(names, ", "))
}

// planPredeploy builds the task from the service as read and the revision's container
// definitions (revision is what RunTask names: an ARN, or "" in a dry run before registering).
func planPredeploy(h *step.Host, st *state.State, svc ecstypes.Service, revision, revisionWords string, defs []ecstypes.ContainerDefinition) (*predeployPlan, error) {
	container, err := choosePredeployContainer(h, defs, revisionWords)
	if err != nil {
		return nil, err
	}
	cmd, err := settings.PredeployCommand(h.Settings.PredeployCommand)
	if err != nil {
		return nil, failure.New(failure.ErrConfig, "PREDEPLOY_COMMAND: %v", err)
	}
	p := &predeployPlan{service: aws.ToString(svc.ServiceName), revision: revision, Container: container, command: cmd}
	for _, c := range defs {
		if c.Essential == nil || *c.Essential {
			p.essential = append(p.essential, aws.ToString(c.Name))
		}
		if aws.ToString(c.Name) == container {
			if lc := c.LogConfiguration; lc != nil && lc.LogDriver == ecstypes.LogDriverAwslogs {
				p.logs = lc.Options["awslogs-group"] + "|" + lc.Options["awslogs-stream-prefix"]
			}
		}
	}
	svc = withPrimaryTaskSet(svc)
	startedBy, token := st.PredeployHandles()
	in := &ecs.RunTaskInput{Cluster: aws.String(h.Settings.Cluster), TaskDefinition: aws.String(revision), Count: aws.Int32(1),
		StartedBy: aws.String(startedBy), ClientToken: aws.String(token),
		Overrides:            &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{{Name: aws.String(container), Command: cmd}}},
		NetworkConfiguration: svc.NetworkConfiguration}
	if len(svc.CapacityProviderStrategy) > 0 {
		in.CapacityProviderStrategy = svc.CapacityProviderStrategy
	} else if svc.LaunchType != "" {
		in.LaunchType = svc.LaunchType
	}
	if v := aws.ToString(svc.PlatformVersion); v != "" && (svc.LaunchType == ecstypes.LaunchTypeFargate || len(svc.CapacityProviderStrategy) > 0) {
		in.PlatformVersion = svc.PlatformVersion
	}
	p.input = in
	return p, nil
}

// withPrimaryTaskSet fills a CODE_DEPLOY service's network and launch settings from its PRIMARY
// task set, where such a service keeps them.
func withPrimaryTaskSet(svc ecstypes.Service) ecstypes.Service {
	if svc.NetworkConfiguration != nil {
		return svc
	}
	for _, ts := range svc.TaskSets {
		if aws.ToString(ts.Status) == "PRIMARY" {
			svc.NetworkConfiguration, svc.LaunchType = ts.NetworkConfiguration, ts.LaunchType
			svc.CapacityProviderStrategy, svc.PlatformVersion = ts.CapacityProviderStrategy, ts.PlatformVersion
			break
		}
	}
	return svc
}

// Render says, for the dry run, the task the release would run.
func (p *predeployPlan) Render(limit time.Duration) string {
	cmd, _ := json.Marshal(p.command)
	launch := string(p.input.LaunchType)
	if len(p.input.CapacityProviderStrategy) > 0 {
		var cps []string
		for _, c := range p.input.CapacityProviderStrategy {
			cps = append(cps, fmt.Sprintf("%s weight %d", aws.ToString(c.CapacityProvider), c.Weight))
		}
		launch = "capacity providers " + strings.Join(cps, ", ")
	}
	if launch == "" {
		launch = "the cluster's default capacity provider strategy"
	}
	if v := aws.ToString(p.input.PlatformVersion); v != "" {
		launch += ", platform " + v
	}
	net := "no network configuration"
	if nc := p.input.NetworkConfiguration; nc != nil && nc.AwsvpcConfiguration != nil {
		a := nc.AwsvpcConfiguration
		net = fmt.Sprintf("subnets %s, security groups %s, public IP %s", strings.Join(a.Subnets, " "), strings.Join(a.SecurityGroups, " "),
			cmp.Or(string(a.AssignPublicIp), "DISABLED"))
	}
	rev := p.revision
	if rev == "" {
		rev = "<the revision step 2 registers>"
	}
	return fmt.Sprintf("one task of %s (%s's) runs %s in container %s; %s; %s; startedBy %s; the services move only when it exits 0 (at most %v)",
		failure.ShortARN(rev), p.service, cmd, p.Container, launch, net, aws.ToString(p.input.StartedBy), limit)
}

// FromPlans plans the task from the revision plans, before anything is registered: the
// register step checks its container with it, the dry run renders it (nil without
// PREDEPLOY_COMMAND, or when PREDEPLOY_SERVICE was not read).
func FromPlans(ctx context.Context, h *step.Host, read step.Reader, st *state.State, plans []*taskdef.Plan, services map[string]ecstypes.Service) (*predeployPlan, error) {
	name := h.Settings.PredeployOn()
	svc, ok := services[name]
	if h.Settings.PredeployCommand == "" || !ok {
		return nil, nil
	}
	for _, p := range plans {
		if !slices.Contains(p.Services, name) {
			continue
		}
		if p.In != nil {
			return planPredeploy(h, st, svc, "", "the revision registered from "+p.From, p.In.ContainerDefinitions)
		}
		in, arn, err := taskdef.Describe(ctx, h, read, p.AsIs)
		if err != nil {
			return nil, err
		}
		return planPredeploy(h, st, svc, arn, failure.ShortARN(arn), in.ContainerDefinitions)
	}
	return nil, nil
}

// predeployNow plans the task of the real run: the revision PREDEPLOY_SERVICE deploys, as read.
func predeployNow(ctx context.Context, h *step.Host, st *state.State) (*predeployPlan, error) {
	name := h.Settings.PredeployOn()
	services, err := h.ServicesNow(ctx, []string{name})
	if err != nil {
		return nil, err
	}
	svc := services[name]
	revision := st.Services[name].TaskDef
	if revision == "" {
		revision = aws.ToString(svc.TaskDefinition)
	}
	in, arn, err := taskdef.Describe(ctx, h, h.Attempt, revision)
	if err != nil {
		return nil, err
	}
	return planPredeploy(h, st, svc, arn, failure.ShortARN(arn), in.ContainerDefinitions)
}

// Step runs the pre-deploy task once and gates the release on it.
func Step(ctx context.Context, h *step.Host, st *state.State) error {
	if st.Predeploy == nil {
		st.Predeploy = &state.PredeployState{}
	}
	pd := st.Predeploy
	if pd.Passed {
		return nil
	}
	p, err := predeployNow(ctx, h, st)
	if err != nil {
		return err
	}
	family := familyOf(p.revision)
	startedBy := aws.ToString(p.input.StartedBy)
	find := func(ctx context.Context) (string, error) { return findPredeployTask(ctx, h, family, startedBy) }
	if pd.Task == "" && st.Run.Marker != "" && pd.Sent.IsZero() {
		var id string
		err := h.Attempt(ctx, "looking for this release's pre-deploy task", func(ctx context.Context) (err error) {
			id, err = find(ctx)
			return err
		})
		if err != nil {
			return err
		}
		if id != "" {
			pd.Task, pd.Began = id, h.Now()
			h.Emit(report.Event{Kind: report.KindTask, Task: id, Message: fmt.Sprintf("resuming: pre-deploy task %s was started by an earlier run of this release", id)})
		}
	}
	if pd.Task == "" {
		if err := ProbeLogs(ctx, h, h.Attempt, p); err != nil {
			return failure.New(failure.ErrConfig, "%v; the pre-deploy task was not started, no service was changed", err)
		}
		send := func(ctx context.Context) (string, error) {
			out, err := h.ECS.RunTask(ctx, p.input, func(o *ecs.Options) { o.RetryMaxAttempts = 1 })
			if err != nil {
				return "", failure.Classify(err, "RunTask "+failure.ShortARN(p.revision))
			}
			if len(out.Tasks) == 0 {
				pd.Sent = time.Time{}
				return "", failure.New(failure.ErrFailed, "pre-deploy task: RunTask started no task: %s; nothing else was changed", runTaskFailures(out.Failures))
			}
			return failure.ShortARN(aws.ToString(out.Tasks[0].TaskArn)), nil
		}
		id, lost, err := h.SendOnce(ctx, "starting the pre-deploy task", &pd.Sent, send, find)
		if err != nil {
			return err
		}
		pd.Task, pd.Began = id, h.Now()
		msg := fmt.Sprintf("started pre-deploy task %s of %s: %s in container %s", id, failure.ShortARN(p.revision), commandWords(p.command), p.Container)
		if lost {
			msg = fmt.Sprintf("RunTask's answer was lost, but pre-deploy task %s was started: following it", id)
		}
		h.Emit(report.Event{Kind: report.KindTask, Task: id, TaskDefinition: p.revision, Message: msg})
	}
	return followPredeploy(ctx, h, st, p)
}

// followPredeploy follows the task to STOPPED, printing its log lines, and gates on it.
func followPredeploy(outer context.Context, h *step.Host, st *state.State, p *predeployPlan) error {
	pd := st.Predeploy
	ctx, cancel := context.WithDeadlineCause(outer, pd.Began.Add(h.Settings.PredeployTimeout), errPredeployTimeout)
	defer cancel()
	var task ecstypes.Task
	var missingSince time.Time
	status := ""
	err := h.Wait(ctx, "following the pre-deploy task", report.Event{Task: pd.Task}, h.EveryPoll(), func(ctx context.Context) (bool, error) {
		var out *ecs.DescribeTasksOutput
		err := h.Read(ctx, false, func() (err error) {
			out, err = h.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(h.Settings.Cluster), Tasks: []string{pd.Task}})
			return err
		})
		if err != nil {
			return false, failure.Classify(err, "DescribeTasks")
		}
		if len(out.Tasks) == 0 { // just started: ECS may not list it yet
			if missingSince.IsZero() {
				missingSince = h.Now()
			}
			if h.Now().Sub(missingSince) > missingTaskFor {
				return false, failure.New(failure.ErrFailed, "pre-deploy task %s: DescribeTasks does not know it (%s)", pd.Task, runTaskFailures(out.Failures))
			}
			return false, nil
		}
		task = out.Tasks[0]
		now := aws.ToString(task.LastStatus)
		h.SetWaiting("pre-deploy task", fmt.Sprintf("%s to stop (%s)", pd.Task, now))
		if now != status {
			status = now
			h.Emit(report.Event{Kind: report.KindTask, Task: pd.Task, Message: fmt.Sprintf("pre-deploy task %s: %s", pd.Task, now)})
		}
		if _, err := readTaskLogs(ctx, h, pd, p); err != nil {
			return false, err
		}
		return now == "STOPPED", nil
	})
	if err != nil {
		return predeployEnded(outer, ctx, h, st, p, err)
	}
	return judgeStopped(outer, h, pd, p, task)
}

// judgeStopped says how the stopped pre-deploy task ended, after its log's last lines: nil when
// it passed the gate, else ErrFailed with why and the log's last lines.
func judgeStopped(outer context.Context, h *step.Host, pd *state.PredeployState, p *predeployPlan, task ecstypes.Task) error {
	// The awslogs driver ships the last lines shortly after the container exits: read until a
	// read brings nothing new (at most logDrainReads).
	for i := 0; i < logDrainReads; i++ {
		n, err := readTaskLogs(outer, h, pd, p)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
	}
	h.SetWaiting("pre-deploy task", "")
	ok, why := predeployVerdict(task, p)
	group, stream := tasks.LogStream(p.logs, p.Container, pd.Task)
	h.Notes.Predeploy(why, group, stream, aws.ToTime(task.StartedAt), aws.ToTime(task.StoppedAt))
	if ok {
		pd.Passed = true
		if task.StartedAt != nil && task.StoppedAt != nil {
			why += fmt.Sprintf(" after %v", task.StoppedAt.Sub(*task.StartedAt).Round(100*time.Millisecond))
		}
		h.Emit(report.Event{Kind: report.KindTask, Task: pd.Task, Message: fmt.Sprintf("pre-deploy task %s succeeded: %s; the services move now", pd.Task, why)})
		return nil
	}
	msg := fmt.Sprintf("pre-deploy task %s failed: %s; no service was changed", pd.Task, why)
	if last := lastLogLines(outer, h, pd, p); last != "" {
		msg += "; " + last
	} else if tasks.StreamOf(p.logs, p.Container, pd.Task) == "" {
		msg += "; its container does not log to CloudWatch Logs (no awslogs driver), so its output is not shown"
	}
	return failure.New(failure.ErrFailed, "%s", msg) // the result says it, once
}

var errPredeployTimeout = errors.New("PREDEPLOY_TIMEOUT")

// predeployEnded turns the end of the follow into the run's error: PREDEPLOY_TIMEOUT, the run's
// limit and an interruption stop the task (once) first; the Lambda invocation's deadline leaves
// it running for the next invocation.
func predeployEnded(outer, ctx context.Context, h *step.Host, st *state.State, p *predeployPlan, err error) error {
	pd := st.Predeploy
	cause := context.Cause(ctx)
	if ctx.Err() == nil || errors.Is(cause, failure.ErrPaused) { // a final error of its own, or the invocation's end
		return err
	}
	stopped := stopPredeploy(outer, h, pd, "deploystep: "+predeployStopWhy(cause))
	if errors.Is(cause, errPredeployTimeout) && outer.Err() == nil {
		return failure.New(failure.ErrTimeout, "pre-deploy task %s still running after %v (PREDEPLOY_TIMEOUT): %s; no service was changed", pd.Task, h.Settings.PredeployTimeout, stopped)
	}
	return err // the run's limit or a signal: interpret says it, leftInFlight names the task
}

func predeployStopWhy(cause error) string {
	switch {
	case errors.Is(cause, errPredeployTimeout):
		return "PREDEPLOY_TIMEOUT"
	case errors.Is(cause, failure.ErrTimeout):
		return "DEPLOY_TIMEOUT"
	}
	return "interrupted"
}

// stopPredeploy sends StopTask once (bounded apart from the run's context, which may have ended)
// and says what it did.
func stopPredeploy(outer context.Context, h *step.Host, pd *state.PredeployState, reason string) string {
	if pd.Stopped {
		return "StopTask was sent before"
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(outer), 10*time.Second)
	defer cancel()
	_, err := h.ECS.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(h.Settings.Cluster), Task: aws.String(pd.Task), Reason: aws.String(reason)})
	if err != nil {
		return "StopTask failed (" + failure.FirstLine(err) + "): it may still run; aws ecs stop-task --cluster " + h.Settings.Cluster + " --task " + pd.Task + " stops it"
	}
	pd.Stopped = true
	h.Emit(report.Event{Kind: report.KindTask, Task: pd.Task, Message: fmt.Sprintf("stopped pre-deploy task %s (StopTask: %s)", pd.Task, reason)})
	return "stopped it (StopTask)"
}

// predeployVerdict is the gate: the override's container and every essential container exited 0.
func predeployVerdict(t ecstypes.Task, p *predeployPlan) (bool, string) {
	stop := string(t.StopCode)
	reason := aws.ToString(t.StoppedReason)
	if t.StopCode == ecstypes.TaskStopCodeTaskFailedToStart {
		return false, fmt.Sprintf("it never ran (%s: %s)", stop, reason)
	}
	var bad []string
	var main string
	for _, c := range t.Containers {
		name := aws.ToString(c.Name)
		if name != p.Container && !slices.Contains(p.essential, name) {
			continue
		}
		switch {
		case c.ExitCode == nil:
			bad = append(bad, fmt.Sprintf("container %s has no exit code (%s)", name, cmp.Or(aws.ToString(c.Reason), "it did not run")))
		case *c.ExitCode != 0:
			bad = append(bad, fmt.Sprintf("container %s exited %d", name, *c.ExitCode))
		case name == p.Container:
			main = fmt.Sprintf("container %s exited 0", name)
		}
	}
	if len(bad) > 0 {
		return false, fmt.Sprintf("%s (%s: %s)", strings.Join(bad, ", "), stop, reason)
	}
	if main == "" {
		return false, fmt.Sprintf("container %s is not in the task (%s: %s)", p.Container, stop, reason)
	}
	return true, main
}

// findPredeployTask looks for the release's task: running (ListTasks by startedBy alone), or
// stopped (ListTasks by family and desiredStatus STOPPED, then DescribeTasks for its startedBy).
func findPredeployTask(ctx context.Context, h *step.Host, family, startedBy string) (string, error) {
	var running *ecs.ListTasksOutput
	err := h.Read(ctx, true, func() (err error) {
		running, err = h.ECS.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(h.Settings.Cluster), StartedBy: aws.String(startedBy)})
		return err
	})
	if err != nil {
		return "", failure.Classify(err, "ListTasks")
	}
	if len(running.TaskArns) > 0 {
		return failure.ShortARN(running.TaskArns[0]), nil
	}
	stopped, err := tasks.List(ctx, h, ecs.ListTasksInput{Family: aws.String(family), DesiredStatus: ecstypes.DesiredStatusStopped}, startedBy, true)
	if err != nil || len(stopped) == 0 {
		return "", err
	}
	return failure.ShortARN(aws.ToString(stopped[0].TaskArn)), nil
}

// readTaskLogs prints the task's new log lines and returns how many it read. A stream not there
// yet is no line; a refusal ends the run (the task goes on; a re-run of the release adopts it);
// any other failure is said once and the lines go unprinted.
func readTaskLogs(ctx context.Context, h *step.Host, pd *state.PredeployState, p *predeployPlan) (int, error) {
	group, stream := tasks.LogStream(p.logs, p.Container, pd.Task)
	if h.Logs == nil || stream == "" {
		if stream == "" {
			h.Once("predeploy-nologs", report.Event{Kind: report.KindTask, Task: pd.Task, Message: fmt.Sprintf("container %s does not log to CloudWatch Logs with a stream prefix (awslogs driver, awslogs-stream-prefix): its lines are not shown here", p.Container)})
		}
		return 0, nil
	}
	read := 0
	for page := 0; page < 10; page++ {
		in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true)}
		if pd.LogToken != "" {
			in.NextToken = aws.String(pd.LogToken)
		}
		out, err := h.Logs.GetLogEvents(ctx, in)
		if err != nil {
			// A stream not written yet is no line; a throttle, 5xx or reset is read again next
			// poll, from the same token; a refusal ends the run; another final error is said once.
			cerr := failure.Classify(err, "GetLogEvents "+group+" "+stream)
			switch {
			case errors.Is(cerr, failure.ErrAccessDenied):
				return read, failure.New(failure.ErrConfig, "%v; pre-deploy task %s goes on without deploystep, and a re-run of this release follows it", cerr, pd.Task)
			case failure.IsFinal(cerr) && !strings.Contains(err.Error(), "ResourceNotFoundException"):
				h.Once("predeploy-logs", report.Event{Kind: report.KindWarning, Task: pd.Task, Message: fmt.Sprintf("cannot read the task's log (log group %s, stream %s): %s; its lines are not shown", group, stream, failure.FirstLine(err))})
			}
			return read, nil
		}
		for _, ev := range out.Events {
			printLogLine(h, pd, aws.ToString(ev.Message))
		}
		read += len(out.Events)
		tok := aws.ToString(out.NextForwardToken)
		if tok == "" || tok == pd.LogToken {
			return read, nil
		}
		pd.LogToken = tok
		if len(out.Events) == 0 {
			return read, nil
		}
	}
	return read, nil
}

// ProbeLogs asks for the log stream the pre-deploy task will write before the task runs: IAM
// decides on the stream's ARN before CloudWatch Logs looks for the stream (a request is authorized
// on the resource it names; inferred, as the IAM User Guide describes the request context), so a
// stream not there yet is ResourceNotFoundException when logs:GetLogEvents is allowed and
// AccessDeniedException when it is not. The refusal ends the run before the task starts.
func ProbeLogs(ctx context.Context, h *step.Host, read step.Reader, p *predeployPlan) error {
	group, stream := tasks.LogStream(p.logs, p.Container, "deploystep-permission-probe")
	if h.Logs == nil || stream == "" {
		return nil
	}
	err := read(ctx, "checking that the task's log can be read", func(ctx context.Context) error {
		_, err := h.Logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group),
			LogStreamName: aws.String(stream), Limit: aws.Int32(1)})
		if cerr := failure.Classify(err, "GetLogEvents "+group); errors.Is(cerr, failure.ErrAccessDenied) {
			return cerr
		}
		return nil // found or not, the read is allowed; other failures are the follow's to say
	})
	return err
}

// printLogLine prints one line of the task's log as data, within the bounds: state.MaxLogLines
// lines and maxLogBytes bytes in all (across invocations: the counts are in the record), then
// one line saying the rest is in the log stream.
func printLogLine(h *step.Host, pd *state.PredeployState, line string) {
	pd.Lines++
	if pd.Cut {
		return
	}
	text := logText(line)
	if pd.Lines > state.MaxLogLines || pd.Bytes+len(text) > maxLogBytes {
		pd.Cut = true
		h.Emit(report.Event{Kind: report.KindTaskLog, Task: pd.Task, Message: fmt.Sprintf(
			"… more lines are not printed (%d lines, %d bytes printed); the log stream has them all", pd.Lines-1, pd.Bytes)})
		return
	}
	pd.Bytes += len(text)
	h.Emit(report.Event{Kind: report.KindTaskLog, Task: pd.Task, Message: text})
}

// logText makes a log line printable as data: control characters (escape sequences too) are
// escaped, trailing newlines dropped, the line clipped.
func logText(line string) string {
	line = strings.TrimRight(line, "\r\n")
	var b strings.Builder
	for _, r := range line {
		switch {
		case r == utf8.RuneError:
			b.WriteString("\\ufffd")
		case r == '\t':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0:
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteRune(r)
		}
		if b.Len() > maxLogLineLen {
			return b.String()[:maxLogLineLen] + fmt.Sprintf(" … (%d bytes more)", len(line)-maxLogLineLen)
		}
	}
	return b.String()
}

// lastLogLines reads the stream's last lines for a failure message ("" when there are none).
func lastLogLines(ctx context.Context, h *step.Host, pd *state.PredeployState, p *predeployPlan) string {
	group, stream := tasks.LogStream(p.logs, p.Container, pd.Task)
	if h.Logs == nil || stream == "" {
		return ""
	}
	c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	out, err := h.Logs.GetLogEvents(c, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream),
		StartFromHead: aws.Bool(false), Limit: aws.Int32(failLogLines)})
	if err != nil || len(out.Events) == 0 {
		return ""
	}
	var lines []string
	for _, ev := range out.Events {
		lines = append(lines, failure.ClipTo(logText(aws.ToString(ev.Message)), 300))
	}
	return fmt.Sprintf("its last %d log lines (log group %s, stream %s): %s", len(lines), group, stream, strings.Join(lines, " | "))
}

// familyOf is a revision ARN's (or family:revision's) family.
func familyOf(revision string) string {
	name := revision
	if i := strings.Index(revision, ":task-definition/"); i >= 0 {
		name = revision[i+len(":task-definition/"):]
	}
	family, _, _ := strings.Cut(name, ":")
	return family
}

func commandWords(cmd []string) string {
	if len(cmd) == 3 && cmd[0] == "sh" && cmd[1] == "-c" {
		return cmd[2]
	}
	b, _ := json.Marshal(cmd)
	return string(b)
}

func runTaskFailures(fs []ecstypes.Failure) string {
	if len(fs) == 0 {
		return "no task and no failure in the answer"
	}
	var out []string
	for _, f := range fs {
		s := aws.ToString(f.Reason)
		if d := aws.ToString(f.Detail); d != "" {
			s += " (" + d + ")"
		}
		if a := aws.ToString(f.Arn); a != "" {
			s += " for " + failure.ShortARN(a)
		}
		out = append(out, s)
	}
	return strings.Join(out, "; ")
}
