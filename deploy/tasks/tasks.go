// Package tasks reads a deployment's tasks: the evidence both controllers' verdicts take (the image
// digests its running tasks report, and why its tasks stopped, with each failed container's log
// stream), and the tasks the pre-deploy task's re-run looks for. A deployment's tasks are the
// service's whose startedBy is the deployment (ecs-svc/<n>) or the CodeDeploy replacement task
// set. Every read goes through the Host's read budget.
package tasks

import (
	"cmp"
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/report"
	"github.com/deploystep/deploystep/deploy/state"
	"github.com/deploystep/deploystep/deploy/step"
	"github.com/deploystep/deploystep/deploy/verdict"
)

// maxFailedTasks is how many stopped tasks a failure names one by one.
const maxFailedTasks = 3

// StoppedReasons reads why the deployment's tasks stopped, newest first: each reason, and the
// first maxFailedTasks tasks with their ids and logs. It is the diagnosis of a failure, so it
// does not wait for the read budget.
func StoppedReasons(ctx context.Context, h *step.Host, service, startedBy string) ([]string, []step.StoppedTask, error) {
	tasks, err := tasks(ctx, h, service, startedBy, ecstypes.DesiredStatusStopped, true)
	if err != nil {
		return nil, nil, err
	}
	var reasons []string
	var named []step.StoppedTask
	logs := map[string]map[string]string{} // task definition -> container -> logs
	for _, t := range tasks {
		r, failed, ran := aws.ToString(t.StoppedReason), "", false
		for _, c := range t.Containers {
			ran = ran || c.ExitCode != nil
			if cr := aws.ToString(c.Reason); cr != "" && !strings.Contains(r, cr) {
				r += " (" + aws.ToString(c.Name) + ": " + cr + ")"
				failed = cmp.Or(failed, aws.ToString(c.Name))
			} else if c.ExitCode != nil && *c.ExitCode != 0 {
				r += fmt.Sprintf(" (%s: exit code %d)", aws.ToString(c.Name), *c.ExitCode)
				failed = cmp.Or(failed, aws.ToString(c.Name))
			}
		}
		if r == "" {
			continue
		}
		reasons = append(reasons, r)
		if len(named) == maxFailedTasks {
			continue
		}
		id := failure.ShortARN(aws.ToString(t.TaskArn))
		task := step.StoppedTask{ID: id, Reason: r}
		if ran { // a container that never started (an image pull that failed) logged nothing
			td := aws.ToString(t.TaskDefinitionArn)
			if _, ok := logs[td]; !ok {
				logs[td] = logConfig(ctx, h, td)
			}
			if failed == "" && len(t.Containers) > 0 {
				failed = aws.ToString(t.Containers[0].Name)
			}
			task.Logs = StreamOf(logs[td][failed], failed, id)
		}
		named = append(named, task)
	}
	return reasons, named, nil // none: the message goes without
}

// logConfig reads where a task definition's containers log: container -> "group|prefix" of the
// awslogs driver. A failed read leaves the names out, no more.
func logConfig(ctx context.Context, h *step.Host, td string) map[string]string {
	out := map[string]string{}
	if td == "" {
		return out
	}
	var res *ecs.DescribeTaskDefinitionOutput
	err := h.Read(ctx, true, func() (err error) {
		res, err = h.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(td)})
		return err
	})
	if err != nil || res.TaskDefinition == nil {
		return out
	}
	for _, c := range res.TaskDefinition.ContainerDefinitions {
		if lc := c.LogConfiguration; lc != nil && lc.LogDriver == ecstypes.LogDriverAwslogs {
			out[aws.ToString(c.Name)] = lc.Options["awslogs-group"] + "|" + lc.Options["awslogs-stream-prefix"]
		}
	}
	return out
}

// StreamOf names a container's log stream: with the awslogs driver it is
// prefix/container-name/task-id ("awslogs-stream-prefix", ECS Developer Guide, "Send Amazon ECS
// logs to CloudWatch"); without a prefix only the group is known.
func StreamOf(config, container, taskID string) string {
	group, stream := LogStream(config, container, taskID)
	switch {
	case group == "":
		return ""
	case stream == "":
		return "log group " + group
	}
	return fmt.Sprintf("log group %s, stream %s", group, stream)
}

// LogStream is the awslogs group and stream of a task's container ("" stream without a prefix).
func LogStream(config, container, taskID string) (group, stream string) {
	group, prefix, _ := strings.Cut(config, "|")
	if group == "" || prefix == "" {
		return group, ""
	}
	return group, prefix + "/" + container + "/" + taskID
}

