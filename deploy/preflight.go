package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/deploystep/deploystep/deploy/ecsctl"
	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/settings"
	"github.com/deploystep/deploystep/deploy/state"
	"github.com/deploystep/deploystep/deploy/step"
)

// The preflight: what a run needs, checked before anything changes, in the manner of ecspresso's
// verify. One set of checks serves the real run (the preflight step fails on any of them) and
// the dry run (which reports each). verify reads; the checks are pure functions of what it read.

// verified is what verify found.
type verified struct {
	checks   []step.Check
	services map[string]ecstypes.Service // by name and ARN
}

func (v verified) failed() []string {
	var out []string
	for _, c := range v.checks {
		if !c.OK {
			out = append(out, c.Message)
		}
	}
	return out
}

// verify reads the services (with their tags, which the deploy phase needs) and the
// distributions, and checks each; the dry run also reads the cluster (a real run learns that the
// cluster exists from DescribeServices, which answers ClusterNotFoundException otherwise). The
// service deployment reads the follow makes are tried on one service (the dry run: on every one),
// so that a refusal ends the run before anything changes. Its error is the end of ctx, nothing
// else: a failed read is a failed check.
func (e *Engine) verify(ctx context.Context, read step.Reader, dry bool) (verified, error) {
	var v verified
	if dry {
		var cl *ecs.DescribeClustersOutput
		err := read(ctx, "reading the cluster", func(ctx context.Context) (err error) {
			err = e.Read(ctx, false, func() (err error) {
				cl, err = e.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{e.Settings.Cluster}})
				return err
			})
			return failure.Classify(err, "DescribeClusters")
		})
		if ctx.Err() != nil {
			return v, ctx.Err()
		}
		v.checks = append(v.checks, clusterCheck(e.Settings.Cluster, e.Caller(), cl, err))
	}
	err := read(ctx, "reading the services", func(ctx context.Context) (err error) {
		v.services, err = e.DescribeWith(ctx, e.Settings.Services, []ecstypes.ServiceField{ecstypes.ServiceFieldTags})
		return err
	})
	if ctx.Err() != nil {
		return v, ctx.Err()
	}
	var cnf *ecstypes.ClusterNotFoundException
	if errors.As(err, &cnf) { // one check, not one a service; the dry run's cluster check said it
		if !dry {
			v.checks = append(v.checks, clusterCheck(e.Settings.Cluster, e.Caller(), nil, nil))
		}
	} else if err := e.checkServices(ctx, &v, err, dry); err != nil {
		return v, err
	}
	if e.Settings.SkipInvalidation {
		return v, nil
	}
	for _, d := range e.Settings.Distributions {
		var out *cloudfront.GetDistributionOutput
		err := read(ctx, "reading the distribution", func(ctx context.Context) (err error) {
			out, err = e.CloudFront.GetDistribution(ctx, &cloudfront.GetDistributionInput{Id: aws.String(d)})
			return failure.Classify(err, "distribution "+d)
		})
		if ctx.Err() != nil {
			return v, ctx.Err()
		}
		var dist *cftypes.Distribution
		if out != nil {
			dist = out.Distribution
		}
		v.checks = append(v.checks, distributionCheck(d, e.Caller(), dist, err))
	}
	return v, nil
}

// checkServices checks each service as read (or the error reading them, readErr), then reads the
// service deployments of the first ECS service that passed (the dry run: of each), so that a
// refusal is said before anything changes.
func (e *Engine) checkServices(ctx context.Context, v *verified, readErr error, dry bool) error {
	var probe []string
	for _, name := range e.Settings.Services {
		s, ok := v.services[name]
		c := serviceCheck(e.Settings, e.Caller(), name, s, ok, readErr)
		v.checks = append(v.checks, c)
		if c.OK && (s.DeploymentController == nil || s.DeploymentController.Type == ecstypes.DeploymentControllerTypeEcs) && (dry || len(probe) == 0) {
			probe = append(probe, name)
		}
	}
	for _, name := range probe {
		c, err := e.probeSD(ctx, name)
		if err != nil {
			return err
		}
		if c.Message != "" {
			v.checks = append(v.checks, c)
		}
	}
	return nil
}

// probeSD reads the service's newest service deployment as the follow will (ListServiceDeployments,
// DescribeServiceDeployments): once, each with the SDK's own retry, since only a refusal is
// looked for. A refusal fails the check; the API not being available here passes (the follow
// judges deployments[] then, and says so); any other failure passes unsaid, the follow's to meet.
func (e *Engine) probeSD(ctx context.Context, name string) (step.Check, error) {
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	retry := func(o *ecs.Options) { o.RetryMaxAttempts = 2 }
	list, err := e.ECS.ListServiceDeployments(c, &ecs.ListServiceDeploymentsInput{Cluster: aws.String(e.Settings.Cluster),
		Service: aws.String(name), MaxResults: aws.Int32(1)}, retry)
	if err == nil && len(list.ServiceDeployments) > 0 {
		_, err = e.ECS.DescribeServiceDeployments(c, &ecs.DescribeServiceDeploymentsInput{
			ServiceDeploymentArns: []string{aws.ToString(list.ServiceDeployments[0].ServiceDeploymentArn)}}, retry)
		err = failure.Classify(err, "DescribeServiceDeployments "+name)
	} else {
		err = failure.Classify(err, "ListServiceDeployments "+name)
	}
	switch {
	case ctx.Err() != nil:
		return step.Check{}, ctx.Err()
	case errors.Is(err, failure.ErrAccessDenied):
		return step.Check{OK: false, Message: fmt.Sprintf("service %s: its service deployments, which the follow reads, cannot be: %s", name, failure.FirstLine(err))}, nil
	case ecsctl.Unsupported(err):
		return step.Check{OK: true, Message: fmt.Sprintf("service %s: the service deployment API is not available here (%s): its deployments are judged by deployments[]", name, failure.FirstLine(err))}, nil
	case err != nil:
		return step.Check{}, nil
	}
	return step.Check{OK: true, Message: fmt.Sprintf("service %s: its service deployments can be read (ecs:ListServiceDeployments, ecs:DescribeServiceDeployments)", name)}, nil
}

