package codedeployctl

// What a CodeDeploy release sends, for a service on the CODE_DEPLOY controller: its deployment
// group, the task definition it deploys and the AppSpec that names it (codedeploy.go follows the
// deployment).
//
//   - The group is CODEDEPLOY_APPLICATION / CODEDEPLOY_DEPLOYMENT_GROUP, or else the one group
//     whose ecsServices names this cluster and service (ListApplications, ListDeploymentGroups,
//     BatchGetDeploymentGroups); none or several is a configuration error naming what was searched.
//   - The AppSpec (JSON, which CodeDeploy takes as YAML) names the service's task definition, or
//     the registered revision of its family whose container image is IMAGE; the container name
//     and port of the service's load balancer; and the hooks of the group's last successful
//     deployment (its AppSpec content).

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"gopkg.in/yaml.v3"

	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/step"
)

// cdHookEvents are the ECS lifecycle events an AppSpec may name hooks for (CodeDeploy user
// guide, AppSpec "hooks" section for an Amazon ECS deployment).
var cdHookEvents = []string{"BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic"}

// cdGroup is the deployment group a CODE_DEPLOY service deploys through.
type cdGroup struct {
	App, Name      string
	LastSuccessful string
}

// FindGroup is the application and deployment group a CODE_DEPLOY service deploys through (as
// findGroup finds it), for what needs only their names (-print-policy).
func FindGroup(ctx context.Context, h *step.Host, read step.Reader, name string) (app, group string, err error) {
	g, err := findGroup(ctx, h, read, name)
	return g.App, g.Name, err
}

// findGroup finds the deployment group of a CODE_DEPLOY service: the one CODEDEPLOY_APPLICATION
// and CODEDEPLOY_DEPLOYMENT_GROUP name, else the one group whose ecsServices names this cluster and
// service among the named application's groups, or every application's.
func findGroup(ctx context.Context, h *step.Host, read step.Reader, name string) (cdGroup, error) {
	app, group := h.Settings.CodeDeployApplication, h.Settings.CodeDeployGroup
	if app != "" && group != "" {
		infos, err := groupInfos(ctx, h, read, app, []string{group})
		switch {
		case err != nil:
			return cdGroup{}, err
		case len(infos) == 0:
			return cdGroup{}, failure.New(failure.ErrConfig, "service %s: deployment group %s of application %s not found (CODEDEPLOY_APPLICATION, CODEDEPLOY_DEPLOYMENT_GROUP)", name, group, app)
		case !namesService(infos[0], h.Settings.Cluster, name):
			return cdGroup{}, failure.New(failure.ErrConfig, "service %s: deployment group %s/%s deploys %s, not %s/%s", name, app, group, ecsServicesOf(infos[0]), h.Settings.Cluster, name)
		}
		return groupOf(infos[0]), nil
	}
	apps, searched := []string{app}, "the deployment groups of application "+app
	if app == "" {
		searched = "every application and deployment group"
		var err error
		apps, err = listAll(ctx, read, "ListApplications", codedeploy.NewListApplicationsPaginator(h.CodeDeploy, &codedeploy.ListApplicationsInput{}),
			func(o *codedeploy.ListApplicationsOutput) []string { return o.Applications })
		if err != nil {
			return cdGroup{}, err
		}
	}
	found, err := groupsDeploying(ctx, h, read, apps, name)
	switch {
	case err != nil:
		return cdGroup{}, err
	case len(found) == 1:
		return found[0], nil
	case len(found) == 0:
		return cdGroup{}, failure.New(failure.ErrConfig, "service %s is on the CODE_DEPLOY controller, but no deployment group deploys %s/%s (searched %s: %d application(s)); set CODEDEPLOY_APPLICATION and CODEDEPLOY_DEPLOYMENT_GROUP",
			name, h.Settings.Cluster, name, searched, len(apps))
	}
	var names []string
	for _, g := range found {
		names = append(names, g.App+"/"+g.Name)
	}
	return cdGroup{}, failure.New(failure.ErrConfig, "service %s: several deployment groups deploy %s/%s (%s); set CODEDEPLOY_APPLICATION and CODEDEPLOY_DEPLOYMENT_GROUP",
		name, h.Settings.Cluster, name, strings.Join(names, ", "))
}

