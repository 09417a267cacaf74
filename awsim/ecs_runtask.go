package awsim

// Standalone tasks: RunTask, their lifecycle over time, StopTask (ECS API reference 2014-11-13,
// and the Developer Guide's "Amazon ECS task lifecycle").
//
//   - RunTask starts count tasks of a revision in a cluster (group "family:<family>" unless
//     given, "The default value is the family name of the task definition"), with the overrides
//     sent; a revision in awsvpc mode needs networkConfiguration ("This parameter is required
//     for task definitions that use the awsvpc network mode"); an override names a container of
//     the revision. Capacity that is not there is not an error: the answer's failures[] says why
//     and no task starts (RunTaskSpec.Failure).
//   - clientToken makes it idempotent per cluster: the same token with the same parameters
//     within 24 hours answers the original tasks and starts none; with other parameters it is
//     ConflictException ("Ensuring idempotency", Idempotency for RunTask).
//   - A task goes PROVISIONING, PENDING, RUNNING, then STOPPED: its essential container exits
//     (stopCode EssentialContainerExited, the container's exitCode), or it never starts
//     (TaskFailedToStart, a CannotPullContainerError as stoppedReason), or StopTask stops it
//     (UserInitiated, the reason given). While it runs, the overridden container writes its log
//     lines to its awslogs stream, prefix/container/task id (logs.go).
//   - desiredStatus turns STOPPED when the task stops, so ListTasks finds a stopped task by
//     desiredStatus STOPPED (with family), and a running one by startedBy alone.

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// RunTaskSpec is how the world's standalone tasks (RunTask) behave: a migration.
type RunTaskSpec struct {
	// Runtime is how long a task runs before its essential container exits (default 2s).
	Runtime Duration `json:"runtime,omitempty"`
	// ExitCode is the exit code of the container the overrides name (default 0).
	ExitCode int `json:"exitCode,omitempty"`
	// Logs are the lines that container writes, spread over Runtime.
	Logs []string `json:"logs,omitempty"`
	// Failure makes RunTask start nothing and answer failures[] with this reason, as ECS does
	// for capacity it does not have ("RESOURCE:MEMORY", "Capacity is unavailable at this time").
	Failure string `json:"failure,omitempty"`
	// NotStarted stops each task before its containers run (stopCode TaskFailedToStart) with
	// this stoppedReason, like "CannotPullContainerError: ...".
	NotStarted string `json:"notStarted,omitempty"`
	// Never keeps the task running until StopTask.
	Never bool `json:"never,omitempty"`
}

// run is what a standalone task adds to a task: its spec, overrides, log stream and lines.
type run struct {
	spec       RunTaskSpec
	overrides  any    // as sent
	container  string // the container the overrides name ("" when none)
	command    []string
	logGroup   string
	logStream  string
	logged     int // lines written so far
	containers []runContainer
}

type runContainer struct {
	name, image string
	essential   bool
}

// clientTokenTTL is how long RunTask remembers a client token ("The RunTask client token is
// valid for 24 hours", Ensuring idempotency).
const clientTokenTTL = 24 * time.Hour

type tokenUse struct {
	params string
	tasks  []*task
	at     time.Time
}

type runTaskIn struct {
	Cluster                  string          `json:"cluster"`
	TaskDefinition           string          `json:"taskDefinition"`
	Count                    int             `json:"count"`
	StartedBy                string          `json:"startedBy"`
	Group                    string          `json:"group"`
	ClientToken              string          `json:"clientToken"`
	LaunchType               string          `json:"launchType"`
	PlatformVersion          string          `json:"platformVersion"`
	CapacityProviderStrategy json.RawMessage `json:"capacityProviderStrategy"`
	NetworkConfiguration     *struct {
		AwsvpcConfiguration struct {
			Subnets        []string `json:"subnets"`
			SecurityGroups []string `json:"securityGroups"`
			AssignPublicIP string   `json:"assignPublicIp"`
		} `json:"awsvpcConfiguration"`
	} `json:"networkConfiguration"`
	Overrides *struct {
		ContainerOverrides []struct {
			Name    string   `json:"name"`
			Command []string `json:"command"`
		} `json:"containerOverrides"`
	} `json:"overrides"`
}

