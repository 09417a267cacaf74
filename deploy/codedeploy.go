package deploy

// Services on the CODE_DEPLOY deployment controller: UpdateService cannot change what they run;
// a release is a CodeDeploy blue/green deployment with an AppSpec. deploystep finds the
// deployment group, creates the deployment exactly once, and follows it to its end:
//
//	deployment group ─► AppSpec ─► CreateDeployment ─► GetDeployment + GetDeploymentTarget ─► DecideCodeDeploy
//
//   - The group is CODEDEPLOY_APPLICATION / CODEDEPLOY_DEPLOYMENT_GROUP, or else the one group
//     whose ecsServices names this cluster and service (ListApplications, ListDeploymentGroups,
//     BatchGetDeploymentGroups); none or several is a configuration error naming what was searched.
//   - The AppSpec (JSON, which CodeDeploy takes as YAML) names the service's task definition, or
//     the registered revision of its family whose container image is IMAGE; the container name
//     and port of the service's load balancer; and the hooks of the group's last successful
//     deployment (its AppSpec content).
//   - Exactly once: the deployment's description carries the release's CallerReference. Before
//     creating, the group's recent deployments are listed and one with that description is
//     adopted (a re-run, a re-delivered Lambda event, a CreateDeployment whose answer was lost).
//   - The verdict (DecideCodeDeploy, pure): Succeeded is done, or with WAIT_UNTIL=traffic-shifted
//     all production traffic on the replacement task set; Failed and Stopped fail with CodeDeploy's
//     errorInformation, the lifecycle event that failed and the rollback deployment it started.
//     With IMAGE, the replacement task set's tasks must run the pushed digest.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"gopkg.in/yaml.v3"
)

// CodeDeployAPI is the CodeDeploy calls deploystep makes for services on the CODE_DEPLOY controller.
type CodeDeployAPI interface {
	ListApplications(context.Context, *codedeploy.ListApplicationsInput, ...func(*codedeploy.Options)) (*codedeploy.ListApplicationsOutput, error)
	ListDeploymentGroups(context.Context, *codedeploy.ListDeploymentGroupsInput, ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentGroupsOutput, error)
	BatchGetDeploymentGroups(context.Context, *codedeploy.BatchGetDeploymentGroupsInput, ...func(*codedeploy.Options)) (*codedeploy.BatchGetDeploymentGroupsOutput, error)
	CreateDeployment(context.Context, *codedeploy.CreateDeploymentInput, ...func(*codedeploy.Options)) (*codedeploy.CreateDeploymentOutput, error)
	GetDeployment(context.Context, *codedeploy.GetDeploymentInput, ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentOutput, error)
	ListDeployments(context.Context, *codedeploy.ListDeploymentsInput, ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentsOutput, error)
	StopDeployment(context.Context, *codedeploy.StopDeploymentInput, ...func(*codedeploy.Options)) (*codedeploy.StopDeploymentOutput, error)
	ListDeploymentTargets(context.Context, *codedeploy.ListDeploymentTargetsInput, ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentTargetsOutput, error)
	GetDeploymentTarget(context.Context, *codedeploy.GetDeploymentTargetInput, ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentTargetOutput, error)
}

// codeDeployImplied are the actions IAM checks for CreateDeployment beyond its own: the
// deployment configuration it reads and the revision it registers (CodeDeploy's permissions
// reference; every published policy for ECS blue/green deployments grants them).
var codeDeployImplied = []string{"codedeploy:GetDeploymentConfig", "codedeploy:RegisterApplicationRevision"}

// cdHookEvents are the ECS lifecycle events an AppSpec may name hooks for (CodeDeploy user
// guide, AppSpec "hooks" section for an Amazon ECS deployment).
var cdHookEvents = []string{"BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic"}

// cdGroup is the deployment group a CODE_DEPLOY service deploys through.
type cdGroup struct {
	App, Name      string
	LastSuccessful string
}

func isCodeDeploy(s ecstypes.Service) bool {
	return s.DeploymentController != nil && s.DeploymentController.Type == ecstypes.DeploymentControllerTypeCodeDeploy
}

// isCDDeployment reports whether the deployment followed is a CodeDeploy one (d-XXXXXXXXX).
func isCDDeployment(id string) bool { return strings.HasPrefix(id, "d-") }