// clusterCheck: the cluster exists and is ACTIVE.
func clusterCheck(name string, at state.Caller, out *ecs.DescribeClustersOutput, err error) step.Check {
	switch {
	case err != nil:
		return step.Check{OK: false, Message: fmt.Sprintf("cluster %s: %s", name, failure.FirstLine(err))}
	case out == nil || len(out.Clusters) == 0:
		return step.Check{OK: false, Message: strings.TrimSpace(fmt.Sprintf("cluster %s: not found %s", name, at.Where())) + ": CLUSTER names no cluster there " +
			"(clusters are regional: check the name, AWS_REGION, and which account the credentials are for)"}
	case strings.EqualFold(aws.ToString(out.Clusters[0].Status), "INACTIVE"):
		return step.Check{OK: false, Message: fmt.Sprintf("cluster %s: INACTIVE (deleted; ECS keeps a deleted cluster's record for a while)", name)}
	}
	status := aws.ToString(out.Clusters[0].Status)
	return step.Check{OK: strings.EqualFold(status, "ACTIVE"), Message: fmt.Sprintf("cluster %s: %s (credentials work)", name, status)}
}

// serviceCheck: the service exists in the cluster, is ACTIVE, and is on the ECS deployment
// controller (UpdateService cannot start a CODE_DEPLOY or EXTERNAL service's deployment).
func serviceCheck(set settings.Settings, at state.Caller, name string, s ecstypes.Service, found bool, err error) step.Check {
	cluster := set.Cluster
	switch {
	case err != nil:
		return step.Check{OK: false, Message: fmt.Sprintf("service %s: %s", name, failure.FirstLine(err))}
	case !found:
		return step.Check{OK: false, Message: strings.TrimSpace(fmt.Sprintf("service %s: not found in cluster %s %s", name, cluster, at.Where())) +
			" (SERVICE lists the cluster's service names or ARNs, comma-separated)"}
	case strings.EqualFold(aws.ToString(s.Status), "INACTIVE"):
		return step.Check{OK: false, Message: fmt.Sprintf("service %s: INACTIVE in cluster %s (deleted; recreate it, or remove it from SERVICE)", name, cluster)}
	}
	ctrl := "ECS"
	if s.DeploymentController != nil {
		ctrl = string(s.DeploymentController.Type)
	}
	breaker := "off: deploystep's failed-task threshold will catch a crash loop"
	if cb := s.DeploymentConfiguration; cb != nil && cb.DeploymentCircuitBreaker != nil && cb.DeploymentCircuitBreaker.Enable {
		breaker = "on"
		if cb.DeploymentCircuitBreaker.Rollback {
			breaker += ", with rollback"
		}
	}
	status := aws.ToString(s.Status)
	msg := fmt.Sprintf("service %s: %s, %s deployment controller, deployment %s running %d/%d, task definition %s, circuit breaker %s",
		name, status, ctrl, ecsctl.PrimaryID(s), s.RunningCount, s.DesiredCount, failure.ShortARN(aws.ToString(s.TaskDefinition)), breaker)
	supported := ctrl == string(ecstypes.DeploymentControllerTypeEcs) || ctrl == string(ecstypes.DeploymentControllerTypeCodeDeploy)
	switch {
	case ctrl == string(ecstypes.DeploymentControllerTypeCodeDeploy) && set.DesiredCount != nil:
		return step.Check{OK: false, Message: fmt.Sprintf("service %s: DESIRED_COUNT is set, but the service is on the CODE_DEPLOY controller, "+
			"whose deployments keep the task count; unset DESIRED_COUNT, or set the count with UpdateService outside the release", name)}
	case ctrl == string(ecstypes.DeploymentControllerTypeCodeDeploy):
		msg = fmt.Sprintf("service %s: %s, CODE_DEPLOY deployment controller (the release is a CodeDeploy blue/green deployment), %d/%d running, task definition %s",
			name, status, s.RunningCount, s.DesiredCount, failure.ShortARN(aws.ToString(s.TaskDefinition)))
	case !supported:
		msg += "; deploystep drives the ECS and CODE_DEPLOY deployment controllers only"
	}
	return step.Check{OK: strings.EqualFold(status, "ACTIVE") && supported, Message: msg}
}

// distributionCheck: the distribution exists.
func distributionCheck(id string, at state.Caller, d *cftypes.Distribution, err error) step.Check {
	var nsd *cftypes.NoSuchDistribution
	switch {
	case errors.As(err, &nsd) || err == nil && d == nil:
		where := "in this account"
		if at.Account != "" {
			where = "in account " + at.Account
		}
		return step.Check{OK: false, Message: fmt.Sprintf("distribution %s: not found %s (CloudFront is global, so the region does not matter: "+
			"the id is wrong, or the distribution is another account's; DISTRIBUTIONID is the E... id, listed by aws cloudfront list-distributions)", id, where)}
	case err != nil:
		return step.Check{OK: false, Message: fmt.Sprintf("distribution %s: %s", id, strings.TrimPrefix(failure.FirstLine(err), "distribution "+id+": "))}
	}
	return step.Check{OK: true, Message: fmt.Sprintf("distribution %s: %s, %s", id, aws.ToString(d.Status), aws.ToString(d.DomainName))}
}
