package awsim

// The ECS API on awsJson1.1: an operation → method table, each method with a typed input and a
// typed output. The contract (contract.go) has checked the input before a method runs; a method
// advances the services it reads to now (ecs_world.go) and answers.

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// opFunc is one operation of a service's world W: it decodes its input, runs, and returns the
// output or AWS's error. The ECS and CodeDeploy tables are made of them.
type opFunc[W any] func(w W, body []byte, call *Call, now time.Time) (any, *apiError)

// op adapts a method with a typed input to an opFunc.
func op[W, In any](m func(W, In, *Call, time.Time) (any, *apiError)) opFunc[W] {
	return func(w W, body []byte, call *Call, now time.Time) (any, *apiError) {
		var in In
		if e := decode(body, &in); e != nil {
			return nil, e
		}
		return m(w, in, call, now)
	}
}

// dispatch runs the operation name of svc's table on w, now.
func dispatch[W any](ops map[string]opFunc[W], w W, svc, name string, body []byte, call *Call) (any, *apiError) {
	m, ok := ops[name]
	if !ok {
		return nil, errf(400, "UnknownOperationException", "awsim does not implement %s %s", svc, name)
	}
	return m(w, body, call, time.Now())
}

var ecsOps = map[string]opFunc[*ecsWorld]{
	"DescribeClusters":           op((*ecsWorld).describeClusters),
	"DescribeServices":           op((*ecsWorld).describeServices),
	"UpdateService":              op((*ecsWorld).updateService),
	"TagResource":                op((*ecsWorld).tagResource),
	"ListTagsForResource":        op((*ecsWorld).listTagsForResource),
	"ListTasks":                  op((*ecsWorld).listTasks),
	"DescribeTasks":              op((*ecsWorld).describeTasks),
	"DescribeTaskDefinition":     op((*ecsWorld).describeTaskDefinition),
	"ListTaskDefinitions":        op((*ecsWorld).listTaskDefinitions),
	"RegisterTaskDefinition":     op((*ecsWorld).registerTaskDefinition),
	"ListServiceDeployments":     op((*ecsWorld).listServiceDeployments),
	"DescribeServiceDeployments": op((*ecsWorld).describeServiceDeployments),
	"StopServiceDeployment":      op((*ecsWorld).stopServiceDeployment),
	"ContinueServiceDeployment":  op((*ecsWorld).continueServiceDeployment),
	"RunTask":                    op((*ecsWorld).runTask),
	"StopTask":                   op((*ecsWorld).stopTaskOp),
}

func (w *ecsWorld) handle(op string, body []byte, call *Call) (any, *apiError) {
	return dispatch(ecsOps, w, "ECS", op, body, call)
}

// --- lookups: the one way to find a cluster, a service or a tagged resource ---

// cluster finds a cluster by name or ARN; "" is the default cluster.
func (w *ecsWorld) cluster(name string) (*cluster, *apiError) {
	if name == "" {
		name = "default"
	}
	cl, ok := w.clusters[shortID(name)]
	if !ok {
		return nil, errf(400, "ClusterNotFoundException", "Cluster not found.")
	}
	return cl, nil
}

// service finds a service of a cluster by name or ARN.
func (w *ecsWorld) service(clusterName, name string) (*service, *apiError) {
	cl, err := w.cluster(clusterName)
	if err != nil {
		return nil, err
	}
	svc, ok := cl.services[shortID(name)]
	if !ok {
		return nil, errf(400, "ServiceNotFoundException", "Service not found.")
	}
	return svc, nil
}

// each calls f for every service, in the order of the configuration.
func (w *ecsWorld) each(f func(*service)) {
	for _, cn := range w.order {
		cl := w.clusters[cn]
		for _, sn := range cl.order {
			f(cl.services[sn])
		}
	}
}

// --- operations ---

type describeClustersIn struct{ Clusters []string }

type clusterOut struct {
	ClusterArn          string `json:"clusterArn"`
	ClusterName         string `json:"clusterName"`
	Status              string `json:"status"`
	ActiveServicesCount int    `json:"activeServicesCount"`
}