// findGroup finds the deployment group of a CODE_DEPLOY service.
func (e *Engine) findGroup(ctx context.Context, read reader, name string) (cdGroup, error) {
	app, group := e.Settings.CodeDeployApplication, e.Settings.CodeDeployGroup
	searched := "every application and deployment group"
	var apps []string
	switch {
	case app != "" && group != "":
	case app != "":
		apps, searched = []string{app}, "the deployment groups of application "+app
	default:
		err := read(ctx, "ListApplications", func(ctx context.Context) error {
			apps = nil
			p := codedeploy.NewListApplicationsPaginator(e.CodeDeploy, &codedeploy.ListApplicationsInput{})
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					return classify(err, "ListApplications")
				}
				apps = append(apps, out.Applications...)
			}
			return nil
		})
		if err != nil {
			return cdGroup{}, err
		}
	}
	var found []cdGroup
	if app != "" && group != "" {
		infos, err := e.groupInfos(ctx, read, app, []string{group})
		if err != nil {
			return cdGroup{}, err
		}
		if len(infos) == 0 {
			return cdGroup{}, newError(ErrConfig, "service %s: deployment group %s of application %s not found (CODEDEPLOY_APPLICATION, CODEDEPLOY_DEPLOYMENT_GROUP)", name, group, app)
		}
		g := infos[0]
		if !namesService(g, e.Settings.Cluster, name) {
			return cdGroup{}, newError(ErrConfig, "service %s: deployment group %s/%s deploys %s, not %s/%s", name, app, group, ecsServicesOf(g), e.Settings.Cluster, name)
		}
		return groupOf(g), nil
	}
	for _, a := range apps {
		var groups []string
		err := read(ctx, "ListDeploymentGroups", func(ctx context.Context) error {
			groups = nil
			p := codedeploy.NewListDeploymentGroupsPaginator(e.CodeDeploy, &codedeploy.ListDeploymentGroupsInput{ApplicationName: aws.String(a)})
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					return classify(err, "ListDeploymentGroups "+a)
				}
				groups = append(groups, out.DeploymentGroups...)
			}
			return nil
		})
		if err != nil {
			return cdGroup{}, err
		}
		infos, err := e.groupInfos(ctx, read, a, groups)
		if err != nil {
			return cdGroup{}, err
		}
		for _, g := range infos {
			if namesService(g, e.Settings.Cluster, name) {
				found = append(found, groupOf(g))
			}
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return cdGroup{}, newError(ErrConfig, "service %s is on the CODE_DEPLOY controller, but no deployment group deploys %s/%s (searched %s: %d application(s)); set CODEDEPLOY_APPLICATION and CODEDEPLOY_DEPLOYMENT_GROUP",
			name, e.Settings.Cluster, name, searched, len(apps))
	}
	var names []string
	for _, g := range found {
		names = append(names, g.App+"/"+g.Name)
	}
	return cdGroup{}, newError(ErrConfig, "service %s: several deployment groups deploy %s/%s (%s); set CODEDEPLOY_APPLICATION and CODEDEPLOY_DEPLOYMENT_GROUP",
		name, e.Settings.Cluster, name, strings.Join(names, ", "))
}

