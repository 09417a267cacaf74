package awsim

// Service deployments (the ECS API since October 2024): every UpdateService rollout is a service
// deployment with an authoritative status, a lifecycle stage and, for the strategies that shift
// traffic (BLUE_GREEN, LINEAR, CANARY), the share of production and test traffic on the target
// revision, bake time, PAUSE lifecycle hooks, alarms and rollback. They stay consistent with
// DescribeServices deployments[]: the same timeline moves both.
//
// Documented (ECS API reference, developer guide "blue/green deployment stages"): the statuses,
// the stages and their order, the traffic weights on the target revision, hookId from
// lifecycleHookDetails answered by ContinueServiceDeployment (CONTINUE or ROLLBACK),
// StopServiceDeployment ROLLBACK, ROLLBACK_SUCCESSFUL after a rollback. Inferred: the target
// revision's id equals the number of the ecs-svc deployment id; a deployment superseded by a
// newer one is STOPPED; the durations of the stages (scaled from Scenario.Rollout).

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Strategies, as deploymentConfiguration.strategy names them.
const (
	strategyRolling   = "ROLLING"
	strategyBlueGreen = "BLUE_GREEN"
	strategyLinear    = "LINEAR"
	strategyCanary    = "CANARY"
)

// Service deployment statuses that end it.
var sdTerminal = []string{"SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"}

type serviceDeployment struct {
	arn, id, strategy string
	status, reason    string
	stage             string
	prod, test        *float64 // traffic weights on the target revision; nil on ROLLING
	bake              time.Duration
	hooks             []*hookState
	rollback          *rollbackState
	alarms            []string // alarm names; empty: alarms off
	triggered         []string
	source            *deployment // the revision it replaces
	created, updated  time.Time
	finished, stopped time.Time
}

type hookState struct {
	id, stage, status string
	expires           time.Time
	// target and targetType: a PAUSE hook has none; an AWS_LAMBDA hook its function's ARN.
	target, targetType string
}

type rollbackState struct {
	reason string
	at     time.Time
	rev    string
}

// withStrategy fills a service spec's strategy settings from its scenario kind.
func withStrategy(ss ServiceSpec) ServiceSpec {
	switch ss.Scenario.Kind {
	case BlueGreen, Paused, AlarmRollback:
		ss.Strategy = cmp.Or(ss.Strategy, strategyBlueGreen)
	case Linear:
		ss.Strategy = cmp.Or(ss.Strategy, strategyLinear)
	case Canary:
		ss.Strategy = cmp.Or(ss.Strategy, strategyCanary)
	}
	ss.Strategy = cmp.Or(ss.Strategy, strategyRolling)
	if ss.Scenario.Kind == Paused {
		ss.PauseAt = cmp.Or(ss.PauseAt, "POST_TEST_TRAFFIC_SHIFT")
	}
	if ss.Scenario.Kind == AlarmRollback && len(ss.Alarms) == 0 {
		ss.Alarms = []string{ss.Name + "-target-5xx", ss.Name + "-unhealthy-hosts"}
	}
	if ss.StepPercent == 0 {
		ss.StepPercent = map[string]float64{strategyLinear: 25, strategyCanary: 10}[ss.Strategy]
	}
	return ss
}

// newServiceDeployment is the service deployment of d, replacing source.
func (w *ecsWorld) newServiceDeployment(svc *service, d, source *deployment, now time.Time) *serviceDeployment {
	sd := &serviceDeployment{id: w.s.randID(21), strategy: svc.spec.Strategy, status: "IN_PROGRESS",
		source: source, alarms: svc.spec.Alarms, created: now, updated: now}
	sd.arn = w.arn(fmt.Sprintf("service-deployment/%s/%s/%s", svc.cl.name, svc.spec.Name, sd.id))
	if sd.strategy != strategyRolling {
		zero, none := 0.0, 0.0
		sd.prod, sd.test, sd.stage = &zero, &none, "PRE_SCALE_UP"
	}
	d.sd = sd
	return sd
}

func (sd *serviceDeployment) terminal() bool { return slices.Contains(sdTerminal, sd.status) }

func (sd *serviceDeployment) set(status, reason string, now time.Time) {
	sd.status, sd.reason, sd.updated = status, reason, now
	if sd.terminal() {
		sd.finished = now
	}
}

