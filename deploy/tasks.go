package deploy

// Task reads, the evidence both controllers' verdicts take: the image digests a deployment's
// running tasks report, and why its tasks stopped. A deployment's tasks are the service's whose
// startedBy is the deployment (ecs-svc/<n>) or the CodeDeploy replacement task set.

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// stoppedReasons reads why the deployment's tasks stopped, newest first. It is the diagnosis of
// a failure, so it does not wait for the read budget.
func (e *Engine) stoppedReasons(ctx context.Context, service, startedBy string) ([]string, error) {
	tasks, err := e.tasks(ctx, service, startedBy, ecstypes.DesiredStatusStopped, true)
	if err != nil {
		return nil, err
	}
	var reasons []string
	for _, t := range tasks {
		r := aws.ToString(t.StoppedReason)
		for _, c := range t.Containers {
			if cr := aws.ToString(c.Reason); cr != "" && !strings.Contains(r, cr) {
				r += " (" + aws.ToString(c.Name) + ": " + cr + ")"
			} else if c.ExitCode != nil && *c.ExitCode != 0 {
				r += fmt.Sprintf(" (%s: exit code %d)", aws.ToString(c.Name), *c.ExitCode)
			}
		}
		if r != "" {
			reasons = append(reasons, r)
		}
	}
	return reasons, nil // none: the message goes without
}

// runningDigests reads the image digests the deployment's running tasks report for the
// container that runs repository (any container when none matches). Tasks that report no
// digest are left out: the verdict counts the reads that come back short. Like the stopped
// reasons it is evidence of a verdict about to be made, read at once (at most DigestReadLimit
// times a service and release), so that the verdict comes in the same poll.
func (e *Engine) runningDigests(ctx context.Context, service, startedBy, repository string) ([]string, error) {
	tasks, err := e.tasks(ctx, service, startedBy, ecstypes.DesiredStatusRunning, true)
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

// tasks lists the service's tasks of one desired status and keeps those startedBy started.
// ListTasks is filtered by serviceName and desiredStatus, which combine; startedBy would be exact
// but "must be the only filter that you use" (ECS API reference, ListTasks), and it cannot reach
// STOPPED tasks alone. Pages follow nextToken; DescribeTasks takes 100 a call.
func (e *Engine) tasks(ctx context.Context, service, startedBy string, status ecstypes.DesiredStatus, burst bool) ([]ecstypes.Task, error) {
	var arns []string
	var next *string
	for page := 0; page < maxTaskPages; page++ {
		var lt *ecs.ListTasksOutput
		err := e.read(ctx, burst, func() (err error) {
			lt, err = e.ECS.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(e.Settings.Cluster),
				ServiceName: aws.String(shortARN(service)), DesiredStatus: status, NextToken: next})
			return err
		})
		if err != nil {
			return nil, classify(err, "ListTasks")
		}
		arns = append(arns, lt.TaskArns...)
		if next = lt.NextToken; aws.ToString(next) == "" {
			break
		}
	}
	var tasks []ecstypes.Task
	for i := 0; i < len(arns); i += 100 {
		var dt *ecs.DescribeTasksOutput
		err := e.read(ctx, burst, func() (err error) {
			dt, err = e.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(e.Settings.Cluster), Tasks: arns[i:min(i+100, len(arns))]})
			return err
		})
		if err != nil {
			return nil, classify(err, "DescribeTasks")
		}
		for _, t := range dt.Tasks {
			if aws.ToString(t.StartedBy) == startedBy {
				tasks = append(tasks, t)
			}
		}
	}
	sort.SliceStable(tasks, func(i, j int) bool { return aws.ToTime(tasks[i].StoppedAt).After(aws.ToTime(tasks[j].StoppedAt)) })
	return tasks, nil
}