// groupInfos reads deployment groups, 100 names a call (BatchGetDeploymentGroups' limit).
func (e *Engine) groupInfos(ctx context.Context, read reader, app string, names []string) ([]cdtypes.DeploymentGroupInfo, error) {
	var out []cdtypes.DeploymentGroupInfo
	for i := 0; i < len(names); i += 100 {
		batch := names[i:min(i+100, len(names))]
		err := read(ctx, "BatchGetDeploymentGroups", func(ctx context.Context) error {
			res, err := e.CodeDeploy.BatchGetDeploymentGroups(ctx, &codedeploy.BatchGetDeploymentGroupsInput{ApplicationName: aws.String(app), DeploymentGroupNames: batch})
			if err != nil {
				return classify(err, "BatchGetDeploymentGroups "+app)
			}
			out = append(out, res.DeploymentGroupsInfo...)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func namesService(g cdtypes.DeploymentGroupInfo, cluster, service string) bool {
	for _, s := range g.EcsServices {
		if shortARN(aws.ToString(s.ClusterName)) == shortARN(cluster) && shortARN(aws.ToString(s.ServiceName)) == shortARN(service) {
			return true
		}
	}
	return false
}

func ecsServicesOf(g cdtypes.DeploymentGroupInfo) string {
	var out []string
	for _, s := range g.EcsServices {
		out = append(out, aws.ToString(s.ClusterName)+"/"+aws.ToString(s.ServiceName))
	}
	return strings.Join(out, ", ")
}

func groupOf(g cdtypes.DeploymentGroupInfo) cdGroup {
	out := cdGroup{App: aws.ToString(g.ApplicationName), Name: aws.ToString(g.DeploymentGroupName)}
	if g.LastSuccessfulDeployment != nil {
		out.LastSuccessful = aws.ToString(g.LastSuccessfulDeployment.DeploymentId)
	}
	return out
}

// appSpec is an ECS AppSpec.
type appSpec struct {
	Version   json.RawMessage            `json:"version"` // 0.0, written as the documentation writes it
	Resources []map[string]appSpecTarget `json:"Resources"`
	Hooks     []map[string]string        `json:"Hooks,omitempty"`
}

type appSpecTarget struct {
	Type       string `json:"Type" yaml:"Type"`
	Properties struct {
		TaskDefinition   string `json:"TaskDefinition" yaml:"TaskDefinition"`
		LoadBalancerInfo struct {
			ContainerName string `json:"ContainerName" yaml:"ContainerName"`
			ContainerPort int32  `json:"ContainerPort" yaml:"ContainerPort"`
		} `json:"LoadBalancerInfo" yaml:"LoadBalancerInfo"`
	} `json:"Properties" yaml:"Properties"`
}

// buildAppSpec makes the release's AppSpec and checks it as CodeDeploy would.
func buildAppSpec(taskDef, container string, port int32, hooks []map[string]string) (string, error) {
	var t appSpecTarget
	t.Type = "AWS::ECS::Service"
	t.Properties.TaskDefinition = taskDef
	t.Properties.LoadBalancerInfo.ContainerName = container
	t.Properties.LoadBalancerInfo.ContainerPort = port
	spec := appSpec{Version: json.RawMessage("0.0"), Resources: []map[string]appSpecTarget{{"TargetService": t}}, Hooks: hooks}
	if err := checkAppSpec(spec); err != nil {
		return "", err
	}
	b, err := json.Marshal(spec)
	return string(b), err
}

// checkAppSpec holds an AppSpec to the documented shape for ECS.
func checkAppSpec(s appSpec) error {
	if len(s.Resources) != 1 {
		return fmt.Errorf("an ECS AppSpec names exactly one TargetService")
	}
	t, ok := s.Resources[0]["TargetService"]
	switch {
	case !ok || t.Type != "AWS::ECS::Service":
		return fmt.Errorf("the TargetService must be of Type AWS::ECS::Service")
	case t.Properties.TaskDefinition == "":
		return fmt.Errorf("no task definition")
	case t.Properties.LoadBalancerInfo.ContainerName == "" || t.Properties.LoadBalancerInfo.ContainerPort <= 0:
		return fmt.Errorf("no load balancer container and port (the service's loadBalancers name none)")
	}
	for _, h := range s.Hooks {
		for ev := range h {
			if !slices.Contains(cdHookEvents, ev) {
				return fmt.Errorf("hook on %s: an ECS AppSpec takes hooks on %s only", ev, strings.Join(cdHookEvents, ", "))
			}
		}
	}
	return nil
}

// groupHooks reads the hooks of the group's last successful deployment from its AppSpec content.
func (e *Engine) groupHooks(ctx context.Context, read reader, g cdGroup) ([]map[string]string, string, error) {
	if g.LastSuccessful == "" {
		return nil, "the group has no successful deployment: no hooks", nil
	}
	var out *codedeploy.GetDeploymentOutput
	err := read(ctx, "GetDeployment "+g.LastSuccessful, func(ctx context.Context) (err error) {
		out, err = e.CodeDeploy.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(g.LastSuccessful)})
		return classify(err, "GetDeployment "+g.LastSuccessful)
	})
	if err != nil {
		return nil, "", err
	}
	rev := out.DeploymentInfo.Revision
	if rev == nil || rev.AppSpecContent == nil {
		return nil, fmt.Sprintf("the last successful deployment %s has no AppSpec content (an S3 revision?): no hooks carried over", g.LastSuccessful), nil
	}
	var prev struct {
		Hooks []map[string]string `yaml:"Hooks"`
	}
	if err := yaml.Unmarshal([]byte(aws.ToString(rev.AppSpecContent.Content)), &prev); err != nil {
		return nil, fmt.Sprintf("the AppSpec of %s does not parse (%v): no hooks carried over", g.LastSuccessful, err), nil
	}
	var hooks []map[string]string
	var names []string
	for _, h := range prev.Hooks {
		for ev, fn := range h {
			if slices.Contains(cdHookEvents, ev) {
				hooks = append(hooks, map[string]string{ev: fn})
				names = append(names, ev+"="+fn)
			}
		}
	}
	if len(hooks) == 0 {
		return nil, "no hooks in the group's last AppSpec", nil
	}
	return hooks, "hooks from " + g.LastSuccessful + ": " + strings.Join(names, ", "), nil
}

// pickTaskDef is the task definition the release deploys: the service's, or, with IMAGE, the
// newest registered revision of its family whose container image is IMAGE (by tag or digest).
func (e *Engine) pickTaskDef(ctx context.Context, read reader, s ecstypes.Service, digest string) (string, string, error) {
	current := aws.ToString(s.TaskDefinition)
	if e.Settings.Image == "" {
		return current, "the service's task definition", nil
	}
	ref, _ := ParseImage(e.Settings.Image)
	byDigest := "" // IMAGE's repository at the digest ECR resolved it to
	if digest != "" {
		ref.Tag, ref.Digest = "", digest
		byDigest = ref.String()
	}
	runs := func(td string) (bool, error) {
		var out *ecs.DescribeTaskDefinitionOutput
		err := read(ctx, "DescribeTaskDefinition", func(ctx context.Context) (err error) {
			out, err = e.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(td)})
			return classify(err, "DescribeTaskDefinition "+shortARN(td))
		})
		if err != nil || out.TaskDefinition == nil {
			return false, err
		}
		for _, c := range out.TaskDefinition.ContainerDefinitions {
			if img := aws.ToString(c.Image); img == e.Settings.Image || byDigest != "" && img == byDigest {
				return true, nil
			}
		}
		return false, nil
	}
	if ok, err := runs(current); err != nil || ok {
		return current, "the service's task definition, which names IMAGE", err
	}
	family, _, _ := strings.Cut(shortARN(current), ":")
	var arns []string
	err := read(ctx, "ListTaskDefinitions", func(ctx context.Context) error {
		out, err := e.ECS.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family),
			Sort: ecstypes.SortOrderDesc, MaxResults: aws.Int32(10)})
		if err != nil {
			return classify(err, "ListTaskDefinitions "+family)
		}
		arns = out.TaskDefinitionArns
		return nil
	})
	if err != nil {
		return "", "", err
	}
	for _, td := range arns {
		if td == current {
			continue
		}
		if ok, err := runs(td); err != nil {
			return "", "", err
		} else if ok {
			return td, "the newest revision of " + family + " that names IMAGE", nil
		}
	}
	return current, "the service's task definition (no registered revision of " + family + " names IMAGE; its image must resolve to the pushed one)", nil
}