// rollingBack starts the rollback of ours to its source: ECS marks ours FAILED and the source
// PRIMARY in deployments[]; the source completes after half a rollout.
func (w *ecsWorld) rollingBack(svc *service, ours *deployment, reason string, now time.Time, tl *timeline, after time.Duration) {
	prev := ours.sd.source
	ours.sd.set("ROLLBACK_IN_PROGRESS", reason, now)
	ours.sd.rollback = &rollbackState{reason: reason, at: now, rev: w.revisionARN(svc, prev)}
	if ours.sd.prod != nil {
		zero := 0.0
		ours.sd.prod, ours.sd.test = &zero, &zero
	}
	ours.status, ours.rolloutState, ours.reason = "ACTIVE", "FAILED", reason
	ours.pending, ours.updated = 0, now
	prev.status, prev.rolloutState, prev.reason = "PRIMARY", "IN_PROGRESS", "ECS deployment in progress."
	svc.deployments = []*deployment{prev, ours}
	svc.taskDef = prev.taskDef
	w.event(svc, now, "(service %s) (deployment %s) deployment failed: %s", svc.spec.Name, ours.id, reason)
	w.event(svc, now, "(service %s) rolling back to deployment %s.", svc.spec.Name, prev.id)
	tl.failing = false
	tl.steps = append(tl.steps[:tl.next], step{now.Sub(tl.start) + after, w.complete(svc, prev)})
}

// revisionARN is the service revision a deployment runs (inferred: the ecs-svc number).
func (w *ecsWorld) revisionARN(svc *service, d *deployment) string {
	return w.arn(fmt.Sprintf("service-revision/%s/%s/%s", svc.cl.name, svc.spec.Name, shortID(d.id)))
}

// ProductionShifted is when, after UpdateService, a BLUE_GREEN rollout of the given duration has
// all production traffic on the new revision (PRODUCTION_TRAFFIC_SHIFT to 100%), as traffic plays it.
func ProductionShifted(rollout time.Duration) time.Duration {
	return rollout/2 + rollout/4 + rollout/16
}

// traffic is the timeline of a strategy that shifts traffic: green scales up by half the rollout,
// takes all test traffic, then production traffic in steps up to the rollout's end, bakes beside
// blue, and blue is cleaned up. A PAUSE hook holds the stage it is on; AlarmRollback's alarm
// fires halfway through the bake time.
func traffic(r rolloutCtx, tl *timeline) {
	w, svc, d, sd := r.w, r.svc, r.ours, r.ours.sd
	bake := r.svc.spec.BakeTime.D()
	if bake <= 0 {
		bake = r.rollout / 2
	}
	sd.bake = bake
	stage := func(name string, f func(time.Time)) func(time.Time) {
		return func(now time.Time) {
			sd.stage, sd.updated = name, now
			if f != nil {
				f(now)
			}
			if svc.spec.PauseAt == name {
				h := &hookState{id: w.s.randID(20), stage: name, status: "AWAITING_ACTION", expires: now.Add(24 * time.Hour), targetType: "PAUSE"}
				sd.hooks = append(sd.hooks, h)
				tl.paused, tl.pausedAt = true, now
			}
			if lh := svc.spec.LambdaHook; lh != nil && cmp.Or(lh.Stage, "POST_TEST_TRAFFIC_SHIFT") == name {
				w.lambdaHook(svc, d, lh, name, now, tl, r.rollout)
			}
		}
	}
	weight := func(p *float64, v float64) { *p = v }
	R := r.rollout
	tl.steps = []step{
		{R / 8, stage("SCALE_UP", nil)},
		{R / 2, stage("POST_SCALE_UP", w.startTasks(svc, d))},
		{R/2 + R/16, stage("TEST_TRAFFIC_SHIFT", func(time.Time) { weight(sd.test, 100) })},
		{R/2 + R/8, stage("POST_TEST_TRAFFIC_SHIFT", nil)},
	}
	var shares []float64
	switch sd.strategy {
	case strategyLinear:
		for p := r.svc.spec.StepPercent; p < 100; p += r.svc.spec.StepPercent {
			shares = append(shares, math.Round(p*10)/10)
		}
	case strategyCanary:
		shares = append(shares, r.svc.spec.StepPercent)
	}
	shares = append(shares, 100)
	from, span := R/2+R/4, R/4
	for i, share := range shares {
		at := from + span*time.Duration(i)/time.Duration(len(shares))
		tl.steps = append(tl.steps,
			step{at, stage("PRE_PRODUCTION_TRAFFIC_SHIFT", nil)},
			step{at + span/time.Duration(4*len(shares)), stage("PRODUCTION_TRAFFIC_SHIFT", func(time.Time) { weight(sd.prod, share) })})
	}
	tl.steps = append(tl.steps,
		step{ProductionShifted(R), stage("POST_PRODUCTION_TRAFFIC_SHIFT", nil)},
		step{R, stage("BAKE_TIME", nil)},
	)
	switch r.sc.Kind {
	case AlarmRollback:
		tl.steps = append(tl.steps, step{R + bake/2, func(now time.Time) {
			sd.triggered = []string{sd.alarms[0]}
			w.rollingBack(svc, d, fmt.Sprintf("CloudWatch alarm %s went into ALARM during BAKE_TIME", sd.alarms[0]), now, tl, R/4)
		}})
		return
	case Rollback:
		// Green's tasks start exiting in bake time; the circuit breaker trips halfway through it.
		one := 1
		tl.reason = taskFailure{stopCode: "EssentialContainerExited", reason: "Essential container in task exited", exitCode: &one}
		tl.steps[len(tl.steps)-1].do = stage("BAKE_TIME", func(time.Time) { tl.failing = true })
		tl.steps = append(tl.steps, step{R + bake/2, func(now time.Time) {
			w.rollingBack(svc, d, "ECS deployment circuit breaker: tasks failed to start.", now, tl, R/4)
		}})
		return
	}
	tl.steps = append(tl.steps, step{R + bake, stage("CLEAN_UP", w.complete(svc, d))})
}

