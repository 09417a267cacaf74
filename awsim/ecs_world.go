package awsim

// The ECS world: clusters, services, deployments and tasks, and time. Every method runs under
// Server.mu. A service's rollout is a timeline (ecs_scenarios.go) that advance plays up to the
// time of each call, so the world is always as it would be "now" when a call reads it.

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"time"
)

type ecsWorld struct {
	s        *Server
	clusters map[string]*cluster
	order    []string
	defs     map[string][]*revision // task definitions by family, oldest revision first (ecs_taskdefs.go)
}

type cluster struct {
	name, arn string
	services  map[string]*service
	order     []string
	tasks     []*task
	tokens    map[string]tokenUse // RunTask's client tokens (ecs_runtask.go)
}

type service struct {
	spec        ServiceSpec
	cl          *cluster
	arn         string
	taskDef     string // ARN of the current task definition
	desired     int
	status      string
	created     time.Time
	deployments []*deployment // PRIMARY first
	history     []*deployment // every deployment, newest first (ListServiceDeployments)
	events      []ecsEvent    // oldest first
	tl          *timeline
	tags        map[string]string
	initial     *deployment   // the deployment the world starts with (the release before this one)
	cdGreen     *cdDeployment // the CodeDeploy deployment in progress (CODE_DEPLOY controller)
}

type deployment struct {
	id, status, taskDef      string
	desired, pending, failed int
	rolloutState, reason     string
	created, updated         time.Time
	digest                   string
	running                  []*task
	sd                       *serviceDeployment // the service deployment that started it
}

type ecsEvent struct {
	id      string
	created time.Time
	message string
}

type task struct {
	arn, taskDef, group, startedBy string
	lastStatus, desiredStatus      string
	stopCode, stoppedReason        string
	image, digest, containerName   string
	containerReason                string
	noDigest                       bool
	exitCode                       *int
	created, started, stopped      time.Time
	cl                             *cluster
	run                            *run // a standalone task's (ecs_runtask.go); nil for a service's
	launchType                     string
}

// timeline is the scenario of the rollout in progress: steps run once when their time comes,
// failing tasks stop at a steady rate while failing is true.
type timeline struct {
	start   time.Time
	ours    *deployment
	steps   []step
	next    int
	failing bool
	// failLimit ends failing after that many failures (Flaky); 0: no limit.
	failLimit int
	failed    int // failures emitted so far
	every     time.Duration
	reason    taskFailure
	// paused holds the timeline at a PAUSE hook from pausedAt until ContinueServiceDeployment.
	paused   bool
	pausedAt time.Time
}

type step struct {
	at time.Duration
	do func(now time.Time)
}

type taskFailure struct {
	stopCode, reason, containerReason string
	exitCode                          *int
}

func newECS(s *Server, specs []ClusterSpec) (*ecsWorld, error) {
	w := &ecsWorld{s: s, clusters: map[string]*cluster{}}
	now := time.Now()
	for _, cs := range specs {
		if cs.Name == "" {
			return nil, fmt.Errorf("awsim: a cluster has no name")
		}
		cl := &cluster{name: cs.Name, arn: w.arn("cluster/" + cs.Name), services: map[string]*service{}}
		w.clusters[cs.Name] = cl
		w.order = append(w.order, cs.Name)
		for _, ss := range cs.Services {
			if ss.Name == "" {
				return nil, fmt.Errorf("awsim: a service of cluster %s has no name", cs.Name)
			}
			if ss.DesiredCount == 0 {
				ss.DesiredCount = 2
			}
			if ss.Controller == "" {
				ss.Controller = "ECS"
			}
			if ss.CodeDeploy != nil {
				ss.Controller = "CODE_DEPLOY"
			}
			if ss.Status == "" {
				ss.Status = "ACTIVE"
			}
			if ss.Scenario.Kind == "" {
				ss.Scenario.Kind = Success
			}
			if _, ok := scenarios[ss.Scenario.Kind]; !ok {
				return nil, fmt.Errorf("awsim: service %s/%s: unknown scenario kind %q", cs.Name, ss.Name, ss.Scenario.Kind)
			}
			if ss.Scenario.Kind == Rollback {
				ss.CircuitBreaker = true
			}
			ss = withStrategy(ss)
			if err := checkControls(ss); err != nil {
				return nil, fmt.Errorf("awsim: service %s/%s: %v", cs.Name, ss.Name, err)
			}
			if ss.StartEmpty {
				ss.DesiredCount = 0
			}
			first, err := w.revisionOf(ss.Task.family(ss.Name))
			if err != nil { // services of the same name in other clusters share the family
				first = w.register(w.labTask(ss, cs.Name), []map[string]string{{"key": "app", "value": "tsa-gallery"}}, PlaceholderRoleARN, now.Add(-48*time.Hour))
			}
			svc := &service{
				spec:    ss,
				cl:      cl,
				arn:     w.arn("service/" + cs.Name + "/" + ss.Name),
				taskDef: first.arn,
				desired: ss.DesiredCount,
				status:  ss.Status,
				created: now.Add(-24 * time.Hour),
			}
			d := w.newDeployment(svc, svc.taskDef, now.Add(-24*time.Hour))
			d.rolloutState = "COMPLETED"
			d.reason = fmt.Sprintf("ECS deployment %s completed.", d.id)
			d.digest = s.ecr.digestOf(ss.Image, "previous")
			w.setRunning(svc, d, svc.desired, now.Add(-24*time.Hour))
			d.pending = 0
			svc.deployments = []*deployment{d}
			svc.history = []*deployment{d}
			svc.initial = d
			w.newServiceDeployment(svc, d, nil, now.Add(-24*time.Hour)).set("SUCCESSFUL", "Service deployment succeeded.", now.Add(-23*time.Hour))
			w.event(svc, now.Add(-23*time.Hour), "(service %s) has reached a steady state.", ss.Name)
			cl.services[ss.Name] = svc
			cl.order = append(cl.order, ss.Name)
		}
	}
	return w, nil
}