// startCodeDeploy creates the release's CodeDeploy deployment of one service, or adopts the one
// an earlier run of the release created.
func (e *Engine) startCodeDeploy(ctx context.Context, st *State, name string, s ecstypes.Service) error {
	g, err := e.findGroup(ctx, e.attempt, name)
	if err != nil {
		return err
	}
	description := "deploystep release " + st.Run.CallerRef
	if id, err := e.ourCDDeployment(ctx, g, description); err != nil {
		return err
	} else if id != "" {
		st.Deployments[name] = id
		e.emit(Event{Kind: KindDeployment, Service: name, Deployment: id,
			Message: fmt.Sprintf("resuming: CodeDeploy deployment %s was created by an earlier run of this release; following it instead of creating another", id)})
		return nil
	}
	taskDef, why, err := e.pickTaskDef(ctx, e.attempt, s, st.Digest)
	if err != nil {
		return err
	}
	hooks, hookNote, err := e.groupHooks(ctx, e.attempt, g)
	if err != nil {
		return err
	}
	var container string
	var port int32
	if len(s.LoadBalancers) > 0 {
		container, port = aws.ToString(s.LoadBalancers[0].ContainerName), aws.ToInt32(s.LoadBalancers[0].ContainerPort)
	}
	content, err := buildAppSpec(taskDef, container, port, hooks)
	if err != nil {
		return newError(ErrConfig, "service %s: AppSpec: %v", name, err)
	}
	e.emit(Event{Kind: KindProgress, Service: name, Message: fmt.Sprintf("AppSpec: task definition %s (%s), container %s:%d; %s", shortARN(taskDef), why, container, port, hookNote)})
	noRetry := func(o *codedeploy.Options) { o.RetryMaxAttempts = 1 }
	for {
		out, err := e.CodeDeploy.CreateDeployment(ctx, &codedeploy.CreateDeploymentInput{ApplicationName: aws.String(g.App),
			DeploymentGroupName: aws.String(g.Name), Description: aws.String(description),
			Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent,
				AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(content)}}}, noRetry)
		if err == nil {
			id := aws.ToString(out.DeploymentId)
			st.Deployments[name] = id
			e.emit(Event{Kind: KindDeployment, Service: name, Deployment: id,
				Message: fmt.Sprintf("created CodeDeploy deployment %s (%s/%s) of task definition %s", id, g.App, g.Name, shortARN(taskDef))})
			return nil
		}
		var limit *cdtypes.DeploymentLimitExceededException
		switch {
		case errors.As(err, &limit):
			// An active deployment in the group: ours (an earlier attempt landed) or another's.
		case rejected(err):
			// A 4xx answer: nothing was applied. Final errors end the run; throttling is tried again.
			if err := e.check(ctx, classify(err, "CreateDeployment "+g.App+"/"+g.Name), "CreateDeployment", Event{Service: name}); err != nil {
				return err
			}
			if err := sleep(ctx, e.Settings.Poll); err != nil {
				return err
			}
			continue
		default:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			e.emit(Event{Kind: KindWarning, Service: name, Message: fmt.Sprintf("CreateDeployment: %v; looking for it before trying again", firstLine(err))})
		}
		if err := sleep(ctx, e.Settings.Poll); err != nil {
			return err
		}
		id, lerr := e.ourCDDeployment(ctx, g, description)
		if lerr != nil {
			return lerr
		}
		if id != "" {
			st.Deployments[name] = id
			e.emit(Event{Kind: KindDeployment, Service: name, Deployment: id,
				Message: fmt.Sprintf("following CodeDeploy deployment %s, which an earlier CreateDeployment of this release created", id)})
			return nil
		}
		if limit != nil {
			return newError(ErrFailed, "service %s: deployment group %s/%s already has an active deployment not started by this release: %s", name, g.App, g.Name, aws.ToString(limit.Message))
		}
	}
}

