package awsim

// CodeDeploy for ECS (awsJson1.1, target CodeDeploy_20141006): applications, deployment groups
// naming an ECS service, and blue/green deployments of it over time. A service on the
// CODE_DEPLOY controller (ServiceSpec.CodeDeploy) gets its application and deployment group, and
// a last successful deployment whose AppSpec names the service's hooks.
//
// What is modelled, and from where:
//   - documented (API reference, botocore's model): the operations' members and errors; statuses
//     (Created, Queued, InProgress, Baking, Ready, Succeeded, Failed, Stopped); lifecycle event
//     statuses (Pending, InProgress, Succeeded, Failed, Skipped); ECSTarget with lifecycleEvents
//     and taskSetsInfo (identifer, sic; Blue/Green labels, trafficWeight); errorInformation codes
//     (HOOK_EXECUTION_FAILURE, MANUAL_STOP); rollbackInfo; ListDeployments' "If applicationName is
//     specified, then deploymentGroupName must be specified."; one active deployment per group
//     (DeploymentLimitExceededException); the ECS lifecycle events in order (CodeDeploy user
//     guide, AppSpec "hooks" section for ECS): BeforeInstall, Install, AfterInstall,
//     AllowTestTraffic, AfterAllowTestTraffic, BeforeAllowTraffic, AllowTraffic, AfterAllowTraffic,
//     of which the five Before/After events take hooks;
//   - inferred: the share of the rollout each event takes; the target id "<cluster>:<service>";
//     the error message wording; that the original task set is terminated after the termination
//     wait before the deployment reports Succeeded; that the replacement task set's tasks carry
//     the task set id in startedBy.

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// CodeDeploySpec puts a service on the CODE_DEPLOY controller, in a CodeDeploy application and
// deployment group.
type CodeDeploySpec struct {
	Application string `json:"application"`
	Group       string `json:"group"`
	// Hooks are the Lambda functions of the group's last successful AppSpec, by lifecycle event.
	Hooks map[string]string `json:"hooks,omitempty"`
	// FailAt is a lifecycle event whose hook reports Failed (codedeploy-rollback).
	FailAt string `json:"failAt,omitempty"`
	// TerminationWait is how long the original task set runs after the traffic shift (scaled
	// like the rollout); default a fifth of the rollout.
	TerminationWait Duration `json:"terminationWait,omitempty"`
	// NoAutoRollback turns the group's automatic rollback on failure off.
	NoAutoRollback bool `json:"noAutoRollback,omitempty"`
	// ExtraGroups are more deployment groups of the application for the same service (a
	// misconfiguration deploystep must refuse to guess through).
	ExtraGroups []string `json:"extraGroups,omitempty"`
	// StaleTasks is how many of the replacement task set's tasks run another digest than the
	// tag's: the tag moved while they pulled it.
	StaleTasks int `json:"staleTasks,omitempty"`
}

// cdEvents are the ECS lifecycle events in order, with the share of the rollout at which each ends.
var cdEvents = []struct {
	name string
	ends float64
	hook bool
}{
	{"BeforeInstall", 0.05, true}, {"Install", 0.45, false}, {"AfterInstall", 0.5, true},
	{"AllowTestTraffic", 0.55, false}, {"AfterAllowTestTraffic", 0.65, true}, {"BeforeAllowTraffic", 0.7, true},
	{"AllowTraffic", 0.85, false}, {"AfterAllowTraffic", 0.9, true},
}

// cdHookEvents are the lifecycle events an ECS AppSpec may name hooks for.
var cdHookEvents = []string{"BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic"}

type cdWorld struct {
	s           *Server
	apps        map[string]*cdApp
	appOrder    []string
	deployments map[string]*cdDeployment
	order       []string // deployment ids, oldest first
}

type cdApp struct {
	name   string
	groups map[string]*cdGroup
	order  []string
}

type cdGroup struct {
	app, name, id  string
	svc            *service
	lastSuccessful string
	spec           CodeDeploySpec
}

type cdDeployment struct {
	id, app, group, status, description, creator string
	appSpec, taskDef                             string
	created, started, completed                  time.Time
	rollout, wait                                time.Duration
	failAt                                       string // lifecycle event that fails
	hooks                                        map[string]string
	errCode, errMessage                          string
	rollbackID, rollbackOf                       string
	greenTS                                      string      // the replacement task set's id
	green                                        *deployment // its tasks, once Install has started them
	svc                                          *service
	autoRollback                                 bool
}

