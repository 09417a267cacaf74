package awsim

// The ECS wire types: what DescribeServices, DescribeTasks and the ServiceDeployment API answer,
// in awsJson1.1, and how the world renders into them.

import (
	"cmp"
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
	Enable                 bool                `json:"enable"`
	Rollback               bool                `json:"rollback"`
	ResetOnHealthyTask     *bool               `json:"resetOnHealthyTask,omitempty"`
	ThresholdConfiguration *thresholdConfigOut `json:"thresholdConfiguration,omitempty"`
}

type thresholdConfigOut struct {
	Type  string `json:"type"`
	Value int    `json:"value"`
}

type earlySuccessOut struct {
	Enable         bool   `json:"enable"`
	HealthyPercent int    `json:"healthyPercent"`
	Cleanup        string `json:"sourceServiceRevisionCleanup"`
}

// breakerOf is a service's circuit breaker as DescribeServices shows it.
func breakerOf(ss ServiceSpec) breakerOut {
	b := breakerOut{Enable: ss.CircuitBreaker, Rollback: ss.CircuitBreaker}
	if c := ss.Breaker; c != nil {
		b.Enable, b.Rollback = true, true
		reset := c.ResetOnHealthyTask == nil || *c.ResetOnHealthyTask
		b.ResetOnHealthyTask = &reset
		b.ThresholdConfiguration = &thresholdConfigOut{cmp.Or(c.Type, "BOUNDED_PERCENT"), c.Value}
		if c.Value == 0 && c.Type != "COUNT" {
			b.ThresholdConfiguration.Value = 50
		}
	}
	return b
}

type deploymentConfigOut struct {
	Strategy                 string           `json:"strategy,omitempty"`
	BakeTimeInMinutes        int              `json:"bakeTimeInMinutes,omitempty"`
	DeploymentCircuitBreaker breakerOut       `json:"deploymentCircuitBreaker"`
	MaximumPercent           int              `json:"maximumPercent"`
	MinimumHealthyPercent    int              `json:"minimumHealthyPercent"`
	EarlySuccessCriteria     *earlySuccessOut `json:"earlySuccessCriteria,omitempty"`
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
	LoadBalancers           []loadBalancerOut   `json:"loadBalancers"`
	TaskSets                []taskSetOut        `json:"taskSets,omitempty"`
	PlatformVersion         string              `json:"platformVersion"`
	NetworkConfiguration    networkConfigOut    `json:"networkConfiguration"`
}

// networkConfigOut is a service's awsvpc configuration: the lab's private subnets and the
// service's security group.
type networkConfigOut struct {
	AwsvpcConfiguration struct {
		Subnets        []string `json:"subnets"`
		SecurityGroups []string `json:"securityGroups"`
		AssignPublicIP string   `json:"assignPublicIp"`
	} `json:"awsvpcConfiguration"`
}

// Subnets and SecurityGroup are the network every service of a world runs in.
var (
	Subnets       = []string{"subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"}
	SecurityGroup = "sg-0123456789abcdef0"
)

type loadBalancerOut struct {
	TargetGroupArn string `json:"targetGroupArn"`
	ContainerName  string `json:"containerName"`
	ContainerPort  int    `json:"containerPort"`
}

// taskSetOut is a task set of a service on the CODE_DEPLOY controller.
type taskSetOut struct {
	ID                   string `json:"id"`
	TaskSetArn           string `json:"taskSetArn"`
	Status               string `json:"status"`
	TaskDefinition       string `json:"taskDefinition"`
	ComputedDesiredCount int    `json:"computedDesiredCount"`
	RunningCount         int    `json:"runningCount"`
	PendingCount         int    `json:"pendingCount"`
	ExternalID           string `json:"externalId,omitempty"`
	StartedBy            string `json:"startedBy,omitempty"`
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
	Overrides         any            `json:"overrides,omitempty"`
}

type revisionSummaryOut struct {
	Arn                              string   `json:"arn"`
	RequestedTaskCount               int      `json:"requestedTaskCount"`
	RunningTaskCount                 int      `json:"runningTaskCount"`
	PendingTaskCount                 int      `json:"pendingTaskCount"`
	RequestedProductionTrafficWeight *float64 `json:"requestedProductionTrafficWeight,omitempty"`
	RequestedTestTrafficWeight       *float64 `json:"requestedTestTrafficWeight,omitempty"`
}

type alarmsConfigOut struct {
	AlarmNames []string `json:"alarmNames"`
	Enable     bool     `json:"enable"`
	Rollback   bool     `json:"rollback"`
}

type sdConfigOut struct {
	Strategy                 string           `json:"strategy"`
	BakeTimeInMinutes        int              `json:"bakeTimeInMinutes,omitempty"`
	DeploymentCircuitBreaker breakerOut       `json:"deploymentCircuitBreaker"`
	Alarms                   *alarmsConfigOut `json:"alarms,omitempty"`
}

type sdBreakerOut struct {
	FailureCount int    `json:"failureCount"`
	Threshold    int    `json:"threshold"`
	Status       string `json:"status"`
}