func (w *ecsWorld) describeClusters(in describeClustersIn, call *Call, _ time.Time) (any, *apiError) {
	if len(in.Clusters) == 0 {
		in.Clusters = []string{"default"}
	}
	call.Params = map[string]string{"clusters": strings.Join(in.Clusters, ",")}
	out := struct {
		Clusters []clusterOut `json:"clusters"`
		failures
	}{[]clusterOut{}, noFailures()}
	for _, n := range in.Clusters {
		cl, err := w.cluster(n)
		if err != nil {
			out.missing(w.arn("cluster/" + n))
			continue
		}
		out.Clusters = append(out.Clusters, clusterOut{cl.arn, cl.name, "ACTIVE", len(cl.services)})
	}
	return out, nil
}

type describeServicesIn struct {
	Cluster  string
	Services []string
	Include  []string
}

func (w *ecsWorld) describeServices(in describeServicesIn, call *Call, now time.Time) (any, *apiError) {
	call.Params = map[string]string{"cluster": in.Cluster, "services": strings.Join(in.Services, ",")}
	cl, err := w.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if len(in.Services) == 0 { // AWS's answer; at most 10 is the contract's
		return nil, errf(400, "InvalidParameterException", "Services cannot be empty.")
	}
	out := struct {
		Services []serviceOut `json:"services"`
		failures
	}{[]serviceOut{}, noFailures()}
	for _, n := range in.Services {
		svc, err := w.service(in.Cluster, n)
		if err != nil {
			out.missing(w.arn("service/" + cl.name + "/" + n))
			continue
		}
		w.advance(svc, now)
		o := w.serviceOut(svc)
		if slices.Contains(in.Include, "TAGS") {
			o.Tags = tagList(svc.tags)
		}
		out.Services = append(out.Services, o)
	}
	return out, nil
}

type updateServiceIn struct {
	Cluster, Service, TaskDefinition string
	ForceNewDeployment               bool
	DesiredCount                     *int
}