func (w *ecsWorld) runTask(in runTaskIn, call *Call, now time.Time) (any, *apiError) {
	call.Params = map[string]string{"cluster": in.Cluster, "taskDefinition": in.TaskDefinition, "startedBy": in.StartedBy,
		"clientToken": in.ClientToken, "launchType": in.LaunchType}
	cl, aerr := w.cluster(in.Cluster)
	if aerr != nil {
		return nil, aerr
	}
	r, aerr := w.revisionOf(in.TaskDefinition)
	if aerr != nil {
		return nil, aerr
	}
	if r.status != "ACTIVE" {
		return nil, errf(400, "ClientException", "TaskDefinition is inactive")
	}
	if mode, _ := r.body["networkMode"].(string); mode == "awsvpc" && (in.NetworkConfiguration == nil || len(in.NetworkConfiguration.AwsvpcConfiguration.Subnets) == 0) {
		return nil, errf(400, "InvalidParameterException", "Network Configuration must be provided when networkMode 'awsvpc' is specified.")
	}
	ru := run{spec: w.s.cfg.RunTasks, containers: r.containers()}
	if in.Overrides != nil {
		for _, o := range in.Overrides.ContainerOverrides {
			if !r.hasContainer(o.Name) {
				return nil, errf(400, "InvalidParameterException", "Override for container named %s is not a container in the TaskDefinition.", o.Name)
			}
			if o.Command != nil {
				ru.container, ru.command = o.Name, o.Command
			}
		}
		ru.overrides = in.Overrides
	}
	if cmd, err := json.Marshal(ru.command); err == nil && ru.command != nil {
		call.Params["container"], call.Params["command"] = ru.container, string(cmd)
	}
	if nc := in.NetworkConfiguration; nc != nil {
		a := nc.AwsvpcConfiguration
		call.Params["subnets"], call.Params["securityGroups"], call.Params["assignPublicIp"] = strings.Join(a.Subnets, ","), strings.Join(a.SecurityGroups, ","), a.AssignPublicIP
	}
	call.Params["platformVersion"] = in.PlatformVersion
	if ru.container == "" && len(ru.containers) > 0 {
		ru.container = ru.containers[0].name
	}
	ru.logGroup, ru.logStream = r.logsOf(ru.container)
	// The parameters a token must be used with again: the whole request but the token.
	params, _ := json.Marshal(struct {
		runTaskIn
		ClientToken string `json:"clientToken,omitempty"`
	}{runTaskIn: in})
	if in.ClientToken != "" {
		if cl.tokens == nil {
			cl.tokens = map[string]tokenUse{}
		}
		if u, ok := cl.tokens[in.ClientToken]; ok && now.Sub(u.at) < clientTokenTTL {
			if u.params != string(params) {
				return nil, errf(400, "ConflictException", "The request uses the same client token as a previous, but non-identical request. Do not reuse a client token with different requests, unless the requests are identical.")
			}
			return runTaskOut(u.tasks, nil), nil
		}
	}
	if ru.spec.Failure != "" {
		return runTaskOut(nil, []map[string]string{{"arn": r.arn, "reason": ru.spec.Failure}}), nil
	}
	count := max(in.Count, 1)
	group := in.Group
	if group == "" {
		group = "family:" + r.family
	}
	var started []*task
	for i := 0; i < count; i++ {
		id := fmt.Sprintf("%032x", sha256.Sum256([]byte(fmt.Sprintf("run-%d", w.s.nextID()))))[:32]
		rr := ru
		if rr.logStream != "" {
			rr.logStream += "/" + id
		}
		t := &task{arn: w.arn("task/" + cl.name + "/" + id), taskDef: r.arn, group: group, startedBy: in.StartedBy,
			lastStatus: "PROVISIONING", desiredStatus: "RUNNING", containerName: rr.container, image: r.image(rr.container),
			created: now, cl: cl, run: &rr, launchType: in.LaunchType}
		if img := t.image; strings.Contains(img, "@") {
			_, t.digest, _ = strings.Cut(img, "@")
		}
		cl.tasks = append(cl.tasks, t)
		started = append(started, t)
		w.s.effects.RunTasks[r.family]++
	}
	if in.ClientToken != "" {
		cl.tokens[in.ClientToken] = tokenUse{params: string(params), tasks: started, at: now}
	}
	return runTaskOut(started, nil), nil
}

func runTaskOut(tasks []*task, failures []map[string]string) any {
	out := struct {
		Tasks    []taskOut           `json:"tasks"`
		Failures []map[string]string `json:"failures"`
	}{Tasks: []taskOut{}, Failures: failures}
	if out.Failures == nil {
		out.Failures = []map[string]string{}
	}
	for _, t := range tasks {
		out.Tasks = append(out.Tasks, t.out())
	}
	return out
}

// runStart is how long a standalone task takes from RunTask to RUNNING.
func (ru *run) runStart() time.Duration { return max(ru.spec.Runtime.D()/10, 200*time.Millisecond) }

// advanceRun plays a standalone task's lifecycle up to now; the caller holds Server.mu.
func (w *ecsWorld) advanceRun(t *task, now time.Time) {
	ru := t.run
	if ru == nil || t.lastStatus == "STOPPED" {
		return
	}
	start := t.created.Add(ru.runStart())
	if now.Before(start) {
		if now.Sub(t.created) > ru.runStart()/2 {
			t.lastStatus = "PENDING"
		}
		return
	}
	if ru.spec.NotStarted != "" {
		w.stopTask(t, start, taskFailure{stopCode: "TaskFailedToStart", reason: ru.spec.NotStarted,
			containerReason: ru.spec.NotStarted})
		return
	}
	if t.started.IsZero() {
		t.lastStatus, t.started = "RUNNING", start
	}
	runtime := ru.spec.Runtime.D()
	if runtime == 0 {
		runtime = 2 * time.Second
	}
	end := start.Add(runtime)
	// Lines are written evenly over the runtime, the last one just before the container exits.
	for ru.logged < len(ru.spec.Logs) {
		at := start.Add(runtime * time.Duration(ru.logged+1) / time.Duration(len(ru.spec.Logs)+1))
		if at.After(now) {
			break
		}
		w.s.logs.put(ru.logGroup, ru.logStream, at, ru.spec.Logs[ru.logged])
		ru.logged++
	}
	if ru.spec.Never || now.Before(end) {
		return
	}
	code := ru.spec.ExitCode
	w.stopTask(t, end, taskFailure{stopCode: "EssentialContainerExited", reason: "Essential container in task exited", exitCode: &code})
}

