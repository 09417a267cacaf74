package deploy

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/deploystep/deploystep/deploy/cdn"
	"github.com/deploystep/deploystep/deploy/codedeployctl"
	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/predeploy"
	"github.com/deploystep/deploystep/deploy/report"
	"github.com/deploystep/deploystep/deploy/state"
	"github.com/deploystep/deploystep/deploy/step"
	"github.com/deploystep/deploystep/deploy/taskdef"
)

// DryRun makes no change: it checks read-only everything a real run needs (credentials, the
// cluster, each service ACTIVE on a controller deploystep drives, the image tag, each
// distribution; for a CODE_DEPLOY service its group and AppSpec), then renders the plan. Without
// credentials or a region it still renders the plan and says what it could not check. It returns
// ErrConfig when a check failed.
func (e *Engine) DryRun(ctx context.Context, st *state.State, creds aws.CredentialsProvider, region string) error {
	st.Init(e.Settings.Services)
	e.Begin(st)
	st.Phase = state.PhasePreflight
	var failed []string
	check := func(ok bool, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		e.Emit(report.Event{Kind: report.KindCheck, OK: &ok, Message: msg})
		if !ok {
			failed = append(failed, msg)
		}
	}
	var found dryRunFound
	e.Region, e.Credentials = region, creds
	if why := canCall(ctx, creds, region); why != "" {
		e.Emit(report.Event{Kind: report.KindCheck, Message: why})
	} else if err := e.whoami(ctx, st, step.Once); err != nil {
		check(false, "%s", strings.TrimPrefix(failure.FirstLine(err), "configuration: "))
	} else if found, err = e.dryRunReads(ctx, st, check); err != nil {
		return err
	}
	if len(e.Settings.VerifyURLs) > 0 {
		cdn.DryRun(ctx, e.Host)
	}
	plan := e.Plan(st, found.controllers)
	plan.Revisions = e.revisionLines
	if e.Settings.PredeployCommand != "" {
		plan.Predeploy = cmp.Or(found.predeploy, "not planned (the services were not read)")
	}
	for i, s := range plan.Services {
		if send, ok := found.sends[s.Name]; ok {
			plan.Services[i].Send = send
		}
	}
	e.Emit(report.Event{Kind: report.KindPlan, Message: plan.Render()})
	if len(failed) > 0 {
		return failure.New(failure.ErrConfig, "dry run: %d check(s) failed: %s", len(failed), strings.Join(failed, "; "))
	}
	return nil
}

// dryRunFound is what the dry run's reads found for its plan: each service's controller, what
// each CodeDeploy service would send, and the pre-deploy task it would run.
type dryRunFound struct {
	controllers, sends map[string]string
	predeploy          string
}

// dryRunReads makes the dry run's reads, once each, as check says: the cluster, the services
// and their service deployments, the distributions, the image's digest, what each distribution
// would invalidate, the revisions, the pre-deploy task and the CodeDeploy deployments.
func (e *Engine) dryRunReads(ctx context.Context, st *state.State, check func(ok bool, format string, args ...any)) (dryRunFound, error) {
	found := dryRunFound{controllers: map[string]string{}}
	v, err := e.verify(ctx, step.Once, true)
	if err != nil {
		return found, err
	}
	for _, c := range v.checks {
		check(c.OK, "%s", c.Message)
	}
	for _, name := range e.Settings.Services {
		if svc, ok := v.services[name]; ok {
			found.controllers[name] = controllerOf(svc)
		}
	}
	if e.Settings.Image != "" {
		c, cancel := context.WithTimeout(ctx, 20*time.Second)
		digest, err := e.resolveDigest(c)
		cancel()
		st.Digest = digest
		if err != nil {
			check(false, "image %s: %v", e.Settings.Image, failure.FirstLine(err))
		} else {
			check(true, "image %s: digest %s", e.Settings.Image, st.Digest)
		}
	}
	checks, err := cdn.Decide(ctx, e.Host, st, step.Once, v.services)
	if err != nil {
		return found, err
	}
	for _, c := range checks {
		check(c.OK, "%s", c.Message)
	}
	planned := e.dryRunRevisions(ctx, st, v, check)
	found.predeploy = e.dryRunPredeploy(ctx, st, v, planned, check)
	found.sends = e.dryRunCodeDeploy(ctx, st, v, planned, check)
	for _, p := range planned {
		e.revisionLines = append(e.revisionLines, p.Render())
	}
	return found, nil
}

