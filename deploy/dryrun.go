package deploy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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

	canCall := true
	if region == "" {
		skip("region: not set (AWS_REGION); nothing in AWS was checked")
		canCall = false
	} else if creds == nil {
		skip("credentials: none configured; nothing in AWS was checked")
		canCall = false
	} else {
		c, cancel := context.WithTimeout(ctx, 20*time.Second)
		_, err := creds.Retrieve(c)
		cancel()
		if err != nil {
			skip("credentials: none found (%v); nothing in AWS was checked", firstLine(err))
			canCall = false
		}
	}
	controllers, cdPlans := map[string]string{}, map[string]string{}
	if canCall {
		v, err := e.verify(ctx, once, true)
		if err != nil {
			return err
		}
		for _, c := range v.checks {
			check(c.OK, "%s", c.Message)
		}
		for _, name := range e.Settings.Services {
			if svc, ok := v.services[name]; ok {
				controllers[name] = "ECS"
				if svc.DeploymentController != nil {
					controllers[name] = string(svc.DeploymentController.Type)
				}
			}
		}
		if e.Settings.Image != "" {
			c, cancel := context.WithTimeout(ctx, 20*time.Second)
			digest, err := e.resolveDigest(c)
			cancel()
			st.Digest = digest
			if err != nil {
				check(false, "image %s: %v", e.Settings.Image, firstLine(err))
			} else {
				check(true, "image %s: digest %s", e.Settings.Image, st.Digest)
			}
		}
		for _, name := range e.Settings.Services {
			if s, ok := v.services[name]; ok && isCodeDeploy(s) {
				c, plan := e.dryRunCodeDeploy(ctx, name, s, st.Digest)
				check(c.OK, "%s", c.Message)
				cdPlans[name] = plan
			}
		}
	}
	if len(e.Settings.VerifyURLs) > 0 {
		e.dryRunEdge(ctx)
	}
	e.emit(Event{Kind: KindPlan, Message: e.plan(st, controllers, cdPlans)})
	if len(failed) > 0 {
		return newError(ErrConfig, "dry run: %d check(s) failed: %s", len(failed), strings.Join(failed, "; "))
	}
	return nil
}

// plan says what a real run would do.
func (e *Engine) plan(st *State, controllers, cdPlans map[string]string) string {
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
		if p := cdPlans[s]; p != "" {
			fmt.Fprintf(&b, "\n  2. deploy:       %s: %s", s, p)
			continue
		}
		count := ""
		if n := e.Settings.DesiredCount; n != nil {
			count = fmt.Sprintf(" --desired-count %d", *n)
		}
		fmt.Fprintf(&b, "\n  2. deploy:       UpdateService --force-new-deployment%s %s/%s (deployment controller: %s)", count, e.Settings.Cluster, s, ctrl)
	}
	fmt.Fprintf(&b, "\n  3. follow:       the new deployment until COMPLETED and PRIMARY; fail after %s failed tasks; poll every %v",
		thresholdText(e.Settings.FailedTasks), e.Settings.Poll)
	if e.Settings.SkipInvalidation {
		b.WriteString("\n  4. invalidation: skipped (-skip-invalidation)")
	} else {
		fmt.Fprintf(&b, "\n  4. invalidation: %s on %s, CallerReference %s, then wait until Completed",
			strings.Join(e.Settings.Paths, " "), strings.Join(e.Settings.Distributions, ", "), st.Run.CallerRef)
	}
	if len(e.Settings.VerifyURLs) > 0 {
		var urls []string
		for _, u := range e.Settings.VerifyURLs {
			urls = append(urls, redactURL(u))
		}
		want := "status 2xx (no VERIFY_EXPECT, no IMAGE tag)"
		if x := e.Settings.Expected(); x != "" {
			want = "status 2xx with version " + x
			if e.Settings.VerifyHeader != "" {
				want += " in " + e.Settings.VerifyHeader
			}
		}
		fmt.Fprintf(&b, "\n  5. verify:       GET %s until %s, at most %v", strings.Join(urls, ", "), want, e.Settings.VerifyTimeout)
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