// ourCDDeployment finds the deployment of the group this release created (by its description)
// among those created in the last day.
func (e *Engine) ourCDDeployment(ctx context.Context, g cdGroup, description string) (string, error) {
	var ids []string
	err := e.attempt(ctx, "ListDeployments", func(ctx context.Context) error {
		out, err := e.CodeDeploy.ListDeployments(ctx, &codedeploy.ListDeploymentsInput{ApplicationName: aws.String(g.App),
			DeploymentGroupName: aws.String(g.Name), CreateTimeRange: &cdtypes.TimeRange{Start: aws.Time(e.now().Add(-24 * time.Hour))}})
		if err != nil {
			return classify(err, "ListDeployments "+g.App+"/"+g.Name)
		}
		ids = out.Deployments
		return nil
	})
	if err != nil {
		return "", err
	}
	for _, id := range ids[:min(len(ids), 10)] { // newest first
		var out *codedeploy.GetDeploymentOutput
		err := e.attempt(ctx, "GetDeployment", func(ctx context.Context) (err error) {
			out, err = e.CodeDeploy.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
			return classify(err, "GetDeployment "+id)
		})
		if err != nil {
			return "", err
		}
		if aws.ToString(out.DeploymentInfo.Description) == description {
			return id, nil
		}
	}
	return "", nil
}

