package awsim_test

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
	"github.com/deploystep/deploystep/internal/testtool"
)

const (
	demoService = "arn:aws:ecs:us-east-1:123456789012:service/tsa-gallery/api"
	demoSDs     = "arn:aws:ecs:us-east-1:123456789012:service-deployment/tsa-gallery/api/*"
)

// worldWithPolicy is the demo world whose placeholder identity (the lab's CodeBuild role)
// carries the policy doc.
func worldWithPolicy(t *testing.T, doc string) *awsim.Server {
	t.Helper()
	cfg := demo.Config(awsim.Success, 0, 0)
	cfg.Policies = []json.RawMessage{json.RawMessage(doc)}
	return testtool.Sim(t, cfg)
}

// firstSD is the service's newest service deployment, read with an identity without policies.
func firstSD(t *testing.T) string {
	t.Helper()
	sim := testtool.Sim(t, demo.Config(awsim.Success, 0, 0))
	out, err := ecs.NewFromConfig(sim.AWSConfig()).ListServiceDeployments(context.Background(),
		&ecs.ListServiceDeploymentsInput{Cluster: aws.String(demo.Cluster), Service: aws.String(demo.Service)})
	if err != nil || len(out.ServiceDeployments) == 0 {
		t.Fatalf("no service deployment: %v", err)
	}
	return aws.ToString(out.ServiceDeployments[0].ServiceDeploymentArn)
}

// The case of issue #32: a grant on the service deployments alone does not allow
// DescribeServiceDeployments, whose reference row requires the service too. The refusal is ECS's
// typed AccessDeniedException with IAM's message; granting the service as well allows it.
func TestIAMServiceDeploymentNeedsTheService(t *testing.T) {
	t.Parallel()
	sd := firstSD(t)
	only := `{"Version":"2012-10-17","Statement":[
	  {"Sid":"Service","Effect":"Allow","Action":["ecs:DescribeServices","ecs:ListServiceDeployments"],"Resource":"` + demoService + `"},
	  {"Sid":"ServiceDeployments","Effect":"Allow","Action":"ecs:DescribeServiceDeployments","Resource":"` + demoSDs + `"}]}`
	sim := worldWithPolicy(t, only)
	c := ecs.NewFromConfig(sim.AWSConfig())
	ctx := context.Background()
	if _, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(demo.Cluster), Services: []string{demo.Service}}); err != nil {
		t.Fatalf("DescribeServices, allowed by the Service statement: %v", err)
	}
	_, err := c.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{sd}})
	var ade *ecstypes.AccessDeniedException
	if !errors.As(err, &ade) {
		t.Fatalf("DescribeServiceDeployments with the service-deployment grant only: %v, want AccessDeniedException", err)
	}
	want := "User: " + awsim.PlaceholderRoleARN + " is not authorized to perform: ecs:DescribeServiceDeployments on resource: " + demoService +
		" because no identity-based policy allows the ecs:DescribeServiceDeployments action"
	if aws.ToString(ade.Message) != want {
		t.Errorf("message\n got  %s\n want %s", aws.ToString(ade.Message), want)
	}

	both := strings.Replace(only, `"Resource":"`+demoSDs+`"`, `"Resource":["`+demoService+`","`+demoSDs+`"]`, 1)
	sim = worldWithPolicy(t, both)
	c = ecs.NewFromConfig(sim.AWSConfig())
	if _, err := c.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{sd}}); err != nil {
		t.Fatalf("DescribeServiceDeployments on the service and its deployments: %v", err)
	}
	for _, call := range sim.Calls() {
		if call.Op == "DescribeServiceDeployments" && strings.Join(call.AllowedBy, ",") != "ServiceDeployments" {
			t.Errorf("allowed by %q, want the statement ServiceDeployments", call.AllowedBy)
		}
	}
}

// An explicit Deny wins; CloudFront and Elastic Load Balancing answer AccessDenied, 403, in their
// formats; an action without resource types is allowed only by Resource "*".
func TestIAMDenyFormats(t *testing.T) {
	t.Parallel()
	sim := worldWithPolicy(t, `{"Statement":[
	  {"Effect":"Allow","Action":["ecs:*","cloudfront:*"],"Resource":"*"},
	  {"Sid":"NoInvalidations","Effect":"Deny","Action":"cloudfront:CreateInvalidation","Resource":"*"},
	  {"Effect":"Allow","Action":"elasticloadbalancing:DescribeTargetGroups","Resource":"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/*"}]}`)
	ctx := context.Background()
	cf := cloudfront.NewFromConfig(sim.AWSConfig())
	if _, err := cf.GetDistribution(ctx, &cloudfront.GetDistributionInput{Id: aws.String(demo.Distribution)}); err != nil {
		t.Fatalf("GetDistribution: %v", err)
	}
	_, err := cf.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{DistributionId: aws.String(demo.Distribution),
		InvalidationBatch: &cftypes.InvalidationBatch{CallerReference: aws.String("deploystep-0f1e2d3c"),
			Paths: &cftypes.Paths{Quantity: aws.Int32(1), Items: []string{"/*"}}}})
	var denied *cftypes.AccessDenied
	if !errors.As(err, &denied) || !strings.Contains(aws.ToString(denied.Message), "with an explicit deny in an identity-based policy") {
		t.Errorf("CreateInvalidation under an explicit Deny: %v, want CloudFront's AccessDenied naming the explicit deny", err)
	}
	if n := sim.Effects().Invalidations[demo.Distribution]; n != 0 {
		t.Errorf("a refused CreateInvalidation created %d invalidations", n)
	}
	elb := elasticloadbalancingv2.NewFromConfig(sim.AWSConfig())
	_, err = elb.DescribeTargetGroups(ctx, &elasticloadbalancingv2.DescribeTargetGroupsInput{})
	if err == nil || !strings.Contains(err.Error(), "AccessDenied") || !strings.Contains(err.Error(), "on resource: *") {
		t.Errorf("DescribeTargetGroups granted on target group ARNs only: %v, want AccessDenied on resource *", err)
	}
}

