package awsim_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
	"github.com/deploystep/deploystep/internal/testtool"
)

// seedLines are the four lines of the lab's buildspec (step 22), verbatim.
const seedLines = `set -e
aws ecs update-service --cluster $CLUSTER --service $SERVICE --force-new-deployment
while true; do aws ecs wait services-stable --cluster $CLUSTER --service $SERVICE > /dev/null && break; sleep 2; done
INVALIDATIONID=$(aws cloudfront create-invalidation --distribution-id $DISTRIBUTIONID --paths /\* --query Invalidation.Id --output text)
aws cloudfront wait invalidation-completed --distribution-id $DISTRIBUTIONID --id $INVALIDATIONID
echo "invalidation $INVALIDATIONID"
`

var start = testtool.Sim

// cliEnv returns an environment in which "aws" on PATH is the AWS CLI v2 pointed at sim, with
// the demo world's names.
func cliEnv(t *testing.T, sim *awsim.Server) []string {
	env := append(append(os.Environ(), sim.Env()...), "PATH="+testtool.CLIPath(t, sim), "AWS_PAGER=")
	return append(env, demo.Env("IMAGE=")...)
}

func bash(t *testing.T, env []string, timeout time.Duration, script string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestCLISeedLinesSucceed(t *testing.T) {
	t.Parallel()
	// The rollout outlasts the CLI's start-up even on a loaded machine, so the waiter must poll,
	// sleep its 15 s, and poll again: one cycle.
	// curl reads the distribution's edge before and after: the previous release from the cache,
	// then, once the CLI's invalidation completed, the new version from the origin.
	sim := start(t, demo.Config(awsim.Success, 6*time.Second, time.Second))
	testtool.Find(t, "curl", "apt-get install curl (.ci/run does)")
	edge := "curl -sS -D - " + sim.EdgeURL(demo.Distribution) + "/api/health; echo\n"
	out, err := bash(t, cliEnv(t, sim), 2*time.Minute, edge+seedLines+edge)
	if err != nil {
		t.Fatalf("seed lines failed: %v\n%s", err, out)
	}
	before, after, _ := strings.Cut(out, "invalidation I")
	if !strings.Contains(before, "X-Cache: Hit from cloudfront") || !strings.Contains(before, `"version":"sha-`) ||
		!strings.Contains(after, "X-Cache: Miss from cloudfront") || !strings.Contains(after, `"version":"`+demo.Tag+`"`) {
		t.Errorf("the edge did not serve the cached previous release, then the new one:\n%s", out)
	}
	e := sim.Effects()
	if e.Deployments[demo.Cluster+"/"+demo.Service] != 1 || e.Invalidations[demo.Distribution] != 1 {
		t.Fatalf("effects = %+v, want one deployment and one invalidation", e)
	}
	if !strings.Contains(out, "invalidation I") {
		t.Fatalf("no invalidation id in output:\n%s", out)
	}
	if n := sim.CountCalls("ECS", "DescribeServices"); n < 2 {
		t.Fatalf("services-stable polled %d times, want at least 2 (one cycle)", n)
	}
}

// The trap: after a circuit-breaker rollback the service has one deployment with running ==
// desired, so services-stable reports success although our deployment failed.
func TestCLIServicesStableCallsRollbackStable(t *testing.T) {
	t.Parallel()
	cfg := demo.Config(awsim.Rollback, time.Second, time.Second)
	sim := start(t, cfg)
	env := cliEnv(t, sim)
	id, err := bash(t, env, time.Minute, `aws ecs update-service --cluster $CLUSTER --service $SERVICE --force-new-deployment --query 'service.deployments[?status==`+"`PRIMARY`"+`].id' --output text`)
	if err != nil {
		t.Fatalf("update-service: %v\n%s", err, id)
	}
	id = strings.TrimSpace(id)
	out, err := bash(t, env, time.Minute, `aws ecs wait services-stable --cluster $CLUSTER --services $SERVICE && echo STABLE`)
	if err != nil || !strings.Contains(out, "STABLE") {
		t.Fatalf("services-stable did not report success on the rollback: %v\n%s", err, out)
	}
	desc, err := bash(t, env, time.Minute, `aws ecs describe-services --cluster $CLUSTER --services $SERVICE --output json`)
	if err != nil {
		t.Fatal(err, desc)
	}
	var d struct {
		Services []struct {
			Deployments []struct{ ID, Status, RolloutState string }
			Events      []struct{ Message string }
		}
	}
	if err := json.Unmarshal([]byte(desc), &d); err != nil {
		t.Fatal(err)
	}
	deps := d.Services[0].Deployments
	if len(deps) != 1 || deps[0].ID == id {
		t.Fatalf("after the rollback, deployments = %+v; ours (%s) should be gone", deps, id)
	}
	failed := false
	for _, e := range d.Services[0].Events {
		failed = failed || strings.Contains(e.Message, id+") deployment failed")
	}
	if !failed {
		t.Fatalf("no 'deployment failed' event for %s", id)
	}
}

func TestCLIReadsAndErrors(t *testing.T) {
	t.Parallel()
	cfg := demo.Config(awsim.Success, time.Second, time.Second)
	cfg.Identities = []awsim.IdentitySpec{
		{AccessKeyID: "ASIAEXPIRED0EXAMPLE", Account: "123456789012", ARN: "arn:aws:sts::123456789012:assumed-role/dev/alice", Expired: true},
		{AccessKeyID: "AKIAOTHERACCOUNT0000", Account: "999999999999", ARN: "arn:aws:iam::999999999999:user/bob"},
	}
	sim := start(t, cfg)
	env := cliEnv(t, sim)
	job := sim.NewJob()
	cases := []struct {
		name, cmd string
		wantErr   bool
		want      string
	}{
		{"describe-services", `aws ecs describe-services --cluster $CLUSTER --services $SERVICE --query 'services[0].deployments[0].rolloutState' --output text`, false, "COMPLETED"},
		{"list-tasks", `aws ecs list-tasks --cluster $CLUSTER --service-name $SERVICE --query 'length(taskArns)'`, false, "2"},
		{"describe-tasks", `aws ecs describe-tasks --cluster $CLUSTER --tasks $(aws ecs list-tasks --cluster $CLUSTER --service-name $SERVICE --query 'taskArns[0]' --output text) --query 'tasks[0].lastStatus' --output text`, false, "RUNNING"},
		{"describe-clusters", `aws ecs describe-clusters --clusters $CLUSTER --query 'clusters[0].status' --output text`, false, "ACTIVE"},
		{"describe-task-definition", `aws ecs describe-task-definition --task-definition api:1 --query 'taskDefinition.networkMode' --output text`, false, "awsvpc"},
		{"ecr describe-images", `aws ecr describe-images --repository-name ` + demo.Repository + ` --image-ids imageTag=` + demo.Tag + ` --query 'imageDetails[0].imageDigest' --output text`, false, "sha256:"},
		{"get-distribution", `aws cloudfront get-distribution --id $DISTRIBUTIONID --query 'Distribution.DistributionConfig.DefaultCacheBehavior.TargetOriginId' --output text`, false, "Fargate-Endpoint"},
		{"put-job-success-result", `aws codepipeline put-job-success-result --job-id ` + job + ` && echo REPORTED`, false, "REPORTED"},
		{"second final result", `aws codepipeline put-job-success-result --job-id ` + job, true, "InvalidJobStateException"},
		{"unknown service", `aws ecs update-service --cluster $CLUSTER --service nope --force-new-deployment`, true, "ServiceNotFoundException"},
		{"unknown service describe", `aws ecs describe-services --cluster $CLUSTER --services nope --query 'failures[0].reason' --output text`, false, "MISSING"},
		{"unknown cluster", `aws ecs describe-services --cluster nope --services $SERVICE`, true, "ClusterNotFoundException"},
		{"unknown distribution", `aws cloudfront create-invalidation --distribution-id ENOPE --paths '/*'`, true, "NoSuchDistribution"},
		{"unknown tag", `aws ecr describe-images --repository-name ` + demo.Repository + ` --image-ids imageTag=nope`, true, "ImageNotFoundException"},
		{"unknown repository", `aws ecr describe-images --repository-name nope`, true, "RepositoryNotFoundException"},
		// identity.go: who calls, and where
		{"get-caller-identity", `aws sts get-caller-identity --query '[Account,Arn]' --output text`, false, "123456789012\t" + awsim.PlaceholderRoleARN},
		{"unknown access key, STS", `AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE aws sts get-caller-identity`, true, "An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation: The security token included in the request is invalid."},
		{"unknown access key, ECS", `AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE aws ecs describe-clusters --clusters $CLUSTER`, true, "An error occurred (UnrecognizedClientException) when calling the DescribeClusters operation"},
		{"unknown access key, CloudFront", `AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE aws cloudfront get-distribution --id $DISTRIBUTIONID`, true, "(InvalidClientTokenId)"},
		{"expired session", `AWS_ACCESS_KEY_ID=ASIAEXPIRED0EXAMPLE aws sts get-caller-identity`, true, "(ExpiredToken)"},
		{"expired session, ECS", `AWS_ACCESS_KEY_ID=ASIAEXPIRED0EXAMPLE aws ecs describe-clusters --clusters $CLUSTER`, true, "(ExpiredTokenException)"},
		{"another region's cluster", `aws ecs describe-clusters --region us-west-2 --clusters $CLUSTER --query 'failures[0].reason' --output text`, false, "MISSING"},
		{"another region's repository", `aws ecr describe-images --region eu-west-1 --repository-name ` + demo.Repository, true, "RepositoryNotFoundException"},
		{"another account's identity", `AWS_ACCESS_KEY_ID=AKIAOTHERACCOUNT0000 aws sts get-caller-identity --query Account --output text`, false, "999999999999"},
		{"another account's cluster", `AWS_ACCESS_KEY_ID=AKIAOTHERACCOUNT0000 aws ecs describe-services --cluster $CLUSTER --services $SERVICE`, true, "ClusterNotFoundException"},
		{"another account's distribution", `AWS_ACCESS_KEY_ID=AKIAOTHERACCOUNT0000 aws cloudfront get-distribution --id $DISTRIBUTIONID`, true, "NoSuchDistribution"},
		{"another account's registry", `aws ecr describe-images --registry-id 999999999999 --repository-name ` + demo.Repository, true,
			"(AccessDeniedException) when calling the DescribeImages operation: User: " + awsim.PlaceholderRoleARN + " is not authorized to perform: ecr:DescribeImages"},
		{"global CloudFront in any region", `aws cloudfront get-distribution --region ap-southeast-2 --id $DISTRIBUTIONID --query Distribution.Id --output text`, false, demo.Distribution},
	}
	for _, c := range cases {
		out, err := bash(t, env, time.Minute, c.cmd)
		if (err != nil) != c.wantErr || !strings.Contains(out, c.want) {
			t.Errorf("%s: err=%v, output %q; want error=%v and %q", c.name, err, out, c.wantErr, c.want)
		}
	}
	if e := sim.Effects(); e.JobResults[job] != 1 {
		t.Errorf("job results = %v, want exactly one final result", e.JobResults)
	}
}

// The AWS CLI v2 drives awsim's CodeDeploy for ECS as a user would: create-deployment with AppSpec
// content, get-deployment-target, and the CLI's own deployment-successful waiter, which succeeds
// on a hook that passes and fails on one that reports Failed (botocore's waiter model says what
// statuses mean).
func TestCLICodeDeploy(t *testing.T) {
	t.Parallel()
	const script = `set -e
spec='{"version":0.0,"Resources":[{"TargetService":{"Type":"AWS::ECS::Service","Properties":{"TaskDefinition":"api:1","LoadBalancerInfo":{"ContainerName":"api","ContainerPort":3000}}}}],"Hooks":[{"AfterAllowTestTraffic":"tsa-gallery-smoke-test"}]}'
ID=$(aws deploy create-deployment --application-name tsa-gallery-api --deployment-group-name tsa-gallery-api-bluegreen \
  --revision "$(python3 -c 'import json,sys; print(json.dumps({"revisionType":"AppSpecContent","appSpecContent":{"content":sys.argv[1]}}))' "$spec")" --query deploymentId --output text)
echo "created $ID"
aws deploy list-deployment-targets --deployment-id $ID --query 'targetIds[0]' --output text
aws deploy wait deployment-successful --deployment-id $ID && echo "waiter: success" || echo "waiter: failure"
aws deploy get-deployment-target --deployment-id $ID --target-id tsa-gallery:api \
  --query 'deploymentTarget.ecsTarget.lifecycleEvents[?status==` + "`Failed`" + `].lifecycleEventName' --output text
aws deploy get-deployment --deployment-id $ID --query '[deploymentInfo.status, deploymentInfo.errorInformation.code, deploymentInfo.rollbackInfo.rollbackDeploymentId]' --output text
`
	for _, c := range []struct{ kind, want string }{
		{demo.CodeDeployBG, "waiter: success"},
		{demo.CodeDeployRollback, "waiter: failure"},
	} {
		t.Run(c.kind, func(t *testing.T) {
			t.Parallel()
			sim := start(t, demo.Config(c.kind, 3*time.Second, time.Second))
			out, err := bash(t, cliEnv(t, sim), 2*time.Minute, script)
			if err != nil || !strings.Contains(out, "created d-") || !strings.Contains(out, "tsa-gallery:api") || !strings.Contains(out, c.want) {
				t.Fatalf("%v\n%s", err, out)
			}
			if c.kind == demo.CodeDeployRollback && (!strings.Contains(out, "AfterAllowTestTraffic") || !strings.Contains(out, "Failed\tHOOK_EXECUTION_FAILURE\td-")) {
				t.Errorf("the CLI did not read the failed hook and the rollback:\n%s", out)
			}
			if c.kind == demo.CodeDeployBG && !strings.Contains(out, "Succeeded\tNone\tNone") {
				t.Errorf("the CLI did not read a clean success:\n%s", out)
			}
		})
	}
}

// The hand-written migration step, run by the AWS CLI v2 (its own serializers, its own
// tasks-stopped waiter): RunTask with the override on the service's network, the waiter, the
// task's exit code, its log stream read with get-log-events, and StopTask. The trap:
// tasks-stopped succeeds although the migration exited 1. (The CLI 2.9.19 predates RunTask's
// clientToken; the SDK sends it below.)
func TestCLIMigrationTask(t *testing.T) {
	t.Parallel()
	sim := start(t, demo.Config(demo.MigrateFails, 4*time.Second, time.Second))
	script := `set -e
NET='awsvpcConfiguration={subnets=[subnet-0a1b2c3d4e5f60718],securityGroups=[sg-0123456789abcdef0]}'
OVR='{"containerOverrides":[{"name":"api","command":["sh","-c","npm run migrate"]}]}'
TASK=$(aws ecs run-task --cluster $CLUSTER --task-definition api --launch-type FARGATE --network-configuration "$NET" \
  --overrides "$OVR" --started-by deploystep/cli --query 'tasks[0].taskArn' --output text)
aws ecs list-tasks --cluster $CLUSTER --started-by deploystep/cli --query 'length(taskArns)'
aws ecs wait tasks-stopped --cluster $CLUSTER --tasks $TASK && echo "waiter: success"
aws ecs describe-tasks --cluster $CLUSTER --tasks $TASK --query 'tasks[0].[lastStatus,stopCode,containers[0].exitCode]' --output text
aws ecs list-tasks --cluster $CLUSTER --family api --desired-status STOPPED --query 'length(taskArns)'
aws logs get-log-events --log-group-name /ecs/tsa-gallery/APITask --log-stream-name ecs/api/${TASK##*/} --start-from-head \
  --query 'events[-1].message' --output text
aws ecs run-task --cluster $CLUSTER --task-definition api --launch-type FARGATE > /dev/null 2>&1 || echo "awsvpc without a network: refused"
aws ecs list-tasks --cluster $CLUSTER --started-by deploystep/cli --desired-status STOPPED > /dev/null 2>&1 || echo "startedBy with another filter: refused"
`
	out, err := bash(t, cliEnv(t, sim), 2*time.Minute, script)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"waiter: success", "STOPPED\tEssentialContainerExited\t1",
		"ER_DUP_FIELDNAME: Duplicate column name 'caption'", "awsvpc without a network: refused", "startedBy with another filter: refused"} {
		if !strings.Contains(out, want) {
			t.Errorf("CLI output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "\n1\n") < 1 {
		t.Errorf("list-tasks did not find the task once by startedBy and once stopped:\n%s", out)
	}
	// The client token: the same request again is the same task; another request with it is a conflict.
	ctx := context.Background()
	ec := ecs.NewFromConfig(sim.AWSConfig())
	in := func(cmd string) *ecs.RunTaskInput {
		return &ecs.RunTaskInput{Cluster: aws.String(demo.Cluster), TaskDefinition: aws.String("api"), LaunchType: ecstypes.LaunchTypeFargate,
			ClientToken:          aws.String("deploystep-0123456789abcdef0123456789abcdef01234567"),
			NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: awsim.Subnets}},
			Overrides:            &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{{Name: aws.String("api"), Command: []string{"sh", "-c", cmd}}}}}
	}
	a, err := ec.RunTask(ctx, in("npm run migrate"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ec.RunTask(ctx, in("npm run migrate"))
	if err != nil || aws.ToString(b.Tasks[0].TaskArn) != aws.ToString(a.Tasks[0].TaskArn) {
		t.Errorf("the same client token and request gave another task or %v", err)
	}
	if _, err := ec.RunTask(ctx, in("npm run seed")); err == nil || !strings.Contains(err.Error(), "ConflictException") {
		t.Errorf("another request with the same client token: %v, want ConflictException", err)
	}
	if n := sim.Effects().RunTasks[demo.Service]; n != 2 {
		t.Errorf("%d tasks started, want 2 (the CLI's and the token's)", n)
	}
	// StopTask of a task that runs: UserInitiated, the reason kept.
	demo := demo.Config(awsim.Success, time.Second, time.Second)
	demo.RunTasks = awsim.RunTaskSpec{Never: true}
	never := start(t, demo)
	out, err = bash(t, cliEnv(t, never), time.Minute, `set -e
TASK=$(aws ecs run-task --cluster $CLUSTER --task-definition api --launch-type FARGATE --network-configuration 'awsvpcConfiguration={subnets=[subnet-0a1b2c3d4e5f60718]}' --query 'tasks[0].taskArn' --output text)
aws ecs stop-task --cluster $CLUSTER --task $TASK --reason 'deploystep: PREDEPLOY_TIMEOUT' --query 'task.[lastStatus,stopCode,stoppedReason]' --output text`)
	if err != nil || !strings.Contains(out, "STOPPED\tUserInitiated\tdeploystep: PREDEPLOY_TIMEOUT") {
		t.Errorf("stop-task: %v\n%s", err, out)
	}
}

// What INVALIDATION_PATHS=auto and INVALIDATION_TAGS read and send, driven by the AWS CLI and by
// boto3 (botocore 1.43's models, which know CacheTagConfig and GetVpcOrigin, newer than the CLI
// 2.9.19): the lab's distribution with /api/photos* cached, the chain from the service's target
// group to its load balancer's DNS name, and a tag invalidation that evicts exactly the tagged
// objects at the edge.
func TestCLICacheConfig(t *testing.T) {
	t.Parallel()
	cfg := demo.Config(demo.APICache, 2*time.Second, 500*time.Millisecond)
	cfg.Distributions[0].Origins = append(cfg.Distributions[0].Origins, awsim.OriginSpec{ID: "API-VPC", Service: demo.Cluster + "/" + demo.Service, VPC: true})
	sim := start(t, cfg)
	edge := sim.EdgeURL(demo.Distribution)
	testtool.Find(t, "curl", "apt-get install curl (.ci/run does)")
	script := `set -e
aws cloudfront get-distribution-config --id $DISTRIBUTIONID --query '[DistributionConfig.DefaultCacheBehavior.CachePolicyId, join(` + "`,`" + `, DistributionConfig.CacheBehaviors.Items[].PathPattern), DistributionConfig.Origins.Items[0].DomainName]' --output text
aws cloudfront get-cache-policy --id ` + demo.PhotosPolicy.ID + ` --query 'CachePolicy.CachePolicyConfig.[Name,MinTTL,DefaultTTL,MaxTTL]' --output text
aws cloudfront get-cache-policy --id 4135ea2d-6df8-44a3-9df3-4b5a84be39ad --query 'CachePolicy.CachePolicyConfig.[Name,MaxTTL]' --output text
TG=$(aws ecs describe-services --cluster $CLUSTER --services $SERVICE --query 'services[0].loadBalancers[0].targetGroupArn' --output text)
LB=$(aws elbv2 describe-target-groups --target-group-arns $TG --query 'TargetGroups[0].LoadBalancerArns[0]' --output text)
aws elbv2 describe-load-balancers --load-balancer-arns $LB --query 'LoadBalancers[0].[DNSName,Type,State.Code]' --output text
aws elbv2 describe-target-groups --target-group-arns ${TG%/*}/fedcba9876543210 > /dev/null 2>&1 || echo "unknown target group: refused"
aws elbv2 describe-target-groups --target-group-arns $TG --names api-blue > /dev/null 2>&1 || echo "two filters: refused"
curl -sS -o /dev/null -D - ` + edge + `/api/photos | tr -d '\r' | grep -i '^Cache-Tag'
ID=$(aws cloudfront create-invalidation --distribution-id $DISTRIBUTIONID --paths '#Photos' --query Invalidation.Id --output text)
aws cloudfront wait invalidation-completed --distribution-id $DISTRIBUTIONID --id $ID && echo "tag invalidation completed"
aws cloudfront create-invalidation --distribution-id $DISTRIBUTIONID --paths '#photos*' > /dev/null 2>&1 || echo "a wildcard tag: refused"
`
	out, err := bash(t, cliEnv(t, sim), 2*time.Minute, script)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	dns := sim.ServiceOriginDomain(demo.Cluster + "/" + demo.Service)
	for _, want := range []string{awsim.ManagedCachingDisabled + "\t/static/*,/api/photos*\t" + dns,
		"tsa-gallery-api-photos\t0\t3600\t86400", "Managed-CachingDisabled\t0", dns + "\tapplication\tactive",
		"unknown target group: refused", "two filters: refused", "Cache-Tag: photos, api", "tag invalidation completed", "a wildcard tag: refused"} {
		if !strings.Contains(out, want) {
			t.Errorf("CLI output lacks %q:\n%s", want, out)
		}
	}
	// The tag invalidation evicted the tagged objects (case-insensitively), and only them.
	for _, o := range sim.EdgeObjects(demo.Distribution) {
		tagged := strings.HasPrefix(o.Path, "/api/photos")
		if o.Fresh == tagged {
			t.Errorf("after #Photos the edge holds %+v: want tagged objects evicted, the rest fresh", o)
		}
	}
	// boto3's newer model: CacheTagConfig and the VPC origin's endpoint, the load balancer's ARN.
	py := testtool.Python(t, "boto3")
	cmd := exec.Command(py, "-c", `import boto3,json,sys
kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1")
cf, elb = boto3.client("cloudfront", **kw), boto3.client("elbv2", **kw)
c = cf.get_distribution_config(Id=sys.argv[2])["DistributionConfig"]
vo = [o for o in c["Origins"]["Items"] if "VpcOriginConfig" in o][0]["VpcOriginConfig"]["VpcOriginId"]
ep = cf.get_vpc_origin(Id=vo)["VpcOrigin"]["VpcOriginEndpointConfig"]["Arn"]
lbs = elb.describe_load_balancers(LoadBalancerArns=[ep])["LoadBalancers"]
print(json.dumps({"tags": c["CacheTagConfig"]["HeaderName"], "s3": "S3OriginConfig" in c["Origins"]["Items"][1], "vpcLB": lbs[0]["DNSName"]}))`,
		sim.URL(), demo.Distribution)
	cmd.Env = append(os.Environ(), sim.Env()...)
	got, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, got)
	}
	var b struct {
		Tags, VpcLB string
		S3          bool
	}
	if err := json.Unmarshal(got, &b); err != nil || b.Tags != demo.CacheTagHeader || !b.S3 || b.VpcLB != dns {
		t.Errorf("boto3 read %s (%v); want CacheTagConfig %s, the S3 origin, the VPC origin to %s", got, err, demo.CacheTagHeader, dns)
	}
}

