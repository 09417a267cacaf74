package awsim

import (
	"crypto/sha256"
	"fmt"
	"sort"
	"strings"
	"time"
)

// ecsWorld holds clusters, services, deployments and tasks. Every method runs under Server.mu.
type ecsWorld struct {
	s        *Server
	clusters map[string]*cluster
	order    []string
}

type cluster struct {
	name, arn string
	services  map[string]*service
	order     []string
	tasks     []*task
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
	events      []ecsEvent    // oldest first
	tl          *timeline
	tags        map[string]string
}

type deployment struct {
	id, status, taskDef      string
	desired, pending, failed int
	rolloutState, reason     string
	created, updated         time.Time
	digest                   string
	running                  []*task
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
}

// timeline is the scenario of the rollout in progress: steps run once when their time comes,
// failing tasks stop at a steady rate while failing is true.
type timeline struct {
	start   time.Time
	ours    *deployment
	steps   []step
	next    int
	failing bool
	failed  int // failures emitted so far
	every   time.Duration
	reason  taskFailure
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
			if ss.Status == "" {
				ss.Status = "ACTIVE"
			}
			if ss.Scenario.Kind == "" {
				ss.Scenario.Kind = Success
			}
			switch ss.Scenario.Kind {
			case Success, Rollback, CrashLoop, NeverFinish, WrongDigest, Foreign:
			default:
				return nil, fmt.Errorf("awsim: service %s/%s: unknown scenario kind %q", cs.Name, ss.Name, ss.Scenario.Kind)
			}
			if ss.Scenario.Kind == Rollback {
				ss.CircuitBreaker = true
			}
			svc := &service{
				spec:    ss,
				cl:      cl,
				arn:     w.arn("service/" + cs.Name + "/" + ss.Name),
				taskDef: w.arn(fmt.Sprintf("task-definition/%s:1", ss.Name)),
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
		containerName: svc.spec.Name,
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
func (w *ecsWorld) startRollout(svc *service, now time.Time) *deployment {
	prev := svc.deployments[0]
	for _, d := range svc.deployments {
		d.status = "ACTIVE"
	}
	d := w.newDeployment(svc, svc.taskDef, now)
	d.digest = w.s.ecr.digestOf(svc.spec.Image, "")
	sc := svc.spec.Scenario
	if sc.Kind == WrongDigest {
		d.digest = "sha256:" + fmt.Sprintf("%x", sha256.Sum256([]byte("wrong:"+svc.spec.Image)))
	}
	svc.deployments = append([]*deployment{d}, svc.deployments...)
	w.s.effects.Deployments[svc.cl.name+"/"+svc.spec.Name]++

	rollout := sc.Rollout.D()
	if rollout <= 0 {
		rollout = 2 * time.Second
	}
	every := sc.TaskFailEvery.D()
	if every <= 0 {
		every = rollout / 4
	}
	tl := &timeline{start: now, ours: d, every: every}
	name := svc.spec.Name
	complete := func(d *deployment) func(time.Time) {
		return func(now time.Time) {
			w.setRunning(svc, d, svc.desired, now)
			d.pending = 0
			for _, other := range svc.deployments {
				if other != d {
					w.setRunning(svc, other, 0, now)
				}
			}
			svc.deployments = []*deployment{d}
			d.status, d.rolloutState = "PRIMARY", "COMPLETED"
			d.reason = fmt.Sprintf("ECS deployment %s completed.", d.id)
			d.updated = now
			w.event(svc, now, "(service %s) (deployment %s) deployment completed.", name, d.id)
			w.event(svc, now, "(service %s) has reached a steady state.", name)
		}
	}
	startTasks := func(d *deployment) func(time.Time) {
		return func(now time.Time) {
			w.setRunning(svc, d, svc.desired, now)
			d.pending = 0
		}
	}
	switch sc.Kind {
	case Success, WrongDigest:
		tl.steps = []step{{rollout / 2, startTasks(d)}, {rollout, complete(d)}}
	case Rollback:
		failAfter := sc.FailAfter.D()
		if failAfter <= 0 {
			failAfter = rollout
		}
		one := 1
		tl.failing = true
		tl.reason = taskFailure{stopCode: "EssentialContainerExited", reason: "Essential container in task exited",
			containerReason: "", exitCode: &one}
		tl.steps = []step{
			{failAfter, func(now time.Time) {
				tl.failing = false
				d.status, d.rolloutState = "ACTIVE", "FAILED"
				d.reason = "ECS deployment circuit breaker: tasks failed to start."
				d.pending, d.updated = 0, now
				prev.status, prev.rolloutState = "PRIMARY", "IN_PROGRESS"
				prev.reason = "ECS deployment " + "in progress."
				svc.deployments = []*deployment{prev, d}
				svc.taskDef = prev.taskDef
				w.event(svc, now, "(service %s) (deployment %s) deployment failed: tasks failed to start.", name, d.id)
				w.event(svc, now, "(service %s) rolling back to deployment %s.", name, prev.id)
			}},
			{failAfter + rollout/2, complete(prev)},
		}
	case CrashLoop:
		tl.failing = true
		tl.reason = taskFailure{stopCode: "TaskFailedToStart",
			reason: fmt.Sprintf("CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref %s: %s: not found",
				w.s.ecr.imageURI(svc.spec.Image), w.s.ecr.imageURI(svc.spec.Image)),
			containerReason: "CannotPullContainerError: pull image manifest has been retried 7 time(s)"}
	case NeverFinish:
		// Tasks stay PENDING: nothing happens.
	case Foreign:
		replace := sc.ReplaceAfter.D()
		if replace <= 0 {
			replace = rollout / 2
		}
		var f *deployment
		tl.steps = []step{
			{replace, func(now time.Time) {
				svc.taskDef = w.arn(fmt.Sprintf("task-definition/%s:%d", name, 100+w.s.nextID()))
				for _, o := range svc.deployments {
					o.status = "ACTIVE"
				}
				f = w.newDeployment(svc, svc.taskDef, now)
				f.digest = "sha256:" + fmt.Sprintf("%x", sha256.Sum256([]byte("foreign:"+name)))
				svc.deployments = append([]*deployment{f}, svc.deployments...)
			}},
			{replace + rollout, func(now time.Time) { complete(f)(now) }},
		}
	}
	svc.tl = tl
	return d
}

// advance runs the timeline of svc up to now.
func (w *ecsWorld) advance(svc *service, now time.Time) {
	tl := svc.tl
	if tl == nil {
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
			continue
		}
		tl.steps[tl.next].do(when)
		tl.next++
	}
}

// --- wire types ---

type ecsServiceOut struct {
	ServiceArn              string              `json:"serviceArn"`
	ServiceName             string              `json:"serviceName"`
	ClusterArn              string              `json:"clusterArn"`
	Status                  string              `json:"status"`
	DesiredCount            int                 `json:"desiredCount"`
	RunningCount            int                 `json:"runningCount"`
	PendingCount            int                 `json:"pendingCount"`
	LaunchType              string              `json:"launchType"`
	TaskDefinition          string              `json:"taskDefinition"`
	DeploymentConfiguration map[string]any      `json:"deploymentConfiguration"`
	DeploymentController    map[string]any      `json:"deploymentController"`
	Deployments             []map[string]any    `json:"deployments"`
	Events                  []map[string]any    `json:"events"`
	CreatedAt               epoch               `json:"createdAt"`
	SchedulingStrategy      string              `json:"schedulingStrategy"`
	Tags                    []map[string]string `json:"tags,omitempty"`
}

func tagList(tags map[string]string) []map[string]string {
	out := []map[string]string{}
	for _, k := range sortedKeys(tags) {
		out = append(out, map[string]string{"key": k, "value": tags[k]})
	}
	return out
}

type failure struct {
	Arn    string `json:"arn"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

func (w *ecsWorld) serviceOut(svc *service) ecsServiceOut {
	out := ecsServiceOut{
		ServiceArn: svc.arn, ServiceName: svc.spec.Name, ClusterArn: svc.cl.arn, Status: svc.status,
		DesiredCount: svc.desired, LaunchType: "FARGATE", TaskDefinition: svc.taskDef,
		DeploymentConfiguration: map[string]any{
			"deploymentCircuitBreaker": map[string]bool{"enable": svc.spec.CircuitBreaker, "rollback": svc.spec.CircuitBreaker},
			"maximumPercent":           200, "minimumHealthyPercent": 100,
		},
		DeploymentController: map[string]any{"type": svc.spec.Controller},
		CreatedAt:            epoch(svc.created),
		SchedulingStrategy:   "REPLICA",
		Deployments:          []map[string]any{},
		Events:               []map[string]any{},
	}
	for _, d := range svc.deployments {
		out.RunningCount += len(d.running)
		out.PendingCount += d.pending
		out.Deployments = append(out.Deployments, map[string]any{
			"id": d.id, "status": d.status, "taskDefinition": d.taskDef,
			"desiredCount": d.desired, "pendingCount": d.pending, "runningCount": len(d.running),
			"failedTasks": d.failed, "createdAt": epoch(d.created), "updatedAt": epoch(d.updated),
			"launchType": "FARGATE", "rolloutState": d.rolloutState, "rolloutStateReason": d.reason,
		})
	}
	for i := len(svc.events) - 1; i >= 0 && len(out.Events) < 100; i-- {
		e := svc.events[i]
		out.Events = append(out.Events, map[string]any{"id": e.id, "createdAt": epoch(e.created), "message": e.message})
	}
	return out
}

func (t *task) out() map[string]any {
	c := map[string]any{
		"containerArn": strings.Replace(t.arn, ":task/", ":container/", 1) + "/" + t.containerName,
		"taskArn":      t.arn, "name": t.containerName, "image": t.image, "lastStatus": t.lastStatus,
	}
	if t.digest != "" && !t.started.IsZero() && !t.noDigest {
		c["imageDigest"] = t.digest
	}
	if t.containerReason != "" {
		c["reason"] = t.containerReason
	}
	if t.exitCode != nil {
		c["exitCode"] = *t.exitCode
	}
	m := map[string]any{
		"taskArn": t.arn, "clusterArn": t.cl.arn, "taskDefinitionArn": t.taskDef, "group": t.group,
		"startedBy": t.startedBy, "lastStatus": t.lastStatus, "desiredStatus": t.desiredStatus,
		"launchType": "FARGATE", "createdAt": epoch(t.created), "containers": []any{c},
	}
	if !t.started.IsZero() {
		m["startedAt"] = epoch(t.started)
	}
	if !t.stopped.IsZero() {
		m["stoppedAt"] = epoch(t.stopped)
		m["stopCode"] = t.stopCode
		m["stoppedReason"] = t.stoppedReason
	}
	return m
}

// --- operations ---

func (w *ecsWorld) cluster(name string) (*cluster, *apiError) {
	if name == "" {
		name = "default"
	}
	name = name[strings.LastIndex(name, "/")+1:]
	cl, ok := w.clusters[name]
	if !ok {
		return nil, errf(400, "ClusterNotFoundException", "Cluster not found.")
	}
	return cl, nil
}

func (w *ecsWorld) handle(op string, body []byte, call *Call) (any, *apiError) {
	now := time.Now()
	switch op {
	case "DescribeClusters":
		var in struct{ Clusters []string }
		if e := decode(body, &in); e != nil {
			return nil, e
		}
		out := struct {
			Clusters []map[string]any `json:"clusters"`
			Failures []failure        `json:"failures"`
		}{[]map[string]any{}, []failure{}}
		if len(in.Clusters) == 0 {
			in.Clusters = []string{"default"}
		}
		call.Params = map[string]string{"clusters": strings.Join(in.Clusters, ",")}
		for _, n := range in.Clusters {
			cl, err := w.cluster(n)
			if err != nil {
				out.Failures = append(out.Failures, failure{Arn: w.arn("cluster/" + n), Reason: "MISSING"})
				continue
			}
			out.Clusters = append(out.Clusters, map[string]any{"clusterArn": cl.arn, "clusterName": cl.name,
				"status": "ACTIVE", "activeServicesCount": len(cl.services)})
		}
		return out, nil

	case "DescribeServices":
		var in struct {
			Cluster  string
			Services []string
			Include  []string
		}
		if e := decode(body, &in); e != nil {
			return nil, e
		}
		call.Params = map[string]string{"cluster": in.Cluster, "services": strings.Join(in.Services, ",")}
		withTags := len(in.Include) == 1 && in.Include[0] == "TAGS"
		cl, err := w.cluster(in.Cluster)
		if err != nil {
			return nil, err
		}
		if len(in.Services) == 0 { // AWS's answer: "Services cannot be empty."; at most 10 is the contract's
			return nil, errf(400, "InvalidParameterException", "Services cannot be empty.")
		}
		out := struct {
			Services []ecsServiceOut `json:"services"`
			Failures []failure       `json:"failures"`
		}{[]ecsServiceOut{}, []failure{}}
		for _, n := range in.Services {
			svc, ok := cl.services[n[strings.LastIndex(n, "/")+1:]]
			if !ok {
				out.Failures = append(out.Failures, failure{Arn: w.arn("service/" + cl.name + "/" + n), Reason: "MISSING"})
				continue
			}
			w.advance(svc, now)
			o := w.serviceOut(svc)
			if withTags {
				o.Tags = tagList(svc.tags)
			}
			out.Services = append(out.Services, o)
		}
		return out, nil

	case "TagResource", "ListTagsForResource":
		var in struct {
			ResourceArn string
			Tags        []struct{ Key, Value string }
		}
		if e := decode(body, &in); e != nil {
			return nil, e
		}
		call.Params = map[string]string{"resourceArn": in.ResourceArn}
		var svc *service
		for _, cl := range w.clusters {
			for _, s := range cl.services {
				if s.arn == in.ResourceArn {
					svc = s
				}
			}
		}
		if svc == nil {
			return nil, errf(400, "InvalidParameterException", "The specified resource is not found or is not taggable.")
		}
		if op == "ListTagsForResource" {
			return map[string]any{"tags": tagList(svc.tags)}, nil
		}
		if svc.tags == nil {
			svc.tags = map[string]string{}
		}
		for _, t := range in.Tags { // lengths and characters are the contract's
			svc.tags[t.Key] = t.Value
			call.Params["tag:"+t.Key] = t.Value
		}
		return struct{}{}, nil

	case "UpdateService":
		var in struct {
			Cluster, Service, TaskDefinition string
			ForceNewDeployment               bool
			DesiredCount                     *int
		}
		if e := decode(body, &in); e != nil {
			return nil, e
		}
		call.Params = map[string]string{"cluster": in.Cluster, "service": in.Service,
			"forceNewDeployment": fmt.Sprint(in.ForceNewDeployment)}
		cl, err := w.cluster(in.Cluster)
		if err != nil {
			return nil, err
		}
		svc, ok := cl.services[in.Service[strings.LastIndex(in.Service, "/")+1:]]
		if !ok {
			return nil, errf(400, "ServiceNotFoundException", "Service not found.")
		}
		if svc.status != "ACTIVE" {
			return nil, errf(400, "ServiceNotActiveException", "Service was not ACTIVE.")
		}
		w.advance(svc, now)
		if in.DesiredCount != nil {
			svc.desired = *in.DesiredCount
		}
		changed := false
		if in.TaskDefinition != "" && in.TaskDefinition != svc.taskDef {
			svc.taskDef = in.TaskDefinition
			changed = true
		}
		if in.ForceNewDeployment || changed {
			if svc.spec.Controller != "ECS" {
				return nil, errf(400, "InvalidParameterException",
					"Unable to update task definition on services with a %s deployment controller. Use AWS CodeDeploy to trigger a new deployment.", svc.spec.Controller)
			}
			w.startRollout(svc, now)
		}
		return map[string]any{"service": w.serviceOut(svc)}, nil

	case "ListTasks":
		var in struct {
			Cluster, ServiceName, StartedBy, DesiredStatus, NextToken string
			MaxResults                                                int
		}
		if e := decode(body, &in); e != nil {
			return nil, e
		}
		call.Params = map[string]string{"cluster": in.Cluster, "serviceName": in.ServiceName,
			"startedBy": in.StartedBy, "desiredStatus": in.DesiredStatus, "nextToken": in.NextToken}
		cl, err := w.cluster(in.Cluster)
		if err != nil {
			return nil, err
		}
		name := in.ServiceName[strings.LastIndex(in.ServiceName, "/")+1:]
		if name != "" {
			svc, ok := cl.services[name]
			if !ok {
				return nil, errf(400, "ServiceNotFoundException", "Service not found.")
			}
			w.advance(svc, now)
		} else {
			for _, svc := range cl.services {
				w.advance(svc, now)
			}
		}
		// "The default status filter is RUNNING" (API reference, ListTasks desiredStatus).
		want := in.DesiredStatus
		if want == "" {
			want = "RUNNING"
		}
		var arns []string
		for i := len(cl.tasks) - 1; i >= 0; i-- {
			t := cl.tasks[i]
			if t.desiredStatus != want || (name != "" && t.group != "service:"+name) ||
				(in.StartedBy != "" && t.startedBy != in.StartedBy) {
				continue
			}
			arns = append(arns, t.arn)
		}
		// "If this parameter isn't used, then ListTasks returns up to 100 results and a nextToken
		// value if applicable." The token is opaque: here the offset of the next page.
		size := in.MaxResults
		if size == 0 {
			size = 100
		}
		from := 0
		if in.NextToken != "" {
			if _, err := fmt.Sscanf(in.NextToken, "awsim-tasks-%d", &from); err != nil || from < 0 || from > len(arns) {
				return nil, errf(400, "InvalidParameterException", "Invalid nextToken.")
			}
		}
		out := map[string]any{"taskArns": append([]string{}, arns[from:min(from+size, len(arns))]...)}
		if from+size < len(arns) {
			out["nextToken"] = fmt.Sprintf("awsim-tasks-%d", from+size)
		}
		return out, nil

	case "DescribeTasks":
		var in struct {
			Cluster string
			Tasks   []string
		}
		if e := decode(body, &in); e != nil {
			return nil, e
		}
		call.Params = map[string]string{"cluster": in.Cluster, "tasks": fmt.Sprint(len(in.Tasks))}
		cl, err := w.cluster(in.Cluster)
		if err != nil {
			return nil, err
		}
		if len(in.Tasks) == 0 { // AWS's answer; at most 100 is the contract's
			return nil, errf(400, "InvalidParameterException", "Tasks cannot be empty.")
		}
		byArn := map[string]*task{}
		for _, t := range cl.tasks {
			byArn[t.arn] = t
			byArn[shortID(t.arn)] = t
		}
		tasks, fails := []any{}, []failure{}
		for _, a := range in.Tasks {
			if t, ok := byArn[a]; ok {
				tasks = append(tasks, t.out())
			} else {
				fails = append(fails, failure{Arn: a, Reason: "MISSING"})
			}
		}
		return map[string]any{"tasks": tasks, "failures": fails}, nil

	case "DescribeTaskDefinition":
		var in struct{ TaskDefinition string }
		if e := decode(body, &in); e != nil {
			return nil, e
		}
		call.Params = map[string]string{"taskDefinition": in.TaskDefinition}
		for _, cn := range w.order {
			cl := w.clusters[cn]
			for _, sn := range cl.order {
				svc := cl.services[sn]
				for _, td := range []string{svc.taskDef} {
					fam := td[strings.LastIndex(td, "/")+1:]
					if in.TaskDefinition == td || in.TaskDefinition == fam || in.TaskDefinition == strings.Split(fam, ":")[0] {
						return map[string]any{"taskDefinition": map[string]any{
							"taskDefinitionArn": td, "family": strings.Split(fam, ":")[0], "status": "ACTIVE",
							"revision": 1, "networkMode": "awsvpc", "requiresCompatibilities": []string{"FARGATE"},
							"cpu": "512", "memory": "1024",
							"containerDefinitions": []any{map[string]any{"name": svc.spec.Name,
								"image": w.s.ecr.imageURI(svc.spec.Image), "essential": true}},
						}}, nil
					}
				}
			}
		}
		return nil, errf(400, "ClientException", "Unable to describe task definition.")

	case "ListServiceDeployments":
		var in struct{ Cluster, Service string }
		if e := decode(body, &in); e != nil {
			return nil, e
		}
		call.Params = map[string]string{"cluster": in.Cluster, "service": in.Service}
		svc, err := w.service(in.Cluster, in.Service)
		if err != nil {
			return nil, err
		}
		w.advance(svc, now)
		list := []any{}
		for _, d := range svc.deployments {
			list = append(list, w.serviceDeployment(svc, d))
		}
		return map[string]any{"serviceDeployments": list}, nil

	case "DescribeServiceDeployments":
		var in struct{ ServiceDeploymentArns []string }
		if e := decode(body, &in); e != nil {
			return nil, e
		}
		call.Params = map[string]string{"serviceDeploymentArns": strings.Join(in.ServiceDeploymentArns, ",")}
		found, fails := []any{}, []failure{}
		for _, a := range in.ServiceDeploymentArns {
			ok := false
			for _, cl := range w.clusters {
				for _, svc := range cl.services {
					w.advance(svc, now)
					for _, d := range svc.deployments {
						if m := w.serviceDeployment(svc, d); m["serviceDeploymentArn"] == a {
							found, ok = append(found, m), true
						}
					}
				}
			}
			if !ok {
				fails = append(fails, failure{Arn: a, Reason: "MISSING"})
			}
		}
		return map[string]any{"serviceDeployments": found, "failures": fails}, nil
	}
	return nil, errf(400, "UnknownOperationException", "awsim does not implement ECS %s", op)
}

func (w *ecsWorld) service(clusterName, name string) (*service, *apiError) {
	cl, err := w.cluster(clusterName)
	if err != nil {
		return nil, err
	}
	svc, ok := cl.services[name[strings.LastIndex(name, "/")+1:]]
	if !ok {
		return nil, errf(400, "ServiceNotFoundException", "Service not found.")
	}
	return svc, nil
}

// serviceDeployment renders d in the shape of the ServiceDeployment API (2024).
func (w *ecsWorld) serviceDeployment(svc *service, d *deployment) map[string]any {
	status := map[string]string{"IN_PROGRESS": "IN_PROGRESS", "COMPLETED": "SUCCESSFUL", "FAILED": "ROLLBACK_SUCCESSFUL"}[d.rolloutState]
	m := map[string]any{
		"serviceDeploymentArn":     w.arn(fmt.Sprintf("service-deployment/%s/%s/%s", svc.cl.name, svc.spec.Name, shortID(d.id))),
		"serviceArn":               svc.arn,
		"clusterArn":               svc.cl.arn,
		"createdAt":                epoch(d.created),
		"startedAt":                epoch(d.created),
		"updatedAt":                epoch(d.updated),
		"status":                   status,
		"statusReason":             d.reason,
		"targetServiceRevisionArn": w.arn(fmt.Sprintf("service-revision/%s/%s/%s", svc.cl.name, svc.spec.Name, shortID(d.id))),
	}
	if d.rolloutState != "IN_PROGRESS" {
		m["finishedAt"] = epoch(d.updated)
	}
	return m
}

// sortedKeys returns the keys of m in order; used for stable output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
