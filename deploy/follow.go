package deploy

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// follow observes the pinned deployments until each is done, one fails, or ctx ends. Each poll
// is one DescribeServices per 10 services; task reads happen only when a decision needs them.
func (e *Engine) follow(ctx context.Context, st *State) error {
	counts := map[string]Counts{}
	stopped := map[string][]string{}
	ref, _ := ParseImage(e.Settings.Image)
	for {
		tick := e.now()
		var pending []string
		for _, svc := range e.Settings.Services {
			if !st.Finished[svc] {
				pending = append(pending, svc)
			}
		}
		if len(pending) == 0 {
			return nil
		}
		// Reads the last decisions asked for come first.
		for _, name := range pending {
			if !st.WantDigests[name] {
				continue
			}
			digests, err := e.runningDigests(ctx, st.Deployments[name], ref.Repository)
			if err != nil {
				if ctx.Err() != nil {
					return err
				}
				e.emit(Event{Kind: KindWarning, Service: name, Message: "could not read the running tasks: " + err.Error()})
				continue
			}
			st.Digests[name] = digests
			delete(st.WantDigests, name)
		}
		services, err := e.describe(ctx, pending)
		if err != nil {
			if err := e.transient(ctx, err, "reading the services"); err != nil {
				return err
			}
			continue
		}
		e.reportEvents(st, services, pending)
		for _, name := range pending {
			pin := Pin{Deployment: st.Deployments[name], Digest: st.Digest, FailedTasks: e.Settings.FailedTasks}
			s, ok := services[name]
			if !ok {
				return newError(ErrFailed, "service %s: it disappeared from cluster %s during the deployment", name, e.Settings.Cluster)
			}
			view := viewOf(s)
			if c, ok := countsOf(view, pin.Deployment); ok && c != counts[name] {
				counts[name] = c
				e.emit(Event{Kind: KindProgress, Service: name, Deployment: pin.Deployment, Counts: &c,
					Message: fmt.Sprintf("%s: %s", pin.Deployment, progress(view, findDeployment(view, pin.Deployment)))})
			}
			ev := Evidence{Digests: st.Digests[name], Stopped: stopped[name]}
			d := Decide(view, pin, ev)
			if d.NeedReasons {
				if ev.Stopped, err = e.stoppedReasons(ctx, pin.Deployment); err != nil {
					e.emit(Event{Kind: KindWarning, Service: name, Message: "could not read the stopped tasks: " + err.Error()})
					ev.Stopped = []string{"(stopped reasons unavailable)"}
				}
				stopped[name] = ev.Stopped
				d = Decide(view, pin, ev)
			}
			switch {
			case d.Verdict == Failed:
				return newError(ErrFailed, "service %s: %s", name, d.Message)
			case d.Verdict == Done:
				st.Finished[name] = true
				e.emit(Event{Kind: KindProgress, Service: name, Deployment: pin.Deployment, Message: d.Message})
			case d.NeedDigests:
				st.WantDigests[name] = true
				delete(st.Digests, name)
			}
		}
		if err := sleep(ctx, e.Settings.Poll-e.now().Sub(tick)); err != nil {
			return err
		}
	}
}

// reportEvents reports each service event newer than the last one reported, oldest first.
func (e *Engine) reportEvents(st *State, services map[string]ecstypes.Service, names []string) {
	type item struct {
		svc string
		ev  ecstypes.ServiceEvent
	}
	var items []item
	since := st.EventsSince
	if since.IsZero() {
		since = st.Started
	}
	newest := since
	for _, name := range names {
		evs := services[name].Events // newest first
		for i := len(evs) - 1; i >= 0; i-- {
			ev := evs[i]
			if t := aws.ToTime(ev.CreatedAt); t.After(since) {
				items = append(items, item{name, ev})
				if t.After(newest) {
					newest = t
				}
			}
		}
	}
	sort.SliceStable(items, func(i, j int) bool {
		return aws.ToTime(items[i].ev.CreatedAt).Before(aws.ToTime(items[j].ev.CreatedAt))
	})
	for _, it := range items {
		e.emit(Event{Kind: KindServiceEvent, Service: it.svc, Message: aws.ToString(it.ev.Message)})
	}
	st.EventsSince = newest
}

// stoppedReasons reads why the deployment's tasks stopped, newest first. It is the diagnosis
// of a failure, so it does not wait for the read budget.
func (e *Engine) stoppedReasons(ctx context.Context, deployment string) ([]string, error) {
	tasks, err := e.tasks(ctx, deployment, ecstypes.DesiredStatusStopped, true)
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
	if len(reasons) == 0 {
		reasons = []string{"(no stopped tasks found)"}
	}
	return reasons, nil
}

// runningDigests reads the image digests the deployment's running tasks report for the
// container that runs repository (any container when none matches).
func (e *Engine) runningDigests(ctx context.Context, deployment, repository string) ([]string, error) {
	tasks, err := e.tasks(ctx, deployment, ecstypes.DesiredStatusRunning, false)
	if err != nil {
		return nil, err
	}
	digests := []string{}
	for _, t := range tasks {
		if aws.ToString(t.LastStatus) != "RUNNING" {
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

// tasks lists and describes up to 100 tasks a deployment started.
func (e *Engine) tasks(ctx context.Context, deployment string, status ecstypes.DesiredStatus, burst bool) ([]ecstypes.Task, error) {
	if err := e.pace(ctx, burst); err != nil {
		return nil, err
	}
	lt, err := e.ECS.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(e.Settings.Cluster),
		StartedBy: aws.String(deployment), DesiredStatus: status})
	if err != nil {
		return nil, classify(err, "ListTasks")
	}
	if len(lt.TaskArns) == 0 {
		return nil, nil
	}
	if err := e.pace(ctx, burst); err != nil {
		return nil, err
	}
	dt, err := e.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(e.Settings.Cluster), Tasks: lt.TaskArns})
	if err != nil {
		return nil, classify(err, "DescribeTasks")
	}
	sort.SliceStable(dt.Tasks, func(i, j int) bool { return aws.ToTime(dt.Tasks[i].StoppedAt).After(aws.ToTime(dt.Tasks[j].StoppedAt)) })
	return dt.Tasks, nil
}

// viewOf reduces an SDK service to what Decide needs.
func viewOf(s ecstypes.Service) ServiceView {
	v := ServiceView{Name: aws.ToString(s.ServiceName), Status: aws.ToString(s.Status),
		Desired: int(s.DesiredCount), Running: int(s.RunningCount), Pending: int(s.PendingCount)}
	for _, d := range s.Deployments {
		v.Deployments = append(v.Deployments, DeploymentView{
			ID: aws.ToString(d.Id), Status: aws.ToString(d.Status), RolloutState: string(d.RolloutState),
			Reason: aws.ToString(d.RolloutStateReason), TaskDef: shortARN(aws.ToString(d.TaskDefinition)),
			Desired: int(d.DesiredCount), Running: int(d.RunningCount), Pending: int(d.PendingCount),
			Failed: int(d.FailedTasks), Created: aws.ToTime(d.CreatedAt),
		})
	}
	return v
}

func findDeployment(v ServiceView, id string) *DeploymentView {
	for i := range v.Deployments {
		if v.Deployments[i].ID == id {
			return &v.Deployments[i]
		}
	}
	return nil
}

func countsOf(v ServiceView, id string) (Counts, bool) {
	d := findDeployment(v, id)
	if d == nil {
		return Counts{}, false
	}
	return Counts{Running: d.Running, Desired: d.Desired, Pending: d.Pending, Failed: d.Failed}, true
}