// --- the service deployment API ---

func (w *ecsWorld) serviceDeploymentOut(svc *service, d *deployment) serviceDeploymentOut {
	sd := d.sd
	out := serviceDeploymentOut{sdCommon: w.sdCommon(svc, sd), UpdatedAt: epoch(sd.updated), LifecycleStage: sd.stage,
		TargetServiceRevision: &revisionSummaryOut{Arn: w.revisionARN(svc, d), RequestedTaskCount: d.desired,
			RunningTaskCount: len(d.running), PendingTaskCount: d.pending,
			RequestedProductionTrafficWeight: sd.prod, RequestedTestTrafficWeight: sd.test},
		DeploymentConfiguration: &sdConfigOut{Strategy: sd.strategy, BakeTimeInMinutes: int(math.Ceil(sd.bake.Minutes())),
			DeploymentCircuitBreaker: breakerOf(svc.spec)},
		DeploymentCircuitBreaker: &sdBreakerOut{FailureCount: d.failed, Threshold: max(3, breakerThreshold(svc)), Status: "MONITORING"},
	}
	if n := breakerThreshold(svc); n > 0 {
		out.DeploymentCircuitBreaker.Threshold = n
	}
	if !svc.spec.CircuitBreaker && svc.spec.Breaker == nil {
		out.DeploymentCircuitBreaker.Status = "DISABLED"
	}
	if src := sd.source; src != nil {
		rest := 100.0
		if sd.prod != nil {
			rest = 100 - *sd.prod
		}
		s := revisionSummaryOut{Arn: w.revisionARN(svc, src), RequestedTaskCount: src.desired,
			RunningTaskCount: len(src.running), PendingTaskCount: src.pending}
		if sd.prod != nil {
			s.RequestedProductionTrafficWeight = &rest
		}
		out.SourceServiceRevisions = []revisionSummaryOut{s}
	}
	if len(sd.alarms) > 0 {
		status := "MONITORING"
		if len(sd.triggered) > 0 {
			status = "TRIGGERED"
		}
		out.Alarms = &sdAlarmsOut{AlarmNames: sd.alarms, Status: status, TriggeredAlarmNames: sd.triggered}
		out.DeploymentConfiguration.Alarms = &alarmsConfigOut{AlarmNames: sd.alarms, Enable: true, Rollback: true}
	}
	for _, h := range sd.hooks {
		ho := hookOut{HookID: h.id, Status: h.status, TargetType: h.targetType, TargetArn: h.target, ExpiresAt: epoch(h.expires)}
		if h.targetType == "PAUSE" {
			ho.TimeoutAction = "ROLLBACK"
		}
		out.LifecycleHookDetails = append(out.LifecycleHookDetails, ho)
	}
	if rb := sd.rollback; rb != nil {
		out.Rollback = &rollbackOut{Reason: rb.reason, StartedAt: epoch(rb.at), ServiceRevisionArn: rb.rev}
	}
	if !sd.stopped.IsZero() {
		at := epoch(sd.stopped)
		out.StoppedAt = &at
	}
	return out
}