// groupsDeploying lists the deployment groups of apps whose ecsServices names the service.
func groupsDeploying(ctx context.Context, h *step.Host, read step.Reader, apps []string, name string) ([]cdGroup, error) {
	var found []cdGroup
	for _, a := range apps {
		groups, err := listAll(ctx, read, "ListDeploymentGroups "+a,
			codedeploy.NewListDeploymentGroupsPaginator(h.CodeDeploy, &codedeploy.ListDeploymentGroupsInput{ApplicationName: aws.String(a)}),
			func(o *codedeploy.ListDeploymentGroupsOutput) []string { return o.DeploymentGroups })
		if err != nil {
			return nil, err
		}
		infos, err := groupInfos(ctx, h, read, a, groups)
		if err != nil {
			return nil, err
		}
		for _, g := range infos {
			if namesService(g, h.Settings.Cluster, name) {
				found = append(found, groupOf(g))
			}
		}
	}
	return found, nil
}

// pager is an SDK paginator.
type pager[O any] interface {
	HasMorePages() bool
	NextPage(context.Context, ...func(*codedeploy.Options)) (O, error)
}

// listAll reads every page of a list (what names the call in errors).
func listAll[O any](ctx context.Context, read step.Reader, what string, p pager[O], items func(O) []string) ([]string, error) {
	var out []string
	err := read(ctx, what, func(ctx context.Context) error {
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return failure.Classify(err, what)
			}
			out = append(out, items(page)...)
		}
		return nil
	})
	return out, err
}

// groupInfos reads deployment groups, 100 names a call (BatchGetDeploymentGroups' limit).
func groupInfos(ctx context.Context, h *step.Host, read step.Reader, app string, names []string) ([]cdtypes.DeploymentGroupInfo, error) {
	var out []cdtypes.DeploymentGroupInfo
	for i := 0; i < len(names); i += 100 {
		batch := names[i:min(i+100, len(names))]
		err := read(ctx, "BatchGetDeploymentGroups", func(ctx context.Context) error {
			res, err := h.CodeDeploy.BatchGetDeploymentGroups(ctx, &codedeploy.BatchGetDeploymentGroupsInput{ApplicationName: aws.String(app), DeploymentGroupNames: batch})
			if err != nil {
				return failure.Classify(err, "BatchGetDeploymentGroups "+app)
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
		if failure.ShortARN(aws.ToString(s.ClusterName)) == failure.ShortARN(cluster) && failure.ShortARN(aws.ToString(s.ServiceName)) == failure.ShortARN(service) {
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
func groupHooks(ctx context.Context, h *step.Host, read step.Reader, g cdGroup) ([]map[string]string, string, error) {
	if g.LastSuccessful == "" {
		return nil, "the group has no successful deployment: no hooks", nil
	}
	var out *codedeploy.GetDeploymentOutput
	err := read(ctx, "GetDeployment "+g.LastSuccessful, func(ctx context.Context) (err error) {
		out, err = h.CodeDeploy.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(g.LastSuccessful)})
		return failure.Classify(err, "GetDeployment "+g.LastSuccessful)
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

// release is what a CodeDeploy release of one service sends: the group, and the AppSpec that
// names the task definition, the load balancer's container and the group's hooks.
type release struct {
	Group    cdGroup
	TaskDef  string
	appSpec  string
	Describe string // the AppSpec as the output says it
}

// Prepare builds the release of one CODE_DEPLOY service from what read reads: its AppSpec names
// taskDef, the revision the register step gave the service ("" without one: the service's own).
func Prepare(ctx context.Context, h *step.Host, read step.Reader, name string, s ecstypes.Service, taskDef string) (release, error) {
	g, err := findGroup(ctx, h, read, name)
	if err != nil {
		return release{}, err
	}
	why := "the release's revision"
	if taskDef == "" {
		taskDef, why = aws.ToString(s.TaskDefinition), "the service's task definition"
	}
	hooks, hookNote, err := groupHooks(ctx, h, read, g)
	if err != nil {
		return release{}, err
	}
	var container string
	var port int32
	if len(s.LoadBalancers) > 0 {
		container, port = aws.ToString(s.LoadBalancers[0].ContainerName), aws.ToInt32(s.LoadBalancers[0].ContainerPort)
	}
	content, err := buildAppSpec(taskDef, container, port, hooks)
	if err != nil {
		return release{}, failure.New(failure.ErrConfig, "service %s: AppSpec: %v", name, err)
	}
	return release{Group: g, TaskDef: taskDef, appSpec: content,
		Describe: fmt.Sprintf("task definition %s (%s), container %s:%d; %s", failure.ShortARN(taskDef), why, container, port, hookNote)}, nil
}