// containersOut are a standalone task's containers: main (the one the overrides name) as the
// task has it, the others exiting 0 when it stops.
func (ru *run) containersOut(t *task, main containerOut) []containerOut {
	var out []containerOut
	for _, c := range ru.containers {
		if c.name == ru.container {
			out = append(out, main)
			continue
		}
		o := containerOut{ContainerArn: strings.Replace(t.arn, ":task/", ":container/", 1) + "/" + c.name,
			TaskArn: t.arn, Name: c.name, Image: c.image, LastStatus: t.lastStatus}
		if t.lastStatus == "STOPPED" && !t.started.IsZero() {
			zero := 0
			o.ExitCode = &zero
		}
		out = append(out, o)
	}
	return out
}

// advanceRuns plays every standalone task of the world up to now.
func (w *ecsWorld) advanceRuns(now time.Time) {
	for _, name := range w.order {
		for _, t := range w.clusters[name].tasks {
			w.advanceRun(t, now)
		}
	}
}

type stopTaskIn struct {
	Cluster, Task, Reason string
}

func (w *ecsWorld) stopTaskOp(in stopTaskIn, call *Call, now time.Time) (any, *apiError) {
	call.Params = map[string]string{"cluster": in.Cluster, "task": in.Task}
	cl, aerr := w.cluster(in.Cluster)
	if aerr != nil {
		return nil, aerr
	}
	for _, t := range cl.tasks {
		if t.arn != in.Task && shortID(t.arn) != in.Task {
			continue
		}
		w.advanceRun(t, now)
		if t.lastStatus != "STOPPED" {
			reason := in.Reason
			if reason == "" {
				reason = "Task stopped by user"
			}
			var code *int
			if !t.started.IsZero() {
				c := 143 // SIGTERM's exit: the container was stopped
				code = &c
			}
			w.stopTask(t, now, taskFailure{stopCode: "UserInitiated", reason: reason, exitCode: code})
			w.s.effects.TaskStops[shortID(t.arn)]++
		}
		return map[string]any{"task": t.out()}, nil
	}
	return nil, errf(400, "InvalidParameterException", "The referenced task was not found.")
}

// containers are the revision's container definitions, by name, image and essential.
func (r *revision) containers() []runContainer {
	defs, _ := r.body["containerDefinitions"].([]any)
	var out []runContainer
	for _, d := range defs {
		c, _ := d.(map[string]any)
		name, _ := c["name"].(string)
		img, _ := c["image"].(string)
		ess, set := c["essential"].(bool)
		out = append(out, runContainer{name: name, image: img, essential: ess || !set}) // essential by default
	}
	return out
}

func (r *revision) hasContainer(name string) bool {
	for _, c := range r.containers() {
		if c.name == name {
			return true
		}
	}
	return false
}

// logsOf is a container's awslogs group and stream prefix ("prefix/container"; "" when it does
// not log to CloudWatch with a prefix).
func (r *revision) logsOf(container string) (group, stream string) {
	defs, _ := r.body["containerDefinitions"].([]any)
	for _, d := range defs {
		c, _ := d.(map[string]any)
		if c["name"] != container {
			continue
		}
		lc, _ := c["logConfiguration"].(map[string]any)
		if lc["logDriver"] != "awslogs" {
			return "", ""
		}
		opts, _ := lc["options"].(map[string]any)
		group, _ = opts["awslogs-group"].(string)
		prefix, _ := opts["awslogs-stream-prefix"].(string)
		if prefix == "" {
			return group, ""
		}
		return group, prefix + "/" + container
	}
	return "", ""
}

// StandaloneTask is a task RunTask started, as tests and the bench read it.
type StandaloneTask struct {
	ARN, StartedBy, LastStatus string
	Stopped                    time.Time
}

// StandaloneTasks are the tasks RunTask started in the world, oldest first, as they are now.
func (s *Server) StandaloneTasks() []StandaloneTask {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.ecs.advanceRuns(now)
	var out []StandaloneTask
	for _, name := range s.ecs.order {
		for _, t := range s.ecs.clusters[name].tasks {
			if t.run != nil {
				out = append(out, StandaloneTask{ARN: t.arn, StartedBy: t.startedBy, LastStatus: t.lastStatus, Stopped: t.stopped})
			}
		}
	}
	return out
}