func newCodeDeploy(s *Server) *cdWorld {
	w := &cdWorld{s: s, apps: map[string]*cdApp{}, deployments: map[string]*cdDeployment{}}
	s.ecs.each(func(svc *service) {
		spec := svc.spec.CodeDeploy
		if spec == nil {
			return
		}
		app, ok := w.apps[spec.Application]
		if !ok {
			app = &cdApp{name: spec.Application, groups: map[string]*cdGroup{}}
			w.apps[spec.Application] = app
			w.appOrder = append(w.appOrder, spec.Application)
		}
		g := &cdGroup{app: spec.Application, name: spec.Group, id: fmt.Sprintf("%08x-0000-4000-8000-%012x", len(w.deployments)+1, len(app.order)+1), svc: svc, spec: *spec}
		app.groups[spec.Group] = g
		app.order = append(app.order, spec.Group)
		for _, extra := range spec.ExtraGroups {
			x := *g
			x.name = extra
			app.groups[extra] = &x
			app.order = append(app.order, extra)
		}
		// The deployment that put the current task definition in place: its AppSpec carries the hooks.
		d := &cdDeployment{id: w.newID(), app: g.app, group: g.name, status: "Succeeded", creator: "user", svc: svc,
			taskDef: svc.taskDef, hooks: spec.Hooks, created: svc.created, started: svc.created, completed: svc.created.Add(10 * time.Minute)}
		d.appSpec = appSpecJSON(svc.taskDef, svc.spec.container(), 3000, spec.Hooks)
		w.add(d)
		g.lastSuccessful = d.id
	})
	return w
}

func (w *cdWorld) newID() string { return "d-" + w.s.randID(9) }

func (w *cdWorld) add(d *cdDeployment) {
	w.deployments[d.id] = d
	w.order = append(w.order, d.id)
}

// appSpecJSON is an ECS AppSpec as JSON.
func appSpecJSON(taskDef, container string, port int, hooks map[string]string) string {
	spec := map[string]any{"version": 0.0, "Resources": []any{map[string]any{"TargetService": map[string]any{
		"Type": "AWS::ECS::Service", "Properties": map[string]any{"TaskDefinition": taskDef,
			"LoadBalancerInfo": map[string]any{"ContainerName": container, "ContainerPort": port}}}}}}
	var hs []any
	for _, ev := range cdHookEvents {
		if fn, ok := hooks[ev]; ok {
			hs = append(hs, map[string]string{ev: fn})
		}
	}
	if len(hs) > 0 {
		spec["Hooks"] = hs
	}
	b, _ := json.Marshal(spec)
	return string(b)
}

// eventStatus is the status of lifecycle event i of d at now, and when it started and ended. A
// hookable event without a hook has nothing to run and succeeds as it starts; events after the
// deployment ended early (a failed hook, a stop) are skipped.
func (d *cdDeployment) eventStatus(i int, now time.Time) (status string, start, end time.Time) {
	ev := cdEvents[i]
	begin := 0.0
	if i > 0 {
		begin = cdEvents[i-1].ends
	}
	start = d.started.Add(time.Duration(begin * float64(d.rollout)))
	end = d.started.Add(time.Duration(ev.ends * float64(d.rollout)))
	if ev.hook && d.hooks[ev.name] == "" {
		end = start
	}
	ended := d.status == "Failed" || d.status == "Stopped"
	switch {
	case ended && !start.Before(d.completed):
		return "Skipped", time.Time{}, time.Time{}
	case now.Before(start):
		return "Pending", time.Time{}, time.Time{}
	case ended && d.completed.Before(end):
		return "Failed", start, d.completed
	case d.failAt == ev.name && !now.Before(end):
		return "Failed", start, end
	case now.Before(end):
		return "InProgress", start, time.Time{}
	}
	return "Succeeded", start, end
}