// A role's policies are its sessions'; the caller's own policy must allow sts:AssumeRole.
func TestIAMRoleSessionsActUnderTheRolesPolicy(t *testing.T) {
	t.Parallel()
	cfg := demo.Config(awsim.Success, 0, 0)
	cfg.Identities[0].Policies = []json.RawMessage{json.RawMessage(`{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"` + demo.DeployRole + `"}]}`)}
	cfg.Roles[0].Policies = []json.RawMessage{json.RawMessage(`{"Statement":[{"Effect":"Allow","Action":"ecs:DescribeServices","Resource":"` + demoService + `"}]}`)}
	sim := testtool.Sim(t, cfg)
	tooling := sim.AWSConfig()
	tooling.Credentials = aws.NewCredentialsCache(staticCreds(demo.ToolingKey))
	ctx := context.Background()
	out, err := sts.NewFromConfig(tooling).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(demo.DeployRole), RoleSessionName: aws.String("deploystep-0f1e2d3c")})
	if err != nil {
		t.Fatalf("AssumeRole allowed by the caller's policy and the trust policy: %v", err)
	}
	session := sim.AWSConfig()
	session.Credentials = aws.NewCredentialsCache(sessionCreds(out))
	c := ecs.NewFromConfig(session)
	if _, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(demo.Cluster), Services: []string{demo.Service}}); err != nil {
		t.Errorf("the session's DescribeServices, allowed by the role's policy: %v", err)
	}
	_, err = c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(demo.Cluster), Service: aws.String(demo.Service), ForceNewDeployment: true})
	var ade *ecstypes.AccessDeniedException
	if !errors.As(err, &ade) || !strings.Contains(aws.ToString(ade.Message), "assumed-role/tsa-gallery-deploy/deploystep-0f1e2d3c is not authorized to perform: ecs:UpdateService") {
		t.Errorf("the session's UpdateService, which the role's policy does not allow: %v", err)
	}
	if n := sim.Effects().Deployments[demo.Cluster+"/"+demo.Service]; n != 0 {
		t.Errorf("a refused UpdateService started %d deployments", n)
	}

	cfg.Identities[0].Policies = []json.RawMessage{json.RawMessage(`{"Statement":[{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}]}`)}
	sim = testtool.Sim(t, cfg)
	tooling = sim.AWSConfig()
	tooling.Credentials = aws.NewCredentialsCache(staticCreds(demo.ToolingKey))
	_, err = sts.NewFromConfig(tooling).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(demo.DeployRole), RoleSessionName: aws.String("deploystep-0f1e2d3c")})
	if err == nil || !strings.Contains(err.Error(), "because no identity-based policy allows the sts:AssumeRole action") {
		t.Errorf("AssumeRole the caller's policy does not allow: %v", err)
	}
}

// The AWS CLI v2 reads the refusal as AWS's: the error code and IAM's message.
func TestIAMDenialThroughTheCLI(t *testing.T) {
	t.Parallel()
	sim := worldWithPolicy(t, `{"Statement":[{"Effect":"Allow","Action":"ecs:DescribeServices","Resource":"`+demoService+`"}]}`)
	cmd := exec.Command(testtool.AWSCLI(t), "--endpoint-url", sim.URL(), "ecs", "update-service", "--cluster", demo.Cluster,
		"--service", demo.Service, "--force-new-deployment")
	cmd.Env = sim.Env()
	out, err := cmd.CombinedOutput()
	want := "An error occurred (AccessDeniedException) when calling the UpdateService operation: User: " + awsim.PlaceholderRoleARN +
		" is not authorized to perform: ecs:UpdateService on resource: " + demoService
	if err == nil || !strings.Contains(string(out), want) {
		t.Errorf("aws ecs update-service: %v\n%s\nwant %s", err, out, want)
	}
}

// staticCreds signs as one of the world's long-term identities (awsim checks no secret).
func staticCreds(key string) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: key, SecretAccessKey: awsim.SecretAccessKey}, nil
	})
}

// sessionCreds signs with the credentials AssumeRole handed out.
func sessionCreds(out *sts.AssumeRoleOutput) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		c := out.Credentials
		return aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey),
			SessionToken: aws.ToString(c.SessionToken)}, nil
	})
}