func (w *ecsWorld) updateService(in updateServiceIn, call *Call, now time.Time) (any, *apiError) {
	call.Params = map[string]string{"cluster": in.Cluster, "service": in.Service, "forceNewDeployment": fmt.Sprint(in.ForceNewDeployment), "taskDefinition": in.TaskDefinition}
	if in.DesiredCount != nil {
		call.Params["desiredCount"] = fmt.Sprint(*in.DesiredCount)
	}
	svc, err := w.service(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	if svc.status != "ACTIVE" {
		return nil, errf(400, "ServiceNotActiveException", "Service was not ACTIVE.")
	}
	w.advance(svc, now)
	if in.DesiredCount != nil {
		svc.desired = *in.DesiredCount
	}
	changed := false
	if in.TaskDefinition != "" {
		r, aerr := w.revisionOf(in.TaskDefinition)
		if aerr != nil {
			return nil, errf(400, "ClientException", "TaskDefinition not found.")
		}
		if r.status != "ACTIVE" {
			return nil, errf(400, "ClientException", "TaskDefinition is inactive")
		}
		changed = r.arn != svc.taskDef
		svc.taskDef = r.arn
	}
	if in.ForceNewDeployment || changed {
		if svc.spec.Controller != "ECS" {
			return nil, errf(400, "InvalidParameterException",
				"Unable to update task definition on services with a %s deployment controller. Use AWS CodeDeploy to trigger a new deployment.", svc.spec.Controller)
		}
		w.startRollout(svc, now)
	}
	return struct {
		Service serviceOut `json:"service"`
	}{w.serviceOut(svc)}, nil
}

type tagResourceIn struct {
	ResourceArn string
	Tags        []struct{ Key, Value string }
}

// tagged finds the service a tagging call names by ARN.
func (w *ecsWorld) tagged(arn string) (*service, *apiError) {
	var found *service
	w.each(func(s *service) {
		if s.arn == arn {
			found = s
		}
	})
	if found == nil {
		return nil, errf(400, "InvalidParameterException", "The specified resource is not found or is not taggable.")
	}
	return found, nil
}

func (w *ecsWorld) tagResource(in tagResourceIn, call *Call, _ time.Time) (any, *apiError) {
	call.Params = map[string]string{"resourceArn": in.ResourceArn}
	svc, err := w.tagged(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	if svc.tags == nil {
		svc.tags = map[string]string{}
	}
	for _, t := range in.Tags { // lengths and characters are the contract's
		svc.tags[t.Key] = t.Value
		call.Params["tag:"+t.Key] = t.Value
	}
	return struct{}{}, nil
}

func (w *ecsWorld) listTagsForResource(in tagResourceIn, call *Call, _ time.Time) (any, *apiError) {
	call.Params = map[string]string{"resourceArn": in.ResourceArn}
	svc, err := w.tagged(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	return struct {
		Tags []tagOut `json:"tags"`
	}{tagList(svc.tags)}, nil
}

type listTasksIn struct {
	Cluster, ServiceName, StartedBy, DesiredStatus, NextToken, Family string
	MaxResults                                                        int
}

func (w *ecsWorld) listTasks(in listTasksIn, call *Call, now time.Time) (any, *apiError) {
	call.Params = map[string]string{"cluster": in.Cluster, "serviceName": in.ServiceName,
		"startedBy": in.StartedBy, "desiredStatus": in.DesiredStatus, "nextToken": in.NextToken, "family": in.Family}
	cl, err := w.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	name := shortID(in.ServiceName)
	if name != "" {
		svc, err := w.service(in.Cluster, name)
		if err != nil {
			return nil, err
		}
		w.advance(svc, now)
	} else {
		for _, svc := range cl.services {
			w.advance(svc, now)
		}
	}
	w.advanceRuns(now)
	// "The default status filter is RUNNING" (API reference, ListTasks desiredStatus).
	want := in.DesiredStatus
	if want == "" {
		want = "RUNNING"
	}
	var arns []string
	for i := len(cl.tasks) - 1; i >= 0; i-- {
		t := cl.tasks[i]
		if t.desiredStatus != want || (name != "" && t.group != "service:"+name) || (in.StartedBy != "" && t.startedBy != in.StartedBy) ||
			(in.Family != "" && !strings.Contains(t.taskDef, ":task-definition/"+in.Family+":")) {
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
	out := struct {
		TaskArns  []string `json:"taskArns"`
		NextToken string   `json:"nextToken,omitempty"`
	}{TaskArns: append([]string{}, arns[from:min(from+size, len(arns))]...)}
	if from+size < len(arns) {
		out.NextToken = fmt.Sprintf("awsim-tasks-%d", from+size)
	}
	return out, nil
}

type describeTasksIn struct {
	Cluster string
	Tasks   []string
}

func (w *ecsWorld) describeTasks(in describeTasksIn, call *Call, now time.Time) (any, *apiError) {
	call.Params = map[string]string{"cluster": in.Cluster, "tasks": fmt.Sprint(len(in.Tasks))}
	cl, err := w.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if len(in.Tasks) == 0 { // AWS's answer; at most 100 is the contract's
		return nil, errf(400, "InvalidParameterException", "Tasks cannot be empty.")
	}
	w.advanceRuns(now)
	byArn := map[string]*task{}
	for _, t := range cl.tasks {
		byArn[t.arn] = t
		byArn[shortID(t.arn)] = t
	}
	out := struct {
		Tasks []taskOut `json:"tasks"`
		failures
	}{[]taskOut{}, noFailures()}
	for _, a := range in.Tasks {
		if t, ok := byArn[a]; ok {
			out.Tasks = append(out.Tasks, t.out())
		} else {
			out.missing(a)
		}
	}
	return out, nil
}

// knownTaskDef reports whether a task definition (family, family:revision or ARN) is registered.
func (w *ecsWorld) knownTaskDef(td string) bool {
	_, err := w.revisionOf(td)
	return err == nil
}
