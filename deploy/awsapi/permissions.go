package awsapi

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
)

// CodePipelineAPI is the CodePipeline calls the Lambda mode makes.
type CodePipelineAPI interface {
	PutJobSuccessResult(context.Context, *codepipeline.PutJobSuccessResultInput, ...func(*codepipeline.Options)) (*codepipeline.PutJobSuccessResultOutput, error)
	PutJobFailureResult(context.Context, *codepipeline.PutJobFailureResultInput, ...func(*codepipeline.Options)) (*codepipeline.PutJobFailureResultOutput, error)
}

// Permissions lists the IAM actions deploystep calls, read off the client interfaces so that
// the list cannot drift from the code, plus the actions IAM checks for CreateDeployment beyond
// its own (codeDeployImplied) and for RegisterTaskDefinition (registerImplied). With lambda, the CodePipeline result calls are included.
func Permissions(lambda bool) []string {
	var out []string
	add := func(prefix string, iface any) {
		t := reflect.TypeOf(iface).Elem()
		for i := 0; i < t.NumMethod(); i++ {
			out = append(out, prefix+":"+t.Method(i).Name)
		}
	}
	add("ecs", (*ECSAPI)(nil))
	add("ecr", (*ECRAPI)(nil))
	add("cloudfront", (*CloudFrontAPI)(nil))
	add("elasticloadbalancing", (*ELBAPI)(nil))
	add("codedeploy", (*CodeDeployAPI)(nil))
	add("logs", (*LogsAPI)(nil))
	out = append(out, codeDeployImplied...)
	out = append(out, registerImplied...)
	if lambda {
		add("codepipeline", (*CodePipelineAPI)(nil))
	}
	sort.Strings(out)
	return out
}

// registerImplied is what IAM checks for RegisterTaskDefinition beyond its own action: passing
// the revision's task and execution roles to ECS (iam:PassRole, scoped to those roles with
// iam:PassedToService = ecs-tasks.amazonaws.com; aws-actions/amazon-ecs-deploy-task-definition
// publishes the same statement; RunTask of the pre-deploy task checks it the same way) and tagging the revision on create (ecs:TagResource, already a
// call of deploystep's).
var registerImplied = []string{"iam:PassRole"}

// Grant is what IAM must allow for one use of an action: the resources the call is authorized
// on, one ARN pattern for each resource type the Service Authorization Reference requires of the
// action (IAM authorizes the call on each), and the condition that holds it there. The patterns
// name the settings: ${Partition}, ${Region}, ${Account}, ${Cluster}, ${Service}, ${Family} (the
// services' task-definition families), ${Repository}, ${Distribution}, ${LogGroup} (the pre-deploy
// task's log group), ${Roles} (the roles a revision names), ${Application} and ${Group} (the
// CodeDeploy application and deployment group). Grants renders docs/permissions.md's table
// (PermissionsMarkdown); a test holds each row to the reference's data and the rows to the calls.
type Grant struct {
	Action    string
	Resources []string
	// Condition, when set, is "<operator> <key> <value>", like the one ListTasks takes.
	Condition string
	When      string // which releases make the call
	Why       string // what the call is for, and why these resources
}

const (
	arnECS        = "arn:${Partition}:ecs:${Region}:${Account}:"
	arnService    = arnECS + "service/${Cluster}/${Service}"
	arnCluster    = arnECS + "cluster/${Cluster}"
	arnFamily     = arnECS + "task-definition/${Family}:*"
	arnCodeDeploy = "arn:${Partition}:codedeploy:${Region}:${Account}:"
	arnDist       = "arn:${Partition}:cloudfront::${Account}:distribution/${Distribution}"
	inTheCluster  = "ArnEquals ecs:cluster " + arnCluster
)