func (w *ecsWorld) sdCommon(svc *service, sd *serviceDeployment) sdCommon {
	c := sdCommon{ServiceDeploymentArn: sd.arn, ServiceArn: svc.arn, ClusterArn: svc.cl.arn,
		CreatedAt: epoch(sd.created), StartedAt: epoch(sd.created), Status: sd.status, StatusReason: sd.reason}
	if !sd.finished.IsZero() {
		at := epoch(sd.finished)
		c.FinishedAt = &at
	}
	return c
}

// sdByARN finds a service deployment by ARN, advancing its service to now.
func (w *ecsWorld) sdByARN(arn string, now time.Time) (*service, *deployment, *apiError) {
	var fs *service
	var fd *deployment
	w.each(func(svc *service) {
		for _, d := range svc.history {
			if d.sd != nil && d.sd.arn == arn {
				fs, fd = svc, d
			}
		}
	})
	if fd == nil {
		return nil, nil, errf(400, "ServiceDeploymentNotFoundException", "The service deployment %s does not exist.", arn)
	}
	w.advance(fs, now)
	return fs, fd, nil
}

type listServiceDeploymentsIn struct {
	Cluster, Service string
	Status           []string
	CreatedAt        *struct{ After, Before *float64 }
}

func (w *ecsWorld) listServiceDeployments(in listServiceDeploymentsIn, call *Call, now time.Time) (any, *apiError) {
	call.Params = map[string]string{"cluster": in.Cluster, "service": in.Service, "status": strings.Join(in.Status, ",")}
	svc, err := w.service(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	w.advance(svc, now)
	out := struct {
		ServiceDeployments []serviceDeploymentBriefOut `json:"serviceDeployments"`
	}{[]serviceDeploymentBriefOut{}}
	for _, d := range svc.history {
		sd := d.sd
		if sd == nil || (len(in.Status) > 0 && !slices.Contains(in.Status, sd.status)) {
			continue
		}
		if c := in.CreatedAt; c != nil && ((c.After != nil && float64(sd.created.UnixMilli())/1000 < *c.After) ||
			(c.Before != nil && float64(sd.created.UnixMilli())/1000 > *c.Before)) {
			continue
		}
		out.ServiceDeployments = append(out.ServiceDeployments, serviceDeploymentBriefOut{w.sdCommon(svc, sd), w.revisionARN(svc, d)})
	}
	return out, nil
}

type describeServiceDeploymentsIn struct{ ServiceDeploymentArns []string }

func (w *ecsWorld) describeServiceDeployments(in describeServiceDeploymentsIn, call *Call, now time.Time) (any, *apiError) {
	call.Params = map[string]string{"serviceDeploymentArns": strings.Join(in.ServiceDeploymentArns, ",")}
	out := struct {
		ServiceDeployments []serviceDeploymentOut `json:"serviceDeployments"`
		failures
	}{[]serviceDeploymentOut{}, noFailures()}
	for _, a := range in.ServiceDeploymentArns {
		svc, d, err := w.sdByARN(a, now)
		if err != nil {
			out.missing(a)
			continue
		}
		out.ServiceDeployments = append(out.ServiceDeployments, w.serviceDeploymentOut(svc, d))
	}
	return out, nil
}

type stopServiceDeploymentIn struct{ ServiceDeploymentArn, StopType string }

func (w *ecsWorld) stopServiceDeployment(in stopServiceDeploymentIn, call *Call, now time.Time) (any, *apiError) {
	call.Params = map[string]string{"serviceDeploymentArn": in.ServiceDeploymentArn, "stopType": in.StopType}
	svc, d, err := w.sdByARN(in.ServiceDeploymentArn, now)
	if err != nil {
		return nil, err
	}
	if d.sd.terminal() || strings.HasPrefix(d.sd.status, "ROLLBACK") || d.sd.status == "STOP_REQUESTED" {
		return nil, errf(400, "ConflictException", "The service deployment is %s and cannot be stopped.", d.sd.status)
	}
	if in.StopType == "ABORT" {
		d.sd.set("STOPPED", "stopped by StopServiceDeployment (ABORT)", now)
		d.sd.stopped = now
		svc.tl = nil
	} else {
		w.s.effects.Stops[svc.cl.name+"/"+svc.spec.Name]++
		tl := svc.tl
		tl.paused = false
		w.rollingBack(svc, d, "rolled back by StopServiceDeployment", now, tl, w.rolloutOf(svc)/4)
	}
	return struct {
		ServiceDeploymentArn string `json:"serviceDeploymentArn"`
	}{d.sd.arn}, nil
}

type continueServiceDeploymentIn struct{ ServiceDeploymentArn, HookId, Action string }

func (w *ecsWorld) continueServiceDeployment(in continueServiceDeploymentIn, call *Call, now time.Time) (any, *apiError) {
	call.Params = map[string]string{"serviceDeploymentArn": in.ServiceDeploymentArn, "hookId": in.HookId, "action": in.Action}
	svc, d, err := w.sdByARN(in.ServiceDeploymentArn, now)
	if err != nil {
		return nil, err
	}
	var hook *hookState
	for _, h := range d.sd.hooks {
		if h.id == in.HookId {
			hook = h
		}
	}
	if hook == nil || hook.status != "AWAITING_ACTION" {
		return nil, errf(400, "InvalidParameterException", "The lifecycle hook %s is not awaiting action.", in.HookId)
	}
	action := cmp.Or(in.Action, "CONTINUE") // "If no value is specified, the default action is CONTINUE."
	w.s.effects.Continues[svc.cl.name+"/"+svc.spec.Name+" "+action]++
	tl := svc.tl
	tl.paused = false
	if action == "ROLLBACK" {
		hook.status = "FAILED"
		w.rollingBack(svc, d, fmt.Sprintf("rolled back at the PAUSE hook of %s", hook.stage), now, tl, w.rolloutOf(svc)/4)
	} else {
		hook.status = "SUCCEEDED"
		tl.start = tl.start.Add(now.Sub(tl.pausedAt)) // the rest of the timeline starts now
	}
	w.advance(svc, now)
	return struct {
		ServiceDeploymentArn string `json:"serviceDeploymentArn"`
	}{d.sd.arn}, nil
}

func (w *ecsWorld) rolloutOf(svc *service) time.Duration {
	if r := svc.spec.Scenario.Rollout.D(); r > 0 {
		return r
	}
	return 2 * time.Second
}

// lambdaHook runs an AWS_LAMBDA lifecycle hook at stage: IN_PROGRESS while its function answers
// so (the rest of the timeline waits for it), then SUCCEEDED (the deployment goes on) or FAILED
// (ECS rolls the deployment back). Documented (ECS developer guide, "Lifecycle hooks for Amazon
// ECS service deployments"): the function returns hookStatus SUCCEEDED, FAILED or IN_PROGRESS;
// IN_PROGRESS makes ECS invoke it again later; FAILED rolls back. Inferred: the rollback's reason
// names the hook's function and stage.
func (w *ecsWorld) lambdaHook(svc *service, d *deployment, lh *LambdaHookSpec, stage string, now time.Time, tl *timeline, rollout time.Duration) {
	runtime := lh.Runtime.D()
	if runtime <= 0 {
		runtime = rollout / 4
	}
	h := &hookState{id: w.s.randID(20), stage: stage, status: "IN_PROGRESS", expires: now.Add(time.Hour), targetType: "AWS_LAMBDA",
		target: fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", w.s.cfg.Region, w.s.cfg.Account, lh.Function)}
	d.sd.hooks = append(d.sd.hooks, h)
	// The rest of the timeline moves later by the hook's runtime; its end comes first.
	at := now.Sub(tl.start)
	tl.start = tl.start.Add(runtime)
	finish := step{at, func(end time.Time) {
		if cmp.Or(lh.Result, "SUCCEEDED") == "FAILED" {
			h.status = "FAILED"
			w.rollingBack(svc, d, fmt.Sprintf("lifecycle hook %s (%s) returned FAILED at %s", lh.Function, h.target, stage), end, tl, rollout/4)
			return
		}
		h.status = "SUCCEEDED"
	}}
	tl.steps = append(tl.steps[:tl.next], append([]step{finish}, tl.steps[tl.next:]...)...)
}