// advance plays d up to now: a failed hook fails it (and starts the rollback), the end of the
// termination wait succeeds it.
func (w *cdWorld) advance(d *cdDeployment, now time.Time) {
	if d.status == "Succeeded" || d.status == "Failed" || d.status == "Stopped" {
		return
	}
	if d.status == "Created" && !now.Before(d.started) {
		d.status = "InProgress"
	}
	if installed := d.started.Add(time.Duration(cdEvents[1].ends * float64(d.rollout))); d.green == nil && d.greenTS != "" && !now.Before(installed) {
		// Install: the replacement task set's tasks run the image the task definition names.
		g := w.s.ecs.newDeployment(d.svc, d.taskDef, installed)
		g.id, g.status, g.digest = d.greenTS, "ACTIVE", w.s.ecs.digestFor(d.svc, d.taskDef)
		w.s.ecs.setRunning(d.svc, g, d.svc.desired, installed)
		g.pending = 0
		for _, t := range g.running[:min(d.svc.spec.CodeDeploy.StaleTasks, len(g.running))] {
			t.digest = w.s.ecr.digestOf(d.svc.spec.Image, "previous")
		}
		d.green = g
	}
	if d.failAt != "" {
		for i, ev := range cdEvents {
			if ev.name == d.failAt {
				if st, _, end := d.eventStatus(i, now); st == "Failed" {
					d.fail(w, "HOOK_EXECUTION_FAILURE", fmt.Sprintf("The deployment failed because the %s lifecycle event hook %s reported Failed.", ev.name, d.hooks[ev.name]), end)
				}
			}
		}
	}
	done := d.started.Add(time.Duration(cdEvents[len(cdEvents)-1].ends*float64(d.rollout)) + d.wait)
	if d.status == "InProgress" && !now.Before(done) {
		d.status, d.completed = "Succeeded", done
		g := w.apps[d.app].groups[d.group]
		g.lastSuccessful = d.id
		if d.green != nil {
			// The original task set ends; the replacement is the service's only one.
			for _, old := range d.svc.deployments {
				w.s.ecs.setRunning(d.svc, old, 0, done)
			}
			d.green.status, d.green.rolloutState = "PRIMARY", "COMPLETED"
			d.svc.deployments = []*deployment{d.green}
			d.svc.taskDef = d.taskDef
		}
		d.svc.cdGreen = nil
	}
}

// fail ends d with an error and, with automatic rollback, starts the rollback deployment.
func (d *cdDeployment) fail(w *cdWorld, code, msg string, at time.Time) {
	d.status, d.errCode, d.errMessage, d.completed = "Failed", code, msg, at
	if code == "MANUAL_STOP" {
		d.status = "Stopped"
	}
	if d.green != nil {
		w.s.ecs.setRunning(d.svc, d.green, 0, at)
	}
	d.svc.cdGreen = nil
	if !d.autoRollback {
		return
	}
	prev := w.deployments[w.apps[d.app].groups[d.group].lastSuccessful]
	rb := &cdDeployment{id: w.newID(), app: d.app, group: d.group, status: "InProgress", creator: "codeDeployRollback", svc: d.svc,
		taskDef: prev.taskDef, appSpec: prev.appSpec, hooks: map[string]string{}, created: at, started: at, rollout: d.rollout / 4, rollbackOf: d.id,
		description: "Rollback of " + d.id, wait: 0}
	w.add(rb)
	d.rollbackID = rb.id
}

// --- operations ---

var cdOps = map[string]opFunc[*cdWorld]{
	"ListApplications":         op((*cdWorld).listApplications),
	"ListDeploymentGroups":     op((*cdWorld).listDeploymentGroups),
	"BatchGetDeploymentGroups": op((*cdWorld).batchGetDeploymentGroups),
	"CreateDeployment":         op((*cdWorld).createDeployment),
	"GetDeployment":            op((*cdWorld).getDeployment),
	"ListDeployments":          op((*cdWorld).listDeployments),
	"StopDeployment":           op((*cdWorld).stopDeployment),
	"ListDeploymentTargets":    op((*cdWorld).listDeploymentTargets),
	"GetDeploymentTarget":      op((*cdWorld).getDeploymentTarget),
}

func (w *cdWorld) handle(op string, body []byte, call *Call) (any, *apiError) {
	return dispatch(cdOps, w, "CodeDeploy", op, body, call)
}