// canCall says why nothing in AWS can be checked ("" when it can): no region, no credentials.
func canCall(ctx context.Context, creds aws.CredentialsProvider, region string) string {
	switch {
	case region == "":
		return "region: not set (AWS_REGION); nothing in AWS was checked"
	case creds == nil:
		return "credentials: none configured; nothing in AWS was checked"
	}
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := creds.Retrieve(c); err != nil {
		return fmt.Sprintf("credentials: none found (%v); nothing in AWS was checked", failure.FirstLine(err))
	}
	return ""
}

// dryRunCodeDeploy prepares the release of each CODE_DEPLOY service as a real run would (its
// group, task definition and AppSpec), checks it, and says what would be created.
func (e *Engine) dryRunCodeDeploy(ctx context.Context, st *state.State, v verified, planned map[string]*taskdef.Plan, check func(bool, string, ...any)) map[string]string {
	sends := map[string]string{}
	for _, name := range e.Settings.Services {
		s, ok := v.services[name]
		if !ok || controllerOf(s) != state.ControllerCodeDeploy {
			continue
		}
		r, err := codedeployctl.Prepare(ctx, e.Host, step.Once, name, s, planned[name].Deploys())
		if err != nil {
			check(false, "service %s: %s", name, strings.TrimPrefix(failure.FirstLine(err), "service "+name+": "))
			continue
		}
		check(true, "service %s: deployment group %s/%s; AppSpec valid: %s", name, r.Group.App, r.Group.Name, r.Describe)
		sends[name] = fmt.Sprintf("CodeDeploy CreateDeployment on %s/%s (AppSpec with task definition %s)", r.Group.App, r.Group.Name, failure.ShortARN(r.TaskDef))
	}
	return sends
}

// dryRunPredeploy plans the pre-deploy task on the revision PREDEPLOY_SERVICE would deploy and
// checks its container; it returns the task in words ("" without PREDEPLOY_COMMAND).
func (e *Engine) dryRunPredeploy(ctx context.Context, st *state.State, v verified, planned map[string]*taskdef.Plan, check func(bool, string, ...any)) string {
	name := e.Settings.PredeployOn()
	svc, ok := v.services[name]
	if e.Settings.PredeployCommand == "" || !ok {
		return ""
	}
	p := planned[name]
	if p == nil {
		p = &taskdef.Plan{Services: []string{name}, AsIs: aws.ToString(svc.TaskDefinition)}
	}
	pp, err := predeploy.FromPlans(ctx, e.Host, step.Once, st, []*taskdef.Plan{p}, v.services)
	if err != nil {
		check(false, "pre-deploy task: %s", strings.TrimPrefix(failure.FirstLine(err), "configuration: "))
		return "not planned: " + strings.TrimPrefix(failure.FirstLine(err), "configuration: ")
	}
	check(true, "pre-deploy task: PREDEPLOY_COMMAND runs in container %s (%s's revision)", pp.Container, name)
	if err := predeploy.ProbeLogs(ctx, e.Host, step.Once, pp); err != nil {
		check(false, "pre-deploy task: its log cannot be read: %s", failure.FirstLine(err))
	}
	return pp.Render(e.Settings.PredeployTimeout)
}

// dryRunRevisions plans the task-definition revisions (reading every base, registering
// nothing) and checks them; it returns each service's plan.
func (e *Engine) dryRunRevisions(ctx context.Context, st *state.State, v verified, check func(bool, string, ...any)) map[string]*taskdef.Plan {
	out := map[string]*taskdef.Plan{}
	if !e.Settings.Registers() {
		return out
	}
	for _, name := range e.Settings.Services {
		if _, ok := v.services[name]; !ok {
			return out // a service check failed: the bases are not known
		}
	}
	plans, err := taskdef.Plans(ctx, e.Host, step.Once, v.services, st.Digest)
	if err != nil {
		check(false, "task definition: %s", strings.TrimPrefix(failure.FirstLine(err), "configuration: "))
		return out
	}
	for _, p := range plans {
		check(true, "task definition: %s", p.Render())
		for _, name := range p.Services {
			out[name] = p
		}
	}
	return out
}