// TestCLIAssumeRole: the AWS CLI and boto3, which this project did not write, assume the demo
// world's deploy role from the tooling account and act as its session in the workload account;
// the trust policy, the external id, the session token and the session's end hold as the STS API
// reference says (sts.go).
func TestCLIAssumeRole(t *testing.T) {
	t.Parallel()
	cfg := demo.Config(awsim.Success, time.Second, time.Second)
	const guarded = "arn:aws:iam::123456789012:role/tsa-gallery-deploy-guarded"
	const short = "arn:aws:iam::123456789012:role/tsa-gallery-deploy-short"
	cfg.Roles = append(cfg.Roles,
		awsim.RoleSpec{ARN: guarded, Trusted: []string{demo.ToolingAccount}, ExternalID: "tsa-prod-7f3a"},
		awsim.RoleSpec{ARN: short, Trusted: []string{"arn:aws:iam::111122223333:role/tsa-pipeline-codebuild"}, SessionTTL: awsim.Duration(2 * time.Second)})
	sim := start(t, cfg)
	env := append(cliEnv(t, sim), "AWS_ACCESS_KEY_ID="+demo.ToolingKey)
	assume := func(role, extra string) string {
		return `eval "$(aws sts assume-role --role-arn ` + role + ` --role-session-name deploystep-0123abcd ` + extra +
			` --query 'Credentials' --output json | python3 -c 'import json,sys; c=json.load(sys.stdin); print("export AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_SESSION_TOKEN=%s" % (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]))')" && `
	}
	session := "arn:aws:sts::123456789012:assumed-role/tsa-gallery-deploy/deploystep-0123abcd"
	cases := []struct {
		name, cmd string
		wantErr   bool
		want      string
	}{
		{"the tooling account sees no cluster", `aws ecs describe-clusters --clusters $CLUSTER --query 'failures[0].reason' --output text`, false, "MISSING"},
		{"the tooling identity", `aws sts get-caller-identity --query Arn --output text`, false, demo.ToolingCaller},
		{"assumed: whose", assume(demo.DeployRole, "") + `aws sts get-caller-identity --query '[Account,Arn]' --output text`, false, "123456789012\t" + session},
		{"assumed: the workload cluster", assume(demo.DeployRole, "") + `aws ecs describe-clusters --clusters $CLUSTER --query 'clusters[0].status' --output text`, false, "ACTIVE"},
		{"assumed: expiration", `aws sts assume-role --role-arn ` + demo.DeployRole + ` --role-session-name s1 --duration-seconds 900 --query 'Credentials.Expiration' --output text`, false, "20"},
		{"without the session token", assume(demo.DeployRole, "") + `unset AWS_SESSION_TOKEN; aws ecs describe-clusters --clusters $CLUSTER`, true, "(UnrecognizedClientException)"},
		{"a role that does not trust the caller", `aws sts assume-role --role-arn arn:aws:iam::123456789012:role/someone-else --role-session-name s1`, true,
			"An error occurred (AccessDenied) when calling the AssumeRole operation: User: " + demo.ToolingCaller + " is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/someone-else"},
		{"no external id", `aws sts assume-role --role-arn ` + guarded + ` --role-session-name s1`, true, "(AccessDenied)"},
		{"the external id", assume(guarded, "--external-id tsa-prod-7f3a") + `aws sts get-caller-identity --query Account --output text`, false, "123456789012"},
		{"a session name with a slash", `aws sts assume-role --role-arn ` + demo.DeployRole + ` --role-session-name a/b`, true, "(ValidationError)"},
		{"longer than the role allows", `aws sts assume-role --role-arn ` + demo.DeployRole + ` --role-session-name s1 --duration-seconds 7200`, true, "exceeds the MaxSessionDuration"},
		{"a trusted role's session, then its end", assume(short, "") + `aws ecs describe-clusters --clusters $CLUSTER --query 'clusters[0].status' --output text && sleep 3 && aws ecs describe-clusters --clusters $CLUSTER`, true, "(ExpiredTokenException)"},
	}
	for _, c := range cases {
		out, err := bash(t, env, time.Minute, c.cmd)
		if (err != nil) != c.wantErr || !strings.Contains(out, c.want) {
			t.Errorf("%s: err=%v, output %q; want error=%v and %q", c.name, err, out, c.wantErr, c.want)
		}
	}
	// boto3: AssumeRole's answer read by botocore's model, the session used for ECS.
	py := testtool.Python(t, "boto3")
	cmd := exec.Command(py, "-c", `import boto3,sys
kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1")
c = boto3.client("sts", **kw).assume_role(RoleArn=sys.argv[2], RoleSessionName="deploystep-boto3", DurationSeconds=900)
k = c["Credentials"]
s = boto3.Session(aws_access_key_id=k["AccessKeyId"], aws_secret_access_key=k["SecretAccessKey"], aws_session_token=k["SessionToken"])
print(c["AssumedRoleUser"]["Arn"], s.client("ecs", **kw).describe_clusters(clusters=["tsa-gallery"])["clusters"][0]["status"], k["Expiration"].tzinfo is not None)`,
		sim.URL(), demo.DeployRole)
	cmd.Env = append(append(os.Environ(), sim.Env()...), "AWS_ACCESS_KEY_ID="+demo.ToolingKey)
	got, err := cmd.CombinedOutput()
	if want := "arn:aws:sts::123456789012:assumed-role/tsa-gallery-deploy/deploystep-boto3 ACTIVE True"; err != nil || strings.TrimSpace(string(got)) != want {
		t.Errorf("boto3: %v: %s; want %s", err, got, want)
	}
	if n := sim.Effects().AssumeRoles[demo.DeployRole]; n != 5 {
		t.Errorf("%d sessions of %s handed out; want 5 (4 from the CLI, 1 from boto3; refused and invalid requests hand out none)", n, demo.DeployRole)
	}
}