func (w *cdWorld) app(name string) (*cdApp, *apiError) {
	if name == "" {
		return nil, errf(400, "ApplicationNameRequiredException", "The minimum number of required application names was not specified.")
	}
	a, ok := w.apps[name]
	if !ok {
		return nil, errf(400, "ApplicationDoesNotExistException", "No application found for name: %s", name)
	}
	return a, nil
}

func (w *cdWorld) group(app, name string) (*cdGroup, *apiError) {
	a, err := w.app(app)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, errf(400, "DeploymentGroupNameRequiredException", "The deployment group name was not specified.")
	}
	g, ok := a.groups[name]
	if !ok {
		return nil, errf(400, "DeploymentGroupDoesNotExistException", "No Deployment Group found for name: %s", name)
	}
	return g, nil
}

func (w *cdWorld) deployment(id string, now time.Time) (*cdDeployment, *apiError) {
	if id == "" {
		return nil, errf(400, "DeploymentIdRequiredException", "At least one deployment ID must be specified.")
	}
	d, ok := w.deployments[id]
	if !ok {
		return nil, errf(400, "DeploymentDoesNotExistException", "The deployment %s could not be found.", id)
	}
	w.advance(d, now)
	if d.rollbackID != "" {
		w.advance(w.deployments[d.rollbackID], now)
	}
	return d, nil
}

type listApplicationsIn struct{ NextToken string }

func (w *cdWorld) listApplications(_ listApplicationsIn, _ *Call, _ time.Time) (any, *apiError) {
	return map[string]any{"applications": append([]string{}, w.appOrder...)}, nil
}

type listDeploymentGroupsIn struct{ ApplicationName, NextToken string }

func (w *cdWorld) listDeploymentGroups(in listDeploymentGroupsIn, call *Call, _ time.Time) (any, *apiError) {
	call.Params = map[string]string{"applicationName": in.ApplicationName}
	a, err := w.app(in.ApplicationName)
	if err != nil {
		return nil, err
	}
	return map[string]any{"applicationName": a.name, "deploymentGroups": append([]string{}, a.order...)}, nil
}

type batchGetDeploymentGroupsIn struct {
	ApplicationName      string
	DeploymentGroupNames []string
}