// Grants is every use of every action deploystep calls, or that IAM checks for one of its calls.
var Grants = []Grant{
	{Action: "ecs:DescribeServices", Resources: []string{arnService}, When: "always", Why: "reads the services (preflight, every poll)"},
	{Action: "ecs:UpdateService", Resources: []string{arnService}, When: "always but HOOK_ANSWER", Why: "starts the release's deployment"},
	{Action: "ecs:TagResource", Resources: []string{arnService}, When: "a release with an identity (CodeBuild, CALLER_REFERENCE)",
		Why: "the re-run marker on the service, before UpdateService: a re-run adopts the deployment instead of starting another"},
	{Action: "ecs:ListServiceDeployments", Resources: []string{arnService}, When: "services on ECS's controller", Why: "finds the release's service deployment"},
	{Action: "ecs:DescribeServiceDeployments", Resources: []string{arnService, arnECS + "service-deployment/${Cluster}/${Service}/*"},
		When: "services on ECS's controller", Why: "the service deployment's status, stage and hooks; the reference requires the service and the service deployment both"},
	{Action: "ecs:ContinueServiceDeployment", Resources: []string{arnService, arnECS + "service-deployment/${Cluster}/${Service}/*"},
		When: "HOOK_COMMAND, HOOK_ANSWER", Why: "answers a PAUSE hook; the service and the service deployment both"},
	{Action: "ecs:StopServiceDeployment", Resources: []string{arnService, arnECS + "service-deployment/${Cluster}/${Service}/*"},
		When: "ROLLBACK=on-failure, a hook that fails", Why: "rolls the deployment back; the service and the service deployment both"},
	{Action: "ecs:DescribeClusters", Resources: []string{arnCluster}, When: "-dry-run", Why: "the dry run's cluster check"},
	{Action: "ecs:ListTasks", Resources: []string{"*"}, Condition: inTheCluster, When: "always",
		Why: "the new tasks (digests) and stopped ones (reasons); its resource type, the container instance, is not one a release names, so only \"*\" allows it, held to the cluster by the condition"},
	{Action: "ecs:DescribeTasks", Resources: []string{arnECS + "task/${Cluster}/*"}, When: "always", Why: "the tasks' digests and stopped reasons"},
	{Action: "ecs:DescribeTaskDefinition", Resources: []string{"*"}, When: "IMAGE, PREDEPLOY_COMMAND, a failed task", Why: "the base of the release's revision; takes no resource"},
	{Action: "ecs:ListTaskDefinitions", Resources: []string{"*"}, When: "IMAGE", Why: "finds a revision an earlier run registered; takes no resource"},
	{Action: "ecs:RegisterTaskDefinition", Resources: []string{"*"}, When: "IMAGE",
		Why: "registers the release's revision; the reference names the task-definition type, which the new revision's ARN would be, but the published policies for it (aws-actions/amazon-ecs-deploy-task-definition's) grant \"*\", right under either reading"},
	{Action: "ecs:TagResource", Resources: []string{arnFamily}, Condition: "StringEquals ecs:CreateAction RegisterTaskDefinition", When: "IMAGE",
		Why: "the revision is tagged on create, which IAM checks as TagResource (the ECS guide, \"Grant permission to tag resources on creation\")"},
	{Action: "iam:PassRole", Resources: []string{"${Roles}"}, Condition: "StringEquals iam:PassedToService ecs-tasks.amazonaws.com", When: "IMAGE, PREDEPLOY_COMMAND",
		Why: "the revision's task and execution roles, passed to ECS when it is registered and when the pre-deploy task runs"},
	{Action: "ecs:RunTask", Resources: []string{arnFamily}, Condition: inTheCluster, When: "PREDEPLOY_COMMAND", Why: "the pre-deploy task, of the release's revision, in the cluster"},
	{Action: "ecs:StopTask", Resources: []string{arnECS + "task/${Cluster}/*"}, When: "PREDEPLOY_COMMAND", Why: "stops a pre-deploy task that outlives PREDEPLOY_TIMEOUT"},
	{Action: "logs:GetLogEvents", Resources: []string{"arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroup}:log-stream:*"}, When: "PREDEPLOY_COMMAND",
		Why: "the pre-deploy task's log lines (tried before the task runs)"},
	{Action: "ecr:DescribeImages", Resources: []string{"arn:${Partition}:ecr:${Region}:${Account}:repository/${Repository}"}, When: "IMAGE",
		Why: "the pushed tag exists; its digest (in IMAGE's account and region)"},
	{Action: "cloudfront:GetDistribution", Resources: []string{arnDist}, When: "unless SKIP_INVALIDATION", Why: "the preflight's distribution check"},
	{Action: "cloudfront:GetDistributionConfig", Resources: []string{arnDist}, When: "INVALIDATION_PATHS=auto, INVALIDATION_TAGS", Why: "the cache behaviours auto decides from"},
	{Action: "cloudfront:CreateInvalidation", Resources: []string{arnDist}, When: "unless SKIP_INVALIDATION", Why: "the invalidation"},
	{Action: "cloudfront:GetInvalidation", Resources: []string{arnDist}, When: "unless SKIP_INVALIDATION", Why: "waits for it"},
	{Action: "cloudfront:GetCachePolicy", Resources: []string{"arn:${Partition}:cloudfront::${Account}:cache-policy/*"}, When: "INVALIDATION_PATHS=auto",
		Why: "the TTLs of the custom cache policies the behaviours use"},
	{Action: "cloudfront:GetVpcOrigin", Resources: []string{"arn:${Partition}:cloudfront::${Account}:vpcorigin/*"}, When: "INVALIDATION_PATHS=auto",
		Why: "which load balancer a VPC origin is"},
	{Action: "elasticloadbalancing:DescribeTargetGroups", Resources: []string{"*"}, When: "INVALIDATION_PATHS=auto", Why: "the services' load balancers; takes no resource"},
	{Action: "elasticloadbalancing:DescribeLoadBalancers", Resources: []string{"*"}, When: "INVALIDATION_PATHS=auto", Why: "their DNS names; takes no resource"},
	{Action: "codedeploy:ListApplications", Resources: []string{"*"}, When: "CODE_DEPLOY services without CODEDEPLOY_APPLICATION", Why: "searches the service's deployment group; takes no resource"},
	{Action: "codedeploy:ListDeploymentGroups", Resources: []string{arnCodeDeploy + "application:${Application}"}, When: "CODE_DEPLOY services", Why: "searches the deployment group"},
	{Action: "codedeploy:BatchGetDeploymentGroups", Resources: []string{arnCodeDeploy + "deploymentgroup:${Application}/${Group}"}, When: "CODE_DEPLOY services", Why: "which group deploys the service"},
	{Action: "codedeploy:CreateDeployment", Resources: []string{arnCodeDeploy + "deploymentgroup:${Application}/${Group}"}, When: "CODE_DEPLOY services", Why: "the blue/green deployment"},
	{Action: "codedeploy:GetDeploymentConfig", Resources: []string{arnCodeDeploy + "deploymentconfig:*"}, When: "CODE_DEPLOY services",
		Why: "checked for CreateDeployment (the deployment configuration it reads; every published policy for ECS blue/green grants it)"},
	{Action: "codedeploy:RegisterApplicationRevision", Resources: []string{arnCodeDeploy + "application:${Application}"}, When: "CODE_DEPLOY services",
		Why: "checked for CreateDeployment (the revision it registers)"},
	{Action: "codedeploy:GetDeployment", Resources: []string{arnCodeDeploy + "deploymentgroup:${Application}/${Group}"}, When: "CODE_DEPLOY services", Why: "follows the deployment"},
	{Action: "codedeploy:ListDeployments", Resources: []string{arnCodeDeploy + "deploymentgroup:${Application}/${Group}"}, When: "CODE_DEPLOY services", Why: "finds a deployment an earlier run created"},
	{Action: "codedeploy:ListDeploymentTargets", Resources: []string{"*"}, When: "CODE_DEPLOY services", Why: "the deployment's lifecycle events; takes no resource"},
	{Action: "codedeploy:GetDeploymentTarget", Resources: []string{"*"}, When: "CODE_DEPLOY services", Why: "the same; takes no resource"},
	{Action: "codedeploy:StopDeployment", Resources: []string{"*"}, When: "CODE_DEPLOY services with ROLLBACK=on-failure", Why: "stops it with a rollback; takes no resource"},
	{Action: "codepipeline:PutJobSuccessResult", Resources: []string{"*"}, When: "the Lambda mode", Why: "reports the job (and continues it); takes no resource: the job id is the scope"},
	{Action: "codepipeline:PutJobFailureResult", Resources: []string{"*"}, When: "the Lambda mode", Why: "reports a failure"},
}

// PermissionsMarkdown is docs/permissions.md's table: a row per grant.
func PermissionsMarkdown() string {
	var b strings.Builder
	b.WriteString("| action | resources IAM authorizes it on | condition | when | why |\n| --- | --- | --- | --- | --- |\n")
	for _, g := range Grants {
		res := make([]string, len(g.Resources))
		for i, r := range g.Resources {
			res[i] = "`" + r + "`"
		}
		cond := ""
		if g.Condition != "" {
			cond = "`" + g.Condition + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", g.Action, strings.Join(res, "<br>"), cond, g.When, g.Why)
	}
	return b.String()
}