func (w *ecsWorld) arn(resource string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:%s", w.s.cfg.Region, w.s.cfg.Account, resource)
}

func (w *ecsWorld) newDeployment(svc *service, taskDef string, now time.Time) *deployment {
	return &deployment{
		id:           fmt.Sprintf("ecs-svc/%019d", 1000000000000000000+int64(w.s.nextID())*7919),
		status:       "PRIMARY",
		taskDef:      taskDef,
		desired:      svc.desired,
		pending:      svc.desired,
		rolloutState: "IN_PROGRESS",
		reason:       "ECS deployment " + "in progress.",
		created:      now,
		updated:      now,
	}
}

func (w *ecsWorld) event(svc *service, at time.Time, format string, args ...any) {
	svc.events = append(svc.events, ecsEvent{
		id:      fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", w.s.nextID(), 0xabcd, 0x123, 0x456, w.s.nextID()),
		created: at,
		message: fmt.Sprintf(format, args...),
	})
}

// setRunning makes d run exactly n tasks, starting or stopping tasks as needed.
func (w *ecsWorld) setRunning(svc *service, d *deployment, n int, now time.Time) {
	var started []string
	for len(d.running) < n {
		t := w.newTask(svc, d, now)
		t.lastStatus, t.desiredStatus, t.started = "RUNNING", "RUNNING", now
		d.running = append(d.running, t)
		started = append(started, "(task "+shortID(t.arn)+")")
	}
	if len(started) > 0 {
		w.event(svc, now, "(service %s) has started %d tasks: %s.", svc.spec.Name, len(started), strings.Join(started, " "))
	}
	if len(d.running) > n {
		stopped := len(d.running) - n
		for _, t := range d.running[n:] {
			w.stopTask(t, now, taskFailure{stopCode: "ServiceSchedulerInitiated",
				reason: fmt.Sprintf("Scaling activity initiated by (deployment %s)", d.id)})
		}
		d.running = d.running[:n]
		w.event(svc, now, "(service %s) has stopped %d running tasks.", svc.spec.Name, stopped)
	}
	d.updated = now
}

func (w *ecsWorld) newTask(svc *service, d *deployment, now time.Time) *task {
	id := fmt.Sprintf("%032x", sha256.Sum256([]byte(fmt.Sprintf("task-%d", w.s.nextID()))))[:32]
	t := &task{
		arn:           w.arn("task/" + svc.cl.name + "/" + id),
		taskDef:       d.taskDef,
		group:         "service:" + svc.spec.Name,
		startedBy:     d.id,
		lastStatus:    "PROVISIONING",
		desiredStatus: "RUNNING",
		image:         w.s.ecr.imageURI(svc.spec.Image),
		digest:        d.digest,
		containerName: svc.spec.container(),
		noDigest:      svc.spec.NoDigest,
		created:       now,
		cl:            svc.cl,
	}
	svc.cl.tasks = append(svc.cl.tasks, t)
	return t
}

func (w *ecsWorld) stopTask(t *task, now time.Time, f taskFailure) {
	t.lastStatus, t.desiredStatus = "STOPPED", "STOPPED"
	t.stopCode, t.stoppedReason, t.containerReason, t.exitCode = f.stopCode, f.reason, f.containerReason, f.exitCode
	t.stopped = now
}