func (w *cdWorld) batchGetDeploymentGroups(in batchGetDeploymentGroupsIn, call *Call, _ time.Time) (any, *apiError) {
	call.Params = map[string]string{"applicationName": in.ApplicationName, "deploymentGroupNames": strings.Join(in.DeploymentGroupNames, ",")}
	a, err := w.app(in.ApplicationName)
	if err != nil {
		return nil, err
	}
	if len(in.DeploymentGroupNames) > 100 {
		return nil, errf(400, "BatchLimitExceededException", "The maximum number of names or IDs allowed for this request (100) was exceeded.")
	}
	infos := []any{}
	for _, n := range in.DeploymentGroupNames {
		g, ok := a.groups[n]
		if !ok {
			continue
		}
		infos = append(infos, map[string]any{
			"applicationName": g.app, "deploymentGroupName": g.name, "deploymentGroupId": g.id,
			"computePlatform": "ECS", "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce",
			"serviceRoleArn":  fmt.Sprintf("arn:aws:iam::%s:role/ecsCodeDeployRole", w.s.cfg.Account),
			"ecsServices":     []any{map[string]string{"clusterName": g.svc.cl.name, "serviceName": g.svc.spec.Name}},
			"deploymentStyle": map[string]string{"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
			"autoRollbackConfiguration": map[string]any{"enabled": !g.spec.NoAutoRollback,
				"events": []string{"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST"}},
			"lastSuccessfulDeployment": map[string]any{"deploymentId": g.lastSuccessful, "status": "Succeeded"},
		})
	}
	return map[string]any{"deploymentGroupsInfo": infos, "errorMessage": ""}, nil
}

type createDeploymentIn struct {
	ApplicationName, DeploymentGroupName, Description string
	Revision                                          *struct {
		RevisionType   string
		AppSpecContent *struct{ Content string }
	}
	AutoRollbackConfiguration *struct{ Enabled bool }
}

func (w *cdWorld) createDeployment(in createDeploymentIn, call *Call, now time.Time) (any, *apiError) {
	call.Params = map[string]string{"applicationName": in.ApplicationName, "deploymentGroupName": in.DeploymentGroupName}
	g, err := w.group(in.ApplicationName, in.DeploymentGroupName)
	if err != nil {
		return nil, err
	}
	if in.Revision == nil {
		return nil, errf(400, "RevisionRequiredException", "The revision ID was not specified.")
	}
	if in.Revision.RevisionType != "AppSpecContent" || in.Revision.AppSpecContent == nil {
		return nil, errf(400, "InvalidRevisionException", "awsim takes ECS revisions as AppSpecContent")
	}
	taskDef, hooks, aerr := w.checkAppSpec(g, in.Revision.AppSpecContent.Content)
	if aerr != nil {
		return nil, aerr
	}
	for _, id := range w.order {
		if d := w.deployments[id]; d.app == g.app && d.group == g.name {
			w.advance(d, now)
			if d.status == "Created" || d.status == "Queued" || d.status == "InProgress" || d.status == "Ready" || d.status == "Baking" {
				return nil, errf(400, "DeploymentLimitExceededException", "The Deployment Group '%s' already has an active Deployment '%s'", g.name, d.id)
			}
		}
	}
	rollout := g.svc.spec.Scenario.Rollout.D()
	if rollout == 0 {
		rollout = 10 * time.Second
	}
	wait := g.spec.TerminationWait.D()
	if wait == 0 {
		wait = rollout / 5
	}
	auto := !g.spec.NoAutoRollback
	if in.AutoRollbackConfiguration != nil {
		auto = in.AutoRollbackConfiguration.Enabled
	}
	d := &cdDeployment{id: w.newID(), app: g.app, group: g.name, status: "Created", description: in.Description, creator: "user",
		appSpec: in.Revision.AppSpecContent.Content, taskDef: taskDef, hooks: hooks, created: now, started: now.Add(rollout / 50),
		rollout: rollout, wait: wait, failAt: g.spec.FailAt, svc: g.svc, autoRollback: auto}
	w.add(d)
	// The replacement task set: its tasks start during Install.
	ts := fmt.Sprintf("ecs-svc/%019d", 2000000000000000000+int64(w.s.nextID()))
	d.greenTS = ts
	g.svc.cdGreen = d
	w.s.effects.CodeDeployments[g.app+"/"+g.name]++
	return map[string]string{"deploymentId": d.id}, nil
}

// checkAppSpec validates an ECS AppSpec (YAML or JSON) against the group's service: the
// documented shape (version, one TargetService of Type AWS::ECS::Service with a TaskDefinition
// and LoadBalancerInfo, hooks on the five hookable events).
func (w *cdWorld) checkAppSpec(g *cdGroup, content string) (taskDef string, hooks map[string]string, err *apiError) {
	var spec struct {
		Version   any `yaml:"version"`
		Resources []map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				TaskDefinition   string `yaml:"TaskDefinition"`
				LoadBalancerInfo struct {
					ContainerName string `yaml:"ContainerName"`
					ContainerPort int    `yaml:"ContainerPort"`
				} `yaml:"LoadBalancerInfo"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
		Hooks []map[string]string `yaml:"Hooks"`
	}
	bad := func(format string, args ...any) (string, map[string]string, *apiError) {
		return "", nil, errf(400, "InvalidRevisionException", "AppSpec: "+format, args...)
	}
	if e := yaml.Unmarshal([]byte(content), &spec); e != nil {
		return bad("not YAML or JSON: %v", e)
	}
	if fmt.Sprint(spec.Version) != "0" && fmt.Sprint(spec.Version) != "0.0" {
		return bad("version must be 0.0")
	}
	if len(spec.Resources) != 1 {
		return bad("Resources must name one TargetService")
	}
	ts, ok := spec.Resources[0]["TargetService"]
	if !ok || ts.Type != "AWS::ECS::Service" {
		return bad("the TargetService must be of Type AWS::ECS::Service")
	}
	p := ts.Properties
	if p.TaskDefinition == "" || !w.s.ecs.knownTaskDef(p.TaskDefinition) {
		return bad("task definition %q is not registered", p.TaskDefinition)
	}
	if p.LoadBalancerInfo.ContainerName != g.svc.spec.container() || p.LoadBalancerInfo.ContainerPort != 3000 {
		return bad("LoadBalancerInfo %s:%d is not the service's load balancer container (%s:3000)", p.LoadBalancerInfo.ContainerName, p.LoadBalancerInfo.ContainerPort, g.svc.spec.container())
	}
	hooks = map[string]string{}
	for _, h := range spec.Hooks {
		for ev, fn := range h {
			if !slices.Contains(cdHookEvents, ev) {
				return bad("%s is not a lifecycle event that takes a hook (%s)", ev, strings.Join(cdHookEvents, ", "))
			}
			hooks[ev] = fn
		}
	}
	return p.TaskDefinition, hooks, nil
}

type deploymentIDIn struct{ DeploymentId string }

func (w *cdWorld) getDeployment(in deploymentIDIn, call *Call, now time.Time) (any, *apiError) {
	call.Params = map[string]string{"deploymentId": in.DeploymentId}
	d, err := w.deployment(in.DeploymentId, now)
	if err != nil {
		return nil, err
	}
	info := map[string]any{
		"applicationName": d.app, "deploymentGroupName": d.group, "deploymentId": d.id, "status": d.status,
		"createTime": epoch(d.created), "creator": d.creator, "computePlatform": "ECS", "description": d.description,
		"deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce",
		"deploymentStyle":      map[string]string{"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
		"revision":             map[string]any{"revisionType": "AppSpecContent", "appSpecContent": map[string]string{"content": d.appSpec}},
	}
	if !now.Before(d.started) {
		info["startTime"] = epoch(d.started)
	}
	if !d.completed.IsZero() && d.status != "InProgress" {
		info["completeTime"] = epoch(d.completed)
	}
	if d.errCode != "" {
		info["errorInformation"] = map[string]string{"code": d.errCode, "message": d.errMessage}
	}
	if d.rollbackID != "" {
		info["rollbackInfo"] = map[string]string{"rollbackDeploymentId": d.rollbackID,
			"rollbackMessage": fmt.Sprintf("Deployment %s was rolled back by %s.", d.id, d.rollbackID)}
	} else if d.rollbackOf != "" {
		info["rollbackInfo"] = map[string]string{"rollbackTriggeringDeploymentId": d.rollbackOf}
	}
	return map[string]any{"deploymentInfo": info}, nil
}

type listDeploymentsIn struct {
	ApplicationName, DeploymentGroupName, NextToken string
	IncludeOnlyStatuses                             []string
	CreateTimeRange                                 *struct{ Start, End *float64 }
}

func (w *cdWorld) listDeployments(in listDeploymentsIn, call *Call, now time.Time) (any, *apiError) {
	call.Params = map[string]string{"applicationName": in.ApplicationName, "deploymentGroupName": in.DeploymentGroupName}
	if in.ApplicationName == "" && in.DeploymentGroupName != "" {
		return nil, errf(400, "ApplicationNameRequiredException", "If deploymentGroupName is specified, then applicationName must be specified.")
	}
	if in.ApplicationName != "" {
		if _, err := w.group(in.ApplicationName, in.DeploymentGroupName); err != nil {
			return nil, err
		}
	}
	ids := []string{}
	for i := len(w.order) - 1; i >= 0; i-- { // newest first
		d := w.deployments[w.order[i]]
		w.advance(d, now)
		if in.ApplicationName != "" && (d.app != in.ApplicationName || d.group != in.DeploymentGroupName) {
			continue
		}
		if len(in.IncludeOnlyStatuses) > 0 && !slices.Contains(in.IncludeOnlyStatuses, d.status) {
			continue
		}
		if r := in.CreateTimeRange; r != nil {
			t := float64(d.created.UnixNano()) / 1e9
			if r.Start != nil && t < *r.Start || r.End != nil && t > *r.End {
				continue
			}
		}
		ids = append(ids, d.id)
	}
	return map[string]any{"deployments": ids}, nil
}

type stopDeploymentIn struct {
	DeploymentId        string
	AutoRollbackEnabled *bool
}

func (w *cdWorld) stopDeployment(in stopDeploymentIn, call *Call, now time.Time) (any, *apiError) {
	call.Params = map[string]string{"deploymentId": in.DeploymentId}
	d, err := w.deployment(in.DeploymentId, now)
	if err != nil {
		return nil, err
	}
	if d.status == "Succeeded" || d.status == "Failed" || d.status == "Stopped" {
		return nil, errf(400, "DeploymentAlreadyCompletedException", "The deployment %s is already completed.", d.id)
	}
	d.autoRollback = in.AutoRollbackEnabled == nil || *in.AutoRollbackEnabled
	d.fail(w, "MANUAL_STOP", "The deployment was stopped by the user.", now)
	w.s.effects.CodeDeployStops[d.app+"/"+d.group]++
	return map[string]string{"status": "Pending", "statusMessage": "Stopping Pending. Stop and rollback requested."}, nil
}

func (w *cdWorld) listDeploymentTargets(in deploymentIDIn, call *Call, now time.Time) (any, *apiError) {
	call.Params = map[string]string{"deploymentId": in.DeploymentId}
	d, err := w.deployment(in.DeploymentId, now)
	if err != nil {
		return nil, err
	}
	if now.Before(d.started) {
		return nil, errf(400, "DeploymentNotStartedException", "The specified deployment has not started.")
	}
	return map[string]any{"targetIds": []string{d.svc.cl.name + ":" + d.svc.spec.Name}}, nil
}

type getDeploymentTargetIn struct{ DeploymentId, TargetId string }

func (w *cdWorld) getDeploymentTarget(in getDeploymentTargetIn, call *Call, now time.Time) (any, *apiError) {
	call.Params = map[string]string{"deploymentId": in.DeploymentId, "targetId": in.TargetId}
	d, err := w.deployment(in.DeploymentId, now)
	if err != nil {
		return nil, err
	}
	if in.TargetId != d.svc.cl.name+":"+d.svc.spec.Name {
		return nil, errf(400, "DeploymentTargetDoesNotExistException", "The provided target ID does not belong to the deployment %s.", d.id)
	}
	events := []any{}
	targetStatus := "InProgress"
	for i, ev := range cdEvents {
		st, start, end := d.eventStatus(i, now)
		e := map[string]any{"lifecycleEventName": ev.name, "status": st}
		if !start.IsZero() {
			e["startTime"] = epoch(start)
		}
		if !end.IsZero() {
			e["endTime"] = epoch(end)
		}
		if st == "Failed" {
			targetStatus = "Failed"
			msg := "The deployment was stopped."
			if ev.name == d.failAt {
				msg = fmt.Sprintf("The lifecycle hook %s returned Failed.", d.hooks[ev.name])
			}
			e["diagnostics"] = map[string]string{"errorCode": "ScriptFailed", "scriptName": d.hooks[ev.name], "message": msg}
		}
		events = append(events, e)
	}
	if d.status == "Succeeded" {
		targetStatus = "Succeeded"
	}
	// Task sets: the original (Blue) and the replacement (Green), with the production traffic.
	green := 0.0
	if st, _, _ := d.eventStatus(6, now); st == "Succeeded" && d.status != "Failed" && d.status != "Stopped" {
		green = 100
	}
	greenRunning := 0
	if st, _, _ := d.eventStatus(1, now); st == "Succeeded" && d.status != "Failed" && d.status != "Stopped" {
		greenRunning = d.svc.desired
	}
	sets := []any{
		map[string]any{"identifer": "ecs-svc/1000000000000000001", "desiredCount": d.svc.desired, "pendingCount": 0, "runningCount": d.svc.desired,
			"status": "PRIMARY", "trafficWeight": 100 - green, "targetGroup": map[string]string{"name": "tsa-gallery-api-blue"}, "taskSetLabel": "Blue"},
		map[string]any{"identifer": d.greenTS, "desiredCount": d.svc.desired, "pendingCount": d.svc.desired - greenRunning, "runningCount": greenRunning,
			"status": "ACTIVE", "trafficWeight": green, "targetGroup": map[string]string{"name": "tsa-gallery-api-green"}, "taskSetLabel": "Green"},
	}
	return map[string]any{"deploymentTarget": map[string]any{"deploymentTargetType": "ECSTarget", "ecsTarget": map[string]any{
		"deploymentId": d.id, "targetId": in.TargetId, "targetArn": d.svc.arn, "lastUpdatedAt": epoch(now),
		"lifecycleEvents": events, "status": targetStatus, "taskSetsInfo": sets}}}, nil
}
