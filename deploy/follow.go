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
// Observation and decision are apart: the evidence a snapshot needs is gathered first, then
// Decide is called once with it.
func (e *Engine) follow(ctx context.Context, st *State) error {
	said := map[string]string{} // the last progress reported, per service
	ref, _ := ParseImage(e.Settings.Image)
	for {
		tick := e.now()
		var pending, cd []string
		for _, svc := range e.Settings.Services {
			switch {
			case st.Finished[svc]:
			case isCDDeployment(st.Deployments[svc]):
				cd = append(cd, svc)
			default:
				pending = append(pending, svc)
			}
		}
		if len(pending) == 0 && len(cd) == 0 {
			return nil
		}
		// Services on the CODE_DEPLOY controller follow their CodeDeploy deployment.
		for _, name := range cd {
			if _, err := e.followCodeDeploy(ctx, st, name, said); err != nil {
				return err
			}
		}
		if len(pending) == 0 {
			if err := sleep(ctx, e.Settings.Poll-e.now().Sub(tick)); err != nil {
				return err
			}
			continue
		}
		// Reads the last decisions asked for come first.
		for _, name := range pending {
			if !st.WantDigests[name] {
				continue
			}
			digests, err := e.runningDigests(ctx, name, st.Deployments[name], ref.Repository)
			if err != nil {
				if err := e.check(ctx, err, "reading the running tasks", Event{Service: name}); err != nil {
					return err
				}
				continue
			}
			st.Digests[name] = digests
			st.DigestReads[name]++
			delete(st.WantDigests, name)
		}
		services, err := e.describe(ctx, pending)
		if err != nil {
			if err := e.check(ctx, err, "reading the services", Event{}); err != nil {
				return err
			}
			if err := sleep(ctx, e.Settings.Poll); err != nil {
				return err
			}
			continue
		}
		e.reportEvents(st, services, pending)
		if err := e.pinSD(ctx, st, pending); err != nil {
			return err
		}
		// The strategies that shift traffic are judged by their service deployment every poll.
		var shifting []string
		for _, name := range pending {
			if shiftsTraffic(services[name]) {
				shifting = append(shifting, name)
			}
		}
		sds, err := e.readSD(ctx, st, shifting, false)
		if err != nil {
			if err := e.check(ctx, err, "reading the service deployments", Event{}); err != nil {
				return err
			}
		}
		for _, name := range pending {
			pin := Pin{Deployment: st.Deployments[name], Digest: st.Digest, FailedTasks: e.Settings.FailedTasks,
				DigestCheck: e.Settings.DigestCheck, WaitUntil: e.Settings.WaitUntil}
			s, ok := services[name]
			if !ok {
				return newError(ErrFailed, "service %s: it disappeared from cluster %s during the deployment", name, e.Settings.Cluster)
			}
			view := viewOf(s)
			ev := Evidence{Digests: st.Digests[name], DigestReads: st.DigestReads[name], SD: sds[name]}
			first := Decide(view, pin, ev)
			if first.Verdict != Waiting && ev.SD == nil && st.SD[name] != "" && !st.NoSD {
				// A ROLLING deployment's end: the service deployment confirms it or names the cause.
				if views, err := e.readSD(ctx, st, []string{name}, true); err == nil {
					ev.SD = views[name]
				} else if err := e.check(ctx, err, "reading the service deployment", Event{Service: name}); err != nil {
					return err
				}
			}
			if first.NeedReasons {
				// The verdict is failure whatever the reasons say: a read that fails only
				// leaves the message without them.
				if ev.Stopped, err = e.stoppedReasons(ctx, name, pin.Deployment); err != nil {
					if ctx.Err() != nil {
						return err
					}
					ev.Stopped = []string{"(stopped reasons unavailable: " + firstLine(err) + ")"}
				}
			}
			d := Decide(view, pin, ev)
			e.setWaiting(name, d.Message)
			// Progress is reported when what the deployment waits for changes: counts, stage,
			// traffic, bake time (to the second).
			if c, ok := countsOf(view, pin.Deployment); ok && d.Verdict == Waiting && d.Message != said[name] {
				said[name] = d.Message
				e.emit(Event{Kind: KindProgress, Service: name, Deployment: pin.Deployment, Counts: &c,
					Message: fmt.Sprintf("%s: %s", pin.Deployment, d.Message)})
			}
			for _, h := range d.Paused {
				if err := e.answerHook(ctx, st, name, h); err != nil {
					return err
				}
			}
			switch {
			case d.Verdict == Failed:
				if d.Own {
					st.Failure = d.Message
				}
				return newError(ErrFailed, "service %s: %s", name, d.Message)
			case d.Verdict == Done:
				st.Finished[name] = true
				e.setWaiting(name, "")
				if d.Warning != "" {
					e.emit(Event{Kind: KindWarning, Service: name, Deployment: pin.Deployment, Message: d.Warning})
				}
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

// shiftsTraffic reports whether the service deploys with a strategy that shifts traffic.
func shiftsTraffic(s ecstypes.Service) bool {
	if c := s.DeploymentConfiguration; c != nil {
		switch c.Strategy {
		case ecstypes.DeploymentStrategyBlueGreen, ecstypes.DeploymentStrategyLinear, ecstypes.DeploymentStrategyCanary:
			return true
		}
	}
	return false
}

// reportEvents reports each service event not seen before, oldest first. Events are told
// apart by id: DescribeServices lists them newest first, so the new ones are those before the
// last id seen. Without a last id (a run resumed from an older state) the run's start time is
// the fallback.
func (e *Engine) reportEvents(st *State, services map[string]ecstypes.Service, names []string) {
	type item struct {
		svc string
		ev  ecstypes.ServiceEvent
	}
	var items []item
	for _, name := range names {
		evs := services[name].Events // newest first
		if len(evs) == 0 {
			continue
		}
		last := st.LastEvent[name]
		var fresh []ecstypes.ServiceEvent
		for _, ev := range evs {
			if last != "" && aws.ToString(ev.Id) == last {
				break
			}
			if last == "" && !aws.ToTime(ev.CreatedAt).After(st.Started) {
				break
			}
			fresh = append(fresh, ev)
		}
		for i := len(fresh) - 1; i >= 0; i-- {
			items = append(items, item{name, fresh[i]})
		}
		st.LastEvent[name] = aws.ToString(evs[0].Id)
	}
	// In time order across services; a stable sort keeps ECS's order for equal times.
	sort.SliceStable(items, func(i, j int) bool {
		return aws.ToTime(items[i].ev.CreatedAt).Before(aws.ToTime(items[j].ev.CreatedAt))
	})
	for _, it := range items {
		e.emit(Event{Kind: KindServiceEvent, Service: it.svc, Message: aws.ToString(it.ev.Message)})
	}
}

// stoppedReasons reads why the deployment's tasks stopped, newest first. It is the diagnosis
// of a failure, so it does not wait for the read budget.
func (e *Engine) stoppedReasons(ctx context.Context, service, deployment string) ([]string, error) {
	tasks, err := e.tasks(ctx, service, deployment, ecstypes.DesiredStatusStopped, true)
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
// digest are left out: Decide counts the reads that come back short.
func (e *Engine) runningDigests(ctx context.Context, service, deployment, repository string) ([]string, error) {
	tasks, err := e.tasks(ctx, service, deployment, ecstypes.DesiredStatusRunning, false)
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

// tasks lists the service's tasks of one desired status and keeps those the deployment started.
// ListTasks is filtered by serviceName and desiredStatus, which combine; startedBy would be
// exact but "must be the only filter that you use" (ECS API reference, ListTasks), and it
// cannot reach STOPPED tasks alone. Pages follow nextToken; DescribeTasks takes 100 a call.
func (e *Engine) tasks(ctx context.Context, service, deployment string, status ecstypes.DesiredStatus, burst bool) ([]ecstypes.Task, error) {
	var arns []string
	var next *string
	for page := 0; page < maxTaskPages; page++ {
		if err := e.pace(ctx, burst); err != nil {
			return nil, err
		}
		lt, err := e.ECS.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(e.Settings.Cluster),
			ServiceName: aws.String(shortARN(service)), DesiredStatus: status, NextToken: next})
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
		if err := e.pace(ctx, burst); err != nil {
			return nil, err
		}
		dt, err := e.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(e.Settings.Cluster), Tasks: arns[i:min(i+100, len(arns))]})
		if err != nil {
			return nil, classify(err, "DescribeTasks")
		}
		for _, t := range dt.Tasks {
			if aws.ToString(t.StartedBy) == deployment {
				tasks = append(tasks, t)
			}
		}
	}
	sort.SliceStable(tasks, func(i, j int) bool { return aws.ToTime(tasks[i].StoppedAt).After(aws.ToTime(tasks[j].StoppedAt)) })
	return tasks, nil
}

// viewOf reduces an SDK service to what Decide needs.
func viewOf(s ecstypes.Service) ServiceView {
	// ECS's enums are upper case; emulators' need not be, and AWS documents no case rule.
	v := ServiceView{Name: aws.ToString(s.ServiceName), Status: strings.ToUpper(aws.ToString(s.Status)),
		Desired: int(s.DesiredCount), Running: int(s.RunningCount), Pending: int(s.PendingCount)}
	for _, d := range s.Deployments {
		v.Deployments = append(v.Deployments, DeploymentView{
			ID: aws.ToString(d.Id), Status: strings.ToUpper(aws.ToString(d.Status)), RolloutState: strings.ToUpper(string(d.RolloutState)),
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
