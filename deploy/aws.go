package deploy

import (
	"context"
	"net"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/deploystep/deploystep/deploy/awsapi"
	"github.com/deploystep/deploystep/deploy/edge"
	"github.com/deploystep/deploystep/deploy/report"
	"github.com/deploystep/deploystep/deploy/settings"
	"github.com/deploystep/deploystep/deploy/step"
)

// LoadAWS reads the standard SDK configuration chain: environment, shared config and profiles,
// container and instance credentials, AWS_REGION, and the endpoint overrides AWS_ENDPOINT_URL
// and AWS_ENDPOINT_URL_<SERVICE>. Throttling and 5xx answers are retried with jittered backoff
// and no client-side retry quota, so a storm slows a run down instead of failing it; each
// attempt is bounded so a hung connection cannot stall a run.
func LoadAWS(ctx context.Context) (aws.Config, error) {
	return config.LoadDefaultConfig(ctx,
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 8
				o.MaxBackoff = 5 * time.Second
				o.RateLimiter = ratelimit.None
			})
		}),
		// A 5 s connect timeout: an endpoint with no route (a build in a VPC without a way out)
		// is said in seconds, not after the default 30 s per attempt.
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(30*time.Second).
			WithDialerOptions(func(d *net.Dialer) { d.Timeout = 5 * time.Second })),
	)
}

// NewEngine builds an engine with SDK clients from cfg. ECR is asked in the image's region. With
// ROLE_ARN the release's clients sign with the role session (role.go); STS and Credentials stay
// the caller's, which assume it.
func NewEngine(cfg aws.Config, s settings.Settings, r report.Reporter) *Engine {
	caller := cfg
	var role *RoleSession
	if s.RoleARN != "" {
		role = newRoleSession(sts.NewFromConfig(caller), s.RoleARN, s.RoleExternalID)
		cfg = caller.Copy()
		cfg.Credentials = role.Credentials
		role.STS = sts.NewFromConfig(cfg)
	}
	ecrCfg := cfg.Copy()
	if s.ImageRef.Region != "" {
		ecrCfg.Region = s.ImageRef.Region
	}
	return &Engine{
		Host: &step.Host{Settings: s, Report: r, Edge: edge.NewClient(cfg.HTTPClient), Clients: awsapi.Clients{
			ECS:        ecs.NewFromConfig(cfg),
			ECR:        ecr.NewFromConfig(ecrCfg),
			CloudFront: cloudfront.NewFromConfig(cfg),
			ELB:        elasticloadbalancingv2.NewFromConfig(cfg),
			CodeDeploy: codedeploy.NewFromConfig(cfg),
			Logs:       cloudwatchlogs.NewFromConfig(cfg),
		}},
		STS:         sts.NewFromConfig(caller),
		Role:        role,
		Region:      cfg.Region,
		Credentials: caller.Credentials,
	}
}
