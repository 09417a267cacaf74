package deploy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// DryRun makes no change: it checks read-only everything a real run needs (credentials, the
// cluster, each service ACTIVE with the ECS deployment controller, the image tag, each
// distribution), then reports the plan. Without credentials or a region it still reports the
// plan and says what it could not check. It returns ErrConfig when a check failed.
func (e *Engine) DryRun(ctx context.Context, st *State, creds aws.CredentialsProvider, region string) error {
	st.init()
	e.st = st
	st.Phase = PhasePreflight
	var failed []string
	check := func(ok bool, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		e.emit(Event{Kind: KindCheck, OK: &ok, Message: msg})
		if !ok {
			failed = append(failed, msg)
		}
	}
	skip := func(format string, args ...any) {
		e.emit(Event{Kind: KindCheck, Message: fmt.Sprintf(format, args...)})
	}
	call := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, 20*time.Second) }

	canCall := true
	if region == "" {
		skip("region: not set (AWS_REGION); nothing in AWS was checked")
		canCall = false
	} else if creds == nil {
		skip("credentials: none configured; nothing in AWS was checked")
		canCall = false
	} else {
		c, cancel := call()
		_, err := creds.Retrieve(c)
		cancel()
		if err != nil {
			skip("credentials: none found (%v); nothing in AWS was checked", firstLine(err))
			canCall = false
		}
	}
	controllers := map[string]string{}
	if canCall {
		c, cancel := call()
		cl, err := e.ECS.DescribeClusters(c, &ecs.DescribeClustersInput{Clusters: []string{e.Settings.Cluster}})
		cancel()
		switch {
		case err != nil:
			check(false, "cluster %s: %v", e.Settings.Cluster, firstLine(classify(err, "DescribeClusters")))
		case len(cl.Clusters) == 0:
			check(false, "cluster %s: not found", e.Settings.Cluster)
		default:
			check(aws.ToString(cl.Clusters[0].Status) == "ACTIVE", "cluster %s: %s (credentials work)", e.Settings.Cluster, aws.ToString(cl.Clusters[0].Status))
		}
		c, cancel = call()
		services, err := e.describe(c, e.Settings.Services)
		cancel()
		for _, name := range e.Settings.Services {
			s, ok := services[name]
			switch {
			case err != nil:
				check(false, "service %s: %v", name, firstLine(err))
			case !ok:
				check(false, "service %s: not found in cluster %s", name, e.Settings.Cluster)
			default:
				ctrl := "ECS"
				if s.DeploymentController != nil {
					ctrl = string(s.DeploymentController.Type)
				}
				controllers[name] = ctrl
				breaker := "off: deploystep's failed-task threshold will catch a crash loop"
				if cb := s.DeploymentConfiguration; cb != nil && cb.DeploymentCircuitBreaker != nil && cb.DeploymentCircuitBreaker.Enable {
					breaker = "on"
					if cb.DeploymentCircuitBreaker.Rollback {
						breaker += ", with rollback"
					}
				}
				check(aws.ToString(s.Status) == "ACTIVE" && ctrl == string(ecstypes.DeploymentControllerTypeEcs),
					"service %s: %s, %s deployment controller, deployment %s running %d/%d, task definition %s, circuit breaker %s",
					name, aws.ToString(s.Status), ctrl, primaryID(s), s.RunningCount, s.DesiredCount, shortARN(aws.ToString(s.TaskDefinition)), breaker)
			}
		}
		if e.Settings.Image != "" {
			c, cancel = call()
			digest, err := e.resolveDigest(c)
			cancel()
			st.Digest = digest
			if err != nil {
				check(false, "image %s: %v", e.Settings.Image, firstLine(err))
			} else {
				check(true, "image %s: digest %s", e.Settings.Image, st.Digest)
			}
		}
		if !e.Settings.SkipInvalidation {
			for _, d := range e.Settings.Distributions {
				c, cancel = call()
				out, err := e.CloudFront.GetDistribution(c, &cloudfront.GetDistributionInput{Id: aws.String(d)})
				cancel()
				if err != nil {
					check(false, "distribution %s: %v", d, firstLine(classify(err, "GetDistribution")))
					continue
				}
				check(true, "distribution %s: %s, %s", d, aws.ToString(out.Distribution.Status), aws.ToString(out.Distribution.DomainName))
			}
		}
	}
	e.emit(Event{Kind: KindPlan, Message: e.plan(st, controllers)})
	if len(failed) > 0 {
		return newError(ErrConfig, "dry run: %d check(s) failed: %s", len(failed), strings.Join(failed, "; "))
	}
	return nil
}

// plan says what a real run would do.
func (e *Engine) plan(st *State, controllers map[string]string) string {
	var b strings.Builder
	b.WriteString("plan (dry run, nothing was changed):")
	img := "not checked (IMAGE not set)"
	if e.Settings.Image != "" {
		img = e.Settings.Image
		if st.Digest != "" {
			img += " = " + st.Digest
		}
	}
	fmt.Fprintf(&b, "\n  1. image:        %s", img)
	for _, s := range e.Settings.Services {
		ctrl := controllers[s]
		if ctrl == "" {
			ctrl = "not checked"
		}
		fmt.Fprintf(&b, "\n  2. deploy:       UpdateService --force-new-deployment %s/%s (deployment controller: %s)", e.Settings.Cluster, s, ctrl)
	}
	fmt.Fprintf(&b, "\n  3. follow:       the new deployment until COMPLETED and PRIMARY; fail after %s failed tasks; poll every %v",
		thresholdText(e.Settings.FailedTasks), e.Settings.Poll)
	if e.Settings.SkipInvalidation {
		b.WriteString("\n  4. invalidation: skipped (-skip-invalidation)")
	} else {
		fmt.Fprintf(&b, "\n  4. invalidation: %s on %s, CallerReference %s, then wait until Completed",
			strings.Join(e.Settings.Paths, " "), strings.Join(e.Settings.Distributions, ", "), st.Run.CallerRef)
	}
	fmt.Fprintf(&b, "\n  time limit:      %v", e.Settings.Timeout)
	return b.String()
}

func thresholdText(n int) string {
	if n > 0 {
		return fmt.Sprint(n)
	}
	return "max(3, desired/2)"
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