// runningDigests reads the image digests the deployment's running tasks report for the
// container that runs repository (any container when none matches). Tasks that report no
// digest are left out: the verdict counts the reads that come back short. Like the stopped
// reasons it is evidence of a verdict about to be made, read at once (at most DigestReadLimit
// times a service and release), so that the verdict comes in the same poll.
func runningDigests(ctx context.Context, h *step.Host, service, startedBy, repository string) ([]string, error) {
	tasks, err := tasks(ctx, h, service, startedBy, ecstypes.DesiredStatusRunning, true)
	if err != nil {
		return nil, err
	}
	digests := []string{}
	for _, t := range tasks {
		if !strings.EqualFold(aws.ToString(t.LastStatus), "RUNNING") {
			continue
		}
		pick := ""
		for _, c := range t.Containers {
			img, dg := aws.ToString(c.Image), aws.ToString(c.ImageDigest)
			if dg == "" {
				continue
			}
			if strings.Contains(img, "/"+repository+":") || strings.Contains(img, "/"+repository+"@") || strings.HasSuffix(img, "/"+repository) {
				pick = dg
				break
			}
			if pick == "" {
				pick = dg
			}
		}
		if pick != "" {
			digests = append(digests, pick)
		}
	}
	return digests, nil
}

// maxTaskPages bounds one task read: 10 pages of 100 tasks.
const maxTaskPages = 10

// tasks lists the service's tasks of one desired status and keeps those startedBy started,
// newest stopped first. ListTasks is filtered by serviceName and desiredStatus, which combine;
// startedBy would be exact but "must be the only filter that you use" (ECS API reference,
// ListTasks), and it cannot reach STOPPED tasks alone.
func tasks(ctx context.Context, h *step.Host, service, startedBy string, status ecstypes.DesiredStatus, burst bool) ([]ecstypes.Task, error) {
	tasks, err := List(ctx, h, ecs.ListTasksInput{ServiceName: aws.String(failure.ShortARN(service)), DesiredStatus: status}, startedBy, burst)
	sort.SliceStable(tasks, func(i, j int) bool { return aws.ToTime(tasks[i].StoppedAt).After(aws.ToTime(tasks[j].StoppedAt)) })
	return tasks, err
}

// List is the one task read: ListTasks in the cluster with the filters of in (pages follow
// nextToken, at most maxTaskPages), DescribeTasks 100 a call, and the tasks startedBy started.
func List(ctx context.Context, h *step.Host, in ecs.ListTasksInput, startedBy string, burst bool) ([]ecstypes.Task, error) {
	in.Cluster = aws.String(h.Settings.Cluster)
	var arns []string
	for page := 0; page < maxTaskPages; page++ {
		var lt *ecs.ListTasksOutput
		err := h.Read(ctx, burst, func() (err error) {
			lt, err = h.ECS.ListTasks(ctx, &in)
			return err
		})
		if err != nil {
			return nil, failure.Classify(err, "ListTasks")
		}
		arns = append(arns, lt.TaskArns...)
		if in.NextToken = lt.NextToken; aws.ToString(in.NextToken) == "" {
			break
		}
	}
	var tasks []ecstypes.Task
	for i := 0; i < len(arns); i += 100 {
		var dt *ecs.DescribeTasksOutput
		err := h.Read(ctx, burst, func() (err error) {
			dt, err = h.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(h.Settings.Cluster), Tasks: arns[i:min(i+100, len(arns))]})
			return err
		})
		if err != nil {
			return nil, failure.Classify(err, "DescribeTasks")
		}
		for _, t := range dt.Tasks {
			if aws.ToString(t.StartedBy) == startedBy {
				tasks = append(tasks, t)
			}
		}
	}
	return tasks, nil
}

// ReadDigests reads the digests a service's new tasks run (started by startedBy) into its
// record and ev.
func ReadDigests(ctx context.Context, h *step.Host, st *state.State, name, startedBy string, ev *verdict.Evidence) error {
	ref := h.Settings.ImageRef
	digests, err := runningDigests(ctx, h, name, startedBy, ref.Repository)
	if err != nil {
		return h.Accept(ctx, err, "reading the running tasks", report.Event{Service: name})
	}
	svc := st.Services[name]
	svc.Digests, svc.DigestReads = digests, svc.DigestReads+1
	r := svc.Evidence()
	ev.Digests, ev.DigestReads = r.Digests, r.DigestReads
	return nil
}