// CDView is what a decision about a CodeDeploy deployment needs, read off GetDeployment and
// GetDeploymentTarget.
type CDView struct {
	ID, Status      string
	ErrCode, ErrMsg string
	Rollback        string // the rollback deployment CodeDeploy started
	Events          []CDEvent
	GreenTraffic    float64 // production traffic on the replacement task set
	GreenRunning    int64
	GreenDesired    int64
	GreenTaskSet    string
	HaveTarget      bool
}

// CDEvent is one lifecycle event of the ECS target.
type CDEvent struct{ Name, Status, Diagnostic string }

// DecideCodeDeploy judges a CodeDeploy deployment: done, waiting (saying on what) or failed
// (saying why).
func DecideCodeDeploy(v CDView, waitUntil string) Decision {
	var current, failed *CDEvent
	for i := range v.Events {
		ev := &v.Events[i]
		if ev.Status == "Failed" && failed == nil {
			failed = ev
		}
		if ev.Status == "InProgress" && current == nil {
			current = ev
		}
	}
	switch v.Status {
	case "Succeeded":
		return Decision{Verdict: Done, Message: fmt.Sprintf("CodeDeploy deployment %s succeeded: the replacement task set serves all traffic", v.ID)}
	case "Failed", "Stopped":
		msg := fmt.Sprintf("CodeDeploy deployment %s %s", v.ID, strings.ToLower(v.Status))
		if failed != nil {
			msg += " at " + failed.Name
			if failed.Diagnostic != "" {
				msg += " (" + failed.Diagnostic + ")"
			}
		}
		if v.ErrCode != "" {
			msg += ": " + v.ErrCode
			if v.ErrMsg != "" {
				msg += ": " + v.ErrMsg
			}
		}
		if v.Rollback != "" {
			msg += "; CodeDeploy started rollback deployment " + v.Rollback
		}
		return Decision{Verdict: Failed, Message: msg, NeedReasons: v.GreenTaskSet != ""}
	}
	if waitUntil == "traffic-shifted" && v.GreenTraffic >= 100 {
		for _, ev := range v.Events {
			if ev.Name == "AllowTraffic" && ev.Status == "Succeeded" {
				return Decision{Verdict: Done, Message: fmt.Sprintf("CodeDeploy deployment %s: all production traffic on the replacement task set (the original task set ends after the termination wait)", v.ID)}
			}
		}
	}
	msg := fmt.Sprintf("CodeDeploy deployment %s %s", v.ID, v.Status)
	switch {
	case v.Status == "Ready":
		msg += ": waiting for traffic to be rerouted (ContinueDeployment)"
	case current != nil:
		msg += ": " + current.Name + " in progress"
	case v.HaveTarget && len(v.Events) > 0 && v.Events[len(v.Events)-1].Status == "Succeeded":
		msg += ": waiting for the original task set to end (termination wait)"
	}
	if v.HaveTarget {
		msg += fmt.Sprintf("; replacement task set %d/%d running, %.0f%% of production traffic", v.GreenRunning, v.GreenDesired, v.GreenTraffic)
	}
	return Decision{Verdict: Waiting, Message: msg}
}