func shortID(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

// startRollout is UpdateService with a new deployment: ours becomes PRIMARY, the rest ACTIVE.
func (w *ecsWorld) advance(svc *service, now time.Time) {
	if svc.cdGreen != nil {
		w.s.cd.advance(svc.cdGreen, now)
	}
	tl := svc.tl
	if tl == nil || tl.paused {
		return
	}
	for {
		// Failures interleave with steps in time order.
		nextFail := time.Duration(1<<62 - 1)
		if tl.failing {
			nextFail = time.Duration(tl.failed+1) * tl.every
		}
		nextStep := time.Duration(1<<62 - 1)
		if tl.next < len(tl.steps) {
			nextStep = tl.steps[tl.next].at
		}
		at := min(nextFail, nextStep)
		if at == time.Duration(1<<62-1) || tl.start.Add(at).After(now) {
			return
		}
		when := tl.start.Add(at)
		if nextFail <= nextStep {
			tl.failed++
			t := w.newTask(svc, tl.ours, when)
			w.stopTask(t, when, tl.reason)
			tl.ours.failed++
			tl.ours.updated = when
			w.event(svc, when, "(service %s) has started 1 tasks: (task %s).", svc.spec.Name, shortID(t.arn))
			if tl.failLimit > 0 && tl.failed >= tl.failLimit {
				tl.failing = false
			}
			if n := breakerThreshold(svc); n > 0 && tl.ours.failed >= n && tl.ours.sd != nil && !tl.ours.sd.terminal() && !strings.HasPrefix(tl.ours.sd.status, "ROLLBACK") {
				w.rollingBack(svc, tl.ours, "ECS deployment circuit breaker: tasks failed to start.", when, tl, w.rolloutOf(svc)/2)
			}
			continue
		}
		// The index moves first: a step may replace the rest of the timeline (a rollback).
		do := tl.steps[tl.next].do
		tl.next++
		do(when)
		if tl.paused {
			return
		}
	}
}

// breakerThreshold is the failure count at which a service's configured circuit breaker trips
// (0: no configured breaker, the scenario decides). Documented (ecs v1.98.0, ThresholdType):
// COUNT is the value; BOUNDED_PERCENT "multiplies value by the latest service desired count,
// then clamping the result to a minimum of 3 and a maximum of 200", the default with value 50;
// UNBOUNDED_PERCENT without the bounds. Inferred: value is a percentage (50 is the old "half the
// desired count"), rounded up. awsim's failing tasks fail one after another with no healthy task
// between, so resetOnHealthyTask changes nothing here: the consecutive count is the count.
func breakerThreshold(svc *service) int {
	b := svc.spec.Breaker
	if b == nil {
		return 0
	}
	value := b.Value
	if value == 0 && b.Type != "COUNT" {
		value = 50
	}
	of := (value*svc.desired + 99) / 100
	switch b.Type {
	case "COUNT":
		return max(1, value)
	case "UNBOUNDED_PERCENT":
		return max(1, of)
	}
	return max(3, min(200, of))
}

// checkControls holds a service's newest deployment controls to their documented contract (ecs
// v1.98.0): healthyPercent "must be an integer between 0 and 100. This value must be greater
// than or equal to the minimumHealthyPercent value", the cleanup BLOCKING or DEFERRED, early
// success on ROLLING only (DeploymentEarlySuccessCriteria is documented for rolling deployments);
// a breaker's type one of ThresholdType's three, its value not negative.
func checkControls(ss ServiceSpec) error {
	if es := ss.EarlySuccess; es != nil {
		minHealthy := cmpInt(ss.MinimumHealthyPercent, 100)
		switch {
		case ss.Strategy != strategyRolling:
			return fmt.Errorf("early success criteria are for ROLLING deployments, not %s", ss.Strategy)
		case es.HealthyPercent < 0 || es.HealthyPercent > 100:
			return fmt.Errorf("healthyPercent %d is not between 0 and 100", es.HealthyPercent)
		case es.HealthyPercent < minHealthy:
			return fmt.Errorf("healthyPercent %d is below minimumHealthyPercent %d", es.HealthyPercent, minHealthy)
		case es.Cleanup != "BLOCKING" && es.Cleanup != "DEFERRED":
			return fmt.Errorf("sourceServiceRevisionCleanup %q is not BLOCKING or DEFERRED", es.Cleanup)
		}
	}
	if b := ss.Breaker; b != nil {
		if b.Type != "" && b.Type != "COUNT" && b.Type != "BOUNDED_PERCENT" && b.Type != "UNBOUNDED_PERCENT" {
			return fmt.Errorf("thresholdConfiguration type %q is not COUNT, BOUNDED_PERCENT or UNBOUNDED_PERCENT", b.Type)
		}
		if b.Value < 0 {
			return fmt.Errorf("thresholdConfiguration value %d is negative", b.Value)
		}
	}
	return nil
}
