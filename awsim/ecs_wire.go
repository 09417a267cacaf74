package awsim

// The ECS wire types: what DescribeServices, DescribeTasks and the ServiceDeployment API answer,
// in awsJson1.1, and how the world renders into them.

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// failures is the failures member that the Describe operations answer beside what they found.
type failures struct {
	Failures []failure `json:"failures"`
}

// noFailures is an empty failures member (AWS answers [] rather than leaving it out).
func noFailures() failures { return failures{[]failure{}} }

// missing records that arn was not found.
func (f *failures) missing(arn string) {
	f.Failures = append(f.Failures, failure{Arn: arn, Reason: "MISSING"})
}

type failure struct {
	Arn    string `json:"arn"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

type tagOut struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type breakerOut struct {
	Enable   bool `json:"enable"`
	Rollback bool `json:"rollback"`
}

type deploymentConfigOut struct {
	DeploymentCircuitBreaker breakerOut `json:"deploymentCircuitBreaker"`
	MaximumPercent           int        `json:"maximumPercent"`
	MinimumHealthyPercent    int        `json:"minimumHealthyPercent"`
}

type controllerOut struct {
	Type string `json:"type"`
}

type deploymentOut struct {
	ID                 string `json:"id"`
	Status             string `json:"status"`
	TaskDefinition     string `json:"taskDefinition"`
	DesiredCount       int    `json:"desiredCount"`
	PendingCount       int    `json:"pendingCount"`
	RunningCount       int    `json:"runningCount"`
	FailedTasks        int    `json:"failedTasks"`
	CreatedAt          epoch  `json:"createdAt"`
	UpdatedAt          epoch  `json:"updatedAt"`
	LaunchType         string `json:"launchType"`
	RolloutState       string `json:"rolloutState"`
	RolloutStateReason string `json:"rolloutStateReason"`
}

type eventOut struct {
	ID        string `json:"id"`
	CreatedAt epoch  `json:"createdAt"`
	Message   string `json:"message"`
}

type serviceOut struct {
	ServiceArn              string              `json:"serviceArn"`
	ServiceName             string              `json:"serviceName"`
	ClusterArn              string              `json:"clusterArn"`
	Status                  string              `json:"status"`
	DesiredCount            int                 `json:"desiredCount"`
	RunningCount            int                 `json:"runningCount"`
	PendingCount            int                 `json:"pendingCount"`
	LaunchType              string              `json:"launchType"`
	TaskDefinition          string              `json:"taskDefinition"`
	DeploymentConfiguration deploymentConfigOut `json:"deploymentConfiguration"`
	DeploymentController    controllerOut       `json:"deploymentController"`
	Deployments             []deploymentOut     `json:"deployments"`
	Events                  []eventOut          `json:"events"`
	CreatedAt               epoch               `json:"createdAt"`
	SchedulingStrategy      string              `json:"schedulingStrategy"`
	Tags                    []tagOut            `json:"tags,omitempty"`
}

type containerOut struct {
	ContainerArn string `json:"containerArn"`
	TaskArn      string `json:"taskArn"`
	Name         string `json:"name"`
	Image        string `json:"image"`
	ImageDigest  string `json:"imageDigest,omitempty"`
	LastStatus   string `json:"lastStatus"`
	Reason       string `json:"reason,omitempty"`
	ExitCode     *int   `json:"exitCode,omitempty"`
}

type taskOut struct {
	TaskArn           string         `json:"taskArn"`
	ClusterArn        string         `json:"clusterArn"`
	TaskDefinitionArn string         `json:"taskDefinitionArn"`
	Group             string         `json:"group"`
	StartedBy         string         `json:"startedBy"`
	LastStatus        string         `json:"lastStatus"`
	DesiredStatus     string         `json:"desiredStatus"`
	LaunchType        string         `json:"launchType"`
	CreatedAt         epoch          `json:"createdAt"`
	StartedAt         *epoch         `json:"startedAt,omitempty"`
	StoppedAt         *epoch         `json:"stoppedAt,omitempty"`
	StopCode          string         `json:"stopCode,omitempty"`
	StoppedReason     string         `json:"stoppedReason,omitempty"`
	Containers        []containerOut `json:"containers"`
}

type serviceDeploymentOut struct {
	ServiceDeploymentArn     string `json:"serviceDeploymentArn"`
	ServiceArn               string `json:"serviceArn"`
	ClusterArn               string `json:"clusterArn"`
	CreatedAt                epoch  `json:"createdAt"`
	StartedAt                epoch  `json:"startedAt"`
	UpdatedAt                epoch  `json:"updatedAt"`
	FinishedAt               *epoch `json:"finishedAt,omitempty"`
	Status                   string `json:"status"`
	StatusReason             string `json:"statusReason"`
	TargetServiceRevisionArn string `json:"targetServiceRevisionArn"`
}

func tagList(tags map[string]string) []tagOut {
	out := []tagOut{}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, tagOut{k, tags[k]})
	}
	return out
}

func (w *ecsWorld) serviceOut(svc *service) serviceOut {
	out := serviceOut{
		ServiceArn: svc.arn, ServiceName: svc.spec.Name, ClusterArn: svc.cl.arn, Status: svc.status,
		DesiredCount: svc.desired, LaunchType: "FARGATE", TaskDefinition: svc.taskDef,
		DeploymentConfiguration: deploymentConfigOut{breakerOut{svc.spec.CircuitBreaker, svc.spec.CircuitBreaker}, 200, 100},
		DeploymentController:    controllerOut{svc.spec.Controller},
		CreatedAt:               epoch(svc.created),
		SchedulingStrategy:      "REPLICA",
		Deployments:             []deploymentOut{},
		Events:                  []eventOut{},
	}
	for _, d := range svc.deployments {
		out.RunningCount += len(d.running)
		out.PendingCount += d.pending
		out.Deployments = append(out.Deployments, deploymentOut{
			ID: d.id, Status: d.status, TaskDefinition: d.taskDef, DesiredCount: d.desired, PendingCount: d.pending,
			RunningCount: len(d.running), FailedTasks: d.failed, CreatedAt: epoch(d.created), UpdatedAt: epoch(d.updated),
			LaunchType: "FARGATE", RolloutState: d.rolloutState, RolloutStateReason: d.reason,
		})
	}
	// Newest first, at most 100, as DescribeServices lists them.
	for i := len(svc.events) - 1; i >= 0 && len(out.Events) < 100; i-- {
		e := svc.events[i]
		out.Events = append(out.Events, eventOut{e.id, epoch(e.created), e.message})
	}
	return out
}

func (t *task) out() taskOut {
	c := containerOut{ContainerArn: strings.Replace(t.arn, ":task/", ":container/", 1) + "/" + t.containerName,
		TaskArn: t.arn, Name: t.containerName, Image: t.image, LastStatus: t.lastStatus,
		Reason: t.containerReason, ExitCode: t.exitCode}
	if t.digest != "" && !t.started.IsZero() && !t.noDigest {
		c.ImageDigest = t.digest
	}
	out := taskOut{TaskArn: t.arn, ClusterArn: t.cl.arn, TaskDefinitionArn: t.taskDef, Group: t.group,
		StartedBy: t.startedBy, LastStatus: t.lastStatus, DesiredStatus: t.desiredStatus, LaunchType: "FARGATE",
		CreatedAt: epoch(t.created), Containers: []containerOut{c}}
	if !t.started.IsZero() {
		at := epoch(t.started)
		out.StartedAt = &at
	}
	if !t.stopped.IsZero() {
		at := epoch(t.stopped)
		out.StoppedAt, out.StopCode, out.StoppedReason = &at, t.stopCode, t.stoppedReason
	}
	return out
}

// serviceDeployment renders d in the shape of the ServiceDeployment API (2024).
func (w *ecsWorld) serviceDeployment(svc *service, d *deployment) serviceDeploymentOut {
	status := map[string]string{"IN_PROGRESS": "IN_PROGRESS", "COMPLETED": "SUCCESSFUL", "FAILED": "ROLLBACK_SUCCESSFUL"}[d.rolloutState]
	out := serviceDeploymentOut{
		ServiceDeploymentArn: w.arn(fmt.Sprintf("service-deployment/%s/%s/%s", svc.cl.name, svc.spec.Name, shortID(d.id))),
		ServiceArn:           svc.arn, ClusterArn: svc.cl.arn,
		CreatedAt: epoch(d.created), StartedAt: epoch(d.created), UpdatedAt: epoch(d.updated),
		Status: status, StatusReason: d.reason,
		TargetServiceRevisionArn: w.arn(fmt.Sprintf("service-revision/%s/%s/%s", svc.cl.name, svc.spec.Name, shortID(d.id))),
	}
	if d.rolloutState != "IN_PROGRESS" {
		at := epoch(d.updated)
		out.FinishedAt = &at
	}
	return out
}