type sdAlarmsOut struct {
	AlarmNames          []string `json:"alarmNames"`
	Status              string   `json:"status"`
	TriggeredAlarmNames []string `json:"triggeredAlarmNames,omitempty"`
}

type hookOut struct {
	HookID        string `json:"hookId"`
	Status        string `json:"status"`
	TargetType    string `json:"targetType"`
	TargetArn     string `json:"targetArn,omitempty"`
	TimeoutAction string `json:"timeoutAction,omitempty"`
	ExpiresAt     epoch  `json:"expiresAt"`
}

type rollbackOut struct {
	Reason             string `json:"reason"`
	StartedAt          epoch  `json:"startedAt"`
	ServiceRevisionArn string `json:"serviceRevisionArn"`
}

// sdCommon is what ListServiceDeployments' brief and DescribeServiceDeployments' full shape share.
type sdCommon struct {
	ServiceDeploymentArn string `json:"serviceDeploymentArn"`
	ServiceArn           string `json:"serviceArn"`
	ClusterArn           string `json:"clusterArn"`
	CreatedAt            epoch  `json:"createdAt"`
	StartedAt            epoch  `json:"startedAt"`
	FinishedAt           *epoch `json:"finishedAt,omitempty"`
	Status               string `json:"status"`
	StatusReason         string `json:"statusReason"`
}

type serviceDeploymentOut struct {
	sdCommon
	UpdatedAt                epoch                `json:"updatedAt"`
	StoppedAt                *epoch               `json:"stoppedAt,omitempty"`
	LifecycleStage           string               `json:"lifecycleStage,omitempty"`
	TargetServiceRevision    *revisionSummaryOut  `json:"targetServiceRevision"`
	SourceServiceRevisions   []revisionSummaryOut `json:"sourceServiceRevisions,omitempty"`
	DeploymentConfiguration  *sdConfigOut         `json:"deploymentConfiguration"`
	DeploymentCircuitBreaker *sdBreakerOut        `json:"deploymentCircuitBreaker,omitempty"`
	Alarms                   *sdAlarmsOut         `json:"alarms,omitempty"`
	LifecycleHookDetails     []hookOut            `json:"lifecycleHookDetails,omitempty"`
	Rollback                 *rollbackOut         `json:"rollback,omitempty"`
}

type serviceDeploymentBriefOut struct {
	sdCommon
	TargetServiceRevisionArn string `json:"targetServiceRevisionArn"`
}

// bakeMinutes is bakeTimeInMinutes of a strategy that shifts traffic (0 otherwise).
func bakeMinutes(svc *service) int {
	if svc.spec.Strategy == "" || svc.spec.Strategy == strategyRolling {
		return 0
	}
	return max(1, int(svc.spec.BakeTime.D().Minutes()))
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
		DeploymentConfiguration: deploymentConfigOut{svc.spec.Strategy, bakeMinutes(svc), breakerOf(svc.spec), 200, cmpInt(svc.spec.MinimumHealthyPercent, 100), nil},
		DeploymentController:    controllerOut{svc.spec.Controller},
		CreatedAt:               epoch(svc.created),
		SchedulingStrategy:      "REPLICA",
		PlatformVersion:         "LATEST",
		Deployments:             []deploymentOut{},
		Events:                  []eventOut{},
		LoadBalancers:           []loadBalancerOut{},
	}
	if lb, ok := w.loadBalancerOf(svc); ok {
		out.LoadBalancers = append(out.LoadBalancers, loadBalancerOut{lb.targetGroups[0].arn, svc.spec.container(), 3000})
	}
	if es := svc.spec.EarlySuccess; es != nil {
		out.DeploymentConfiguration.EarlySuccessCriteria = &earlySuccessOut{true, es.HealthyPercent, es.Cleanup}
	}
	out.NetworkConfiguration.AwsvpcConfiguration.Subnets = Subnets
	out.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups = []string{SecurityGroup}
	out.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIP = "DISABLED"
	if svc.spec.Controller == "CODE_DEPLOY" {
		for _, d := range svc.deployments {
			out.TaskSets = append(out.TaskSets, taskSetOut{ID: d.id, TaskSetArn: w.arn("task-set/" + svc.cl.name + "/" + svc.spec.Name + "/" + d.id),
				Status: "PRIMARY", TaskDefinition: d.taskDef, ComputedDesiredCount: d.desired, RunningCount: len(d.running), PendingCount: d.pending})
		}
		if cd := svc.cdGreen; cd != nil && cd.green != nil {
			g := cd.green
			out.TaskSets = append(out.TaskSets, taskSetOut{ID: g.id, TaskSetArn: w.arn("task-set/" + svc.cl.name + "/" + svc.spec.Name + "/" + g.id),
				Status: "ACTIVE", TaskDefinition: g.taskDef, ComputedDesiredCount: g.desired, RunningCount: len(g.running), PendingCount: g.pending,
				ExternalID: cd.id, StartedBy: "CodeDeploy"})
		}
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
	if t.run != nil {
		out.Containers, out.Overrides = t.run.containersOut(t, c), t.run.overrides
		if out.Overrides == nil {
			out.Overrides = map[string]any{"containerOverrides": []any{}}
		}
	}
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

func cmpInt(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}