// readCD reads a CodeDeploy deployment and its ECS target.
func (e *Engine) readCD(ctx context.Context, st *State, name, id string) (CDView, error) {
	v := CDView{ID: id}
	out, err := e.CodeDeploy.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
	if err != nil {
		return v, classify(err, "GetDeployment "+id)
	}
	info := out.DeploymentInfo
	v.Status = string(info.Status)
	if ei := info.ErrorInformation; ei != nil {
		v.ErrCode, v.ErrMsg = string(ei.Code), aws.ToString(ei.Message)
	}
	if ri := info.RollbackInfo; ri != nil {
		v.Rollback = aws.ToString(ri.RollbackDeploymentId)
	}
	if info.Status == cdtypes.DeploymentStatusCreated || info.Status == cdtypes.DeploymentStatusQueued {
		return v, nil
	}
	if st.CDTarget[name] == "" {
		tl, err := e.CodeDeploy.ListDeploymentTargets(ctx, &codedeploy.ListDeploymentTargetsInput{DeploymentId: aws.String(id)})
		var notStarted *cdtypes.DeploymentNotStartedException
		if errors.As(err, &notStarted) {
			return v, nil
		}
		if err != nil {
			return v, classify(err, "ListDeploymentTargets "+id)
		}
		if len(tl.TargetIds) == 0 {
			return v, nil
		}
		st.CDTarget[name] = tl.TargetIds[0]
	}
	t, err := e.CodeDeploy.GetDeploymentTarget(ctx, &codedeploy.GetDeploymentTargetInput{DeploymentId: aws.String(id), TargetId: aws.String(st.CDTarget[name])})
	if err != nil {
		return v, classify(err, "GetDeploymentTarget "+id)
	}
	if t.DeploymentTarget == nil || t.DeploymentTarget.EcsTarget == nil {
		return v, nil
	}
	et := t.DeploymentTarget.EcsTarget
	v.HaveTarget = true
	for _, le := range et.LifecycleEvents {
		ev := CDEvent{Name: aws.ToString(le.LifecycleEventName), Status: string(le.Status)}
		if d := le.Diagnostics; d != nil {
			ev.Diagnostic = strings.TrimSpace(aws.ToString(d.ScriptName) + ": " + aws.ToString(d.Message))
			ev.Diagnostic = strings.TrimPrefix(ev.Diagnostic, ": ")
		}
		v.Events = append(v.Events, ev)
	}
	for _, ts := range et.TaskSetsInfo {
		if ts.TaskSetLabel == cdtypes.TargetLabelGreen {
			v.GreenTaskSet, v.GreenTraffic = aws.ToString(ts.Identifer), ts.TrafficWeight
			v.GreenRunning, v.GreenDesired = ts.RunningCount, ts.DesiredCount
		}
	}
	if v.GreenTaskSet != "" {
		st.CDTaskSet[name] = v.GreenTaskSet
	}
	return v, nil
}

// followCodeDeploy judges one CodeDeploy deployment once: done (with the digest checked), still
// waiting, or an error that ends the run.
func (e *Engine) followCodeDeploy(ctx context.Context, st *State, name string, said map[string]string) (bool, error) {
	id := st.Deployments[name]
	v, err := e.readCD(ctx, st, name, id)
	if err != nil {
		return false, e.check(ctx, err, "reading CodeDeploy deployment "+id, Event{Service: name})
	}
	d := DecideCodeDeploy(v, e.Settings.WaitUntil)
	e.setWaiting(name, d.Message)
	switch d.Verdict {
	case Failed:
		if d.NeedReasons {
			// Why the replacement tasks stopped, when it was not the rollback scaling them in.
			if reasons, err := e.stoppedReasons(ctx, name, v.GreenTaskSet); err == nil {
				var why []string
				for _, r := range reasons {
					if !strings.HasPrefix(r, "Scaling activity initiated by") && !slices.Contains(why, r) {
						why = append(why, r)
					}
				}
				if len(why) > 0 {
					d.Message += "; replacement tasks stopped: " + strings.Join(why[:min(len(why), 3)], "; ")
				}
			}
		}
		return false, newError(ErrFailed, "service %s: %s", name, d.Message)
	case Done:
		if st.Digest != "" && st.CDTaskSet[name] != "" {
			ref, _ := ParseImage(e.Settings.Image)
			digests, err := e.runningDigests(ctx, name, st.CDTaskSet[name], ref.Repository)
			if err != nil {
				return false, e.check(ctx, err, "reading the replacement tasks", Event{Service: name})
			}
			st.DigestReads[name]++
			switch {
			case len(digests) > 0 && !slices.Contains(digests, st.Digest):
				st.Failure = fmt.Sprintf("the replacement task set runs %s, not the pushed %s", strings.Join(digests, ", "), st.Digest)
				return false, newError(ErrFailed, "service %s: CodeDeploy deployment %s: %s", name, id, st.Failure)
			case len(digests) == 0 && st.DigestReads[name] < 3:
				return false, nil
			case len(digests) == 0 && e.Settings.DigestCheck == "fail":
				st.Failure = "the replacement task set's tasks report no image digest (DIGEST_CHECK=warn accepts that)"
				return false, newError(ErrFailed, "service %s: CodeDeploy deployment %s: %s", name, id, st.Failure)
			case len(digests) == 0:
				e.emit(Event{Kind: KindWarning, Service: name, Deployment: id, Message: "the replacement tasks report no image digest; not checked (DIGEST_CHECK=warn)"})
			default:
				d.Message += " with the pushed digest"
			}
		}
		st.Finished[name] = true
		e.setWaiting(name, "")
		e.emit(Event{Kind: KindProgress, Service: name, Deployment: id, Message: d.Message})
		return true, nil
	}
	if d.Message != said[name] {
		said[name] = d.Message
		e.emit(Event{Kind: KindProgress, Service: name, Deployment: id, Message: d.Message})
	}
	return false, nil
}

// rollBackCodeDeploy stops a CodeDeploy deployment with automatic rollback (once) and follows
// the rollback deployment.
func (e *Engine) rollBackCodeDeploy(ctx context.Context, st *State, name string) string {
	id := st.Deployments[name]
	if !st.Stopped[name] {
		err := e.attempt(ctx, "StopDeployment "+id, func(ctx context.Context) error {
			_, err := e.CodeDeploy.StopDeployment(ctx, &codedeploy.StopDeploymentInput{DeploymentId: aws.String(id), AutoRollbackEnabled: aws.Bool(true)})
			var done *cdtypes.DeploymentAlreadyCompletedException
			if errors.As(err, &done) {
				return nil
			}
			return classify(err, "StopDeployment "+id)
		})
		if err != nil {
			return fmt.Sprintf("%s: StopDeployment failed: %s", name, firstLine(err))
		}
		st.Stopped[name] = true
		e.emit(Event{Kind: KindProgress, Service: name, Message: "ROLLBACK=on-failure: StopDeployment with automatic rollback sent; following the rollback"})
	}
	status := "not finished"
	for ctx.Err() == nil {
		v, err := e.readCD(ctx, st, name, id)
		if err == nil && v.Rollback == "" && (v.Status == "Stopped" || v.Status == "Failed") {
			status = "not started by CodeDeploy (" + v.Status + ")"
			break
		}
		if err == nil && v.Rollback != "" {
			out, err := e.CodeDeploy.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(v.Rollback)})
			if err == nil {
				status = v.Rollback + " " + string(out.DeploymentInfo.Status)
				if s := out.DeploymentInfo.Status; s == cdtypes.DeploymentStatusSucceeded || s == cdtypes.DeploymentStatusFailed || s == cdtypes.DeploymentStatusStopped {
					break
				}
			}
		}
		sleep(ctx, e.Settings.Poll) //nolint:errcheck // ctx ends the loop
	}
	if ctx.Err() != nil {
		status = "not finished when the run had to end (CodeDeploy goes on with it)"
	}
	return fmt.Sprintf("%s rollback %s", name, status)
}

// dryRunCodeDeploy checks what a CodeDeploy release needs and says what it would create.
func (e *Engine) dryRunCodeDeploy(ctx context.Context, name string, s ecstypes.Service, digest string) (Check, string) {
	g, err := e.findGroup(ctx, once, name)
	if err != nil {
		return Check{false, fmt.Sprintf("service %s: %s", name, strings.TrimPrefix(firstLine(err), "service "+name+": "))}, ""
	}
	taskDef, why, err := e.pickTaskDef(ctx, once, s, digest)
	if err != nil {
		return Check{false, fmt.Sprintf("service %s: task definition: %s", name, firstLine(err))}, ""
	}
	hooks, hookNote, err := e.groupHooks(ctx, once, g)
	if err != nil {
		return Check{false, fmt.Sprintf("service %s: %s", name, firstLine(err))}, ""
	}
	var container string
	var port int32
	if len(s.LoadBalancers) > 0 {
		container, port = aws.ToString(s.LoadBalancers[0].ContainerName), aws.ToInt32(s.LoadBalancers[0].ContainerPort)
	}
	if _, err := buildAppSpec(taskDef, container, port, hooks); err != nil {
		return Check{false, fmt.Sprintf("service %s: AppSpec: %v", name, err)}, ""
	}
	return Check{true, fmt.Sprintf("service %s: deployment group %s/%s; AppSpec valid: task definition %s (%s), container %s:%d; %s",
			name, g.App, g.Name, shortARN(taskDef), why, container, port, hookNote)},
		fmt.Sprintf("CodeDeploy CreateDeployment on %s/%s (AppSpec with task definition %s), then follow it", g.App, g.Name, shortARN(taskDef))
}
