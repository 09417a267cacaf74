package deploy

// -print-policy: the least-privilege IAM policy a release of these settings needs, scoped to
// what they name. It reads, once each and changing nothing (like the dry run), whom the
// credentials act as (the partition and account), the services (their controllers and
// task-definition revisions), each revision (its family, task and execution roles, the pre-deploy
// container's log group), with INVALIDATION_PATHS=auto each distribution's configuration (does
// it use custom cache policies, VPC origins) and, for a CODE_DEPLOY service, its deployment
// group; the grants
// themselves are awsapi.Grants, held to the Service Authorization Reference.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/deploystep/deploystep/deploy/awsapi"
	"github.com/deploystep/deploystep/deploy/cdn"
	"github.com/deploystep/deploystep/deploy/codedeployctl"
	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/report"
	"github.com/deploystep/deploystep/deploy/settings"
	"github.com/deploystep/deploystep/deploy/state"
	"github.com/deploystep/deploystep/deploy/step"
)

// PrintPolicy prints the release's policy document (JSON) on stdout and returns the exit code;
// what it says besides goes to stderr.
func PrintPolicy(s settings.Settings, loadErr error, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintln(stderr, "deploystep -print-policy:", err)
		return failure.ExitCode(err)
	}
	if err := settings.AllProblems(loadErr, &s); err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg, err := LoadAWS(ctx)
	if err != nil {
		return fail(failure.New(failure.ErrConfig, "AWS configuration: %v", err))
	}
	e := NewEngine(cfg, s, report.NewReporter(stderr, "text"))
	doc, notes, err := e.Policy(ctx)
	if err != nil {
		return fail(err)
	}
	for _, n := range notes {
		fmt.Fprintln(stderr, "deploystep -print-policy:", n)
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	fmt.Fprintln(stdout, string(b))
	return failure.ExitOK
}

// Policy reads what the settings name and returns the policy a release of them needs, with
// notes on what it could not scope.
func (e *Engine) Policy(ctx context.Context) (awsapi.Document, []string, error) {
	s := e.Settings
	st := state.NewState(s, "", e.Now())
	e.Begin(st)
	if err := e.whoami(ctx, st, step.Once); err != nil {
		return awsapi.Document{}, nil, err
	}
	var services map[string]ecstypes.Service
	err := step.Once(ctx, "reading the services", func(ctx context.Context) (err error) {
		services, err = e.DescribeWith(ctx, s.Services, nil)
		return err
	})
	if err != nil {
		return awsapi.Document{}, nil, err
	}
	use := awsapi.Use{Image: s.Image != "", Predeploy: s.PredeployCommand != "", SkipInvalidation: s.SkipInvalidation,
		Auto: s.InvalidationMode() == settings.ModeAuto, Tags: s.InvalidationMode() == settings.ModeTags,
		Hooks: s.HookCommand != "" || s.HookAnswer != "" || s.WaitUntil == "paused", Rollback: s.Rollback == "on-failure",
		CodeDeploySearch: s.CodeDeployApplication == ""}
	scope := awsapi.Scope{Partition: partitionOf(st.Caller.ARN), Region: e.Region, Account: st.Caller.Account, Cluster: failure.ShortARN(s.Cluster)}
	for _, d := range s.Distributions {
		scope.Distributions = append(scope.Distributions, failure.ShortARN(d))
	}
	if s.Image != "" {
		r := s.ImageRef
		scope.Repository = fmt.Sprintf("arn:%s:ecr:%s:%s:repository/%s", scope.Partition, r.Region, r.Registry, r.Repository)
	}
	var notes []string
	for _, name := range s.Services {
		svc, ok := services[name]
		if c := serviceCheck(s, e.Caller(), name, svc, ok, nil); !c.OK {
			return awsapi.Document{}, nil, failure.New(failure.ErrConfig, "%s", c.Message)
		}
		scope.Services = append(scope.Services, failure.ShortARN(name))
		if controllerOf(svc) == state.ControllerCodeDeploy {
			use.CodeDeploy = true
			app, group, err := codedeployctl.FindGroup(ctx, e.Host, step.Once, name)
			if err != nil {
				return awsapi.Document{}, nil, err
			}
			scope.CodeDeployGroups = append(scope.CodeDeployGroups, app+"/"+group)
			continue
		}
		use.ECS = true
	}
	if use.Auto && !use.SkipInvalidation { // which of auto's reads the distributions need
		for _, d := range scope.Distributions {
			policies, vpc, err := cdn.AutoReads(ctx, e.Host, step.Once, d)
			if err != nil {
				return awsapi.Document{}, nil, err
			}
			use.CachePolicies, use.VpcOrigins = use.CachePolicies || policies, use.VpcOrigins || vpc
		}
	}
	revisions, err := e.policyRevisions(ctx, services, &scope)
	if err != nil {
		return awsapi.Document{}, nil, err
	}
	if use.Predeploy {
		if scope.LogGroups = predeployLogGroups(s, services, revisions); len(scope.LogGroups) == 0 {
			notes = append(notes, "the pre-deploy container sends no logs to CloudWatch Logs (awslogs): logs:GetLogEvents is on log-group:*")
		}
	}
	if len(scope.Roles) == 0 && (use.Image || use.Predeploy) {
		notes = append(notes, "the revisions name no task or execution role: iam:PassRole is on \"*\", held to ECS by iam:PassedToService")
	}
	return awsapi.Policy(use, scope), notes, nil
}

// policyRevisions reads each service's task-definition revision (and TASK_DEFINITION's family):
// the families, roles and log configuration the grants are scoped to.
func (e *Engine) policyRevisions(ctx context.Context, services map[string]ecstypes.Service, scope *awsapi.Scope) (map[string]*ecstypes.TaskDefinition, error) {
	revisions := map[string]*ecstypes.TaskDefinition{}
	for _, name := range e.Settings.Services {
		arn := aws.ToString(services[name].TaskDefinition)
		if revisions[arn] != nil || arn == "" {
			continue
		}
		var out *ecs.DescribeTaskDefinitionOutput
		err := step.Once(ctx, "reading the task definition of "+name, func(ctx context.Context) (err error) {
			out, err = e.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
			return failure.Classify(err, "DescribeTaskDefinition "+arn)
		})
		if err != nil {
			return nil, err
		}
		td := out.TaskDefinition
		revisions[arn] = td
		scope.Families = append(scope.Families, aws.ToString(td.Family))
		for _, r := range []*string{td.TaskRoleArn, td.ExecutionRoleArn} {
			if aws.ToString(r) != "" {
				scope.Roles = append(scope.Roles, aws.ToString(r))
			}
		}
	}
	if f := taskDefinitionFamily(e.Settings.TaskDefinition); f != "" {
		scope.Families = append(scope.Families, f)
	}
	for _, l := range []*[]string{&scope.Families, &scope.Roles} {
		slices.Sort(*l)
		*l = slices.Compact(*l)
	}
	return revisions, nil
}

// taskDefinitionFamily is TASK_DEFINITION's family: a family, family:revision, an ARN, or a JSON
// file's "family" ("" when unset or unreadable).
func taskDefinitionFamily(v string) string {
	if v == "" {
		return ""
	}
	if strings.HasSuffix(v, ".json") || strings.ContainsAny(v, "/\\") && !strings.HasPrefix(v, "arn:") {
		b, err := os.ReadFile(v)
		var doc struct {
			Family         string `json:"family"`
			TaskDefinition struct {
				Family string `json:"family"`
			} `json:"taskDefinition"`
		}
		if err != nil || json.Unmarshal(b, &doc) != nil {
			return ""
		}
		if doc.Family != "" {
			return doc.Family
		}
		return doc.TaskDefinition.Family
	}
	family, _, _ := strings.Cut(failure.ShortARN(v), ":")
	return family
}

// predeployLogGroups is the awslogs group of the container the pre-deploy task runs: of
// PREDEPLOY_SERVICE's revision (the first service's), the container PREDEPLOY_CONTAINER names,
// else the one running IMAGE's repository, else the only one; when none is told apart, every
// container's.
func predeployLogGroups(s settings.Settings, services map[string]ecstypes.Service, revisions map[string]*ecstypes.TaskDefinition) []string {
	name := s.PredeployService
	if name == "" {
		name = s.Services[0]
	}
	td := revisions[aws.ToString(services[name].TaskDefinition)]
	if td == nil {
		return nil
	}
	var all, picked []string
	for _, c := range td.ContainerDefinitions {
		group := ""
		if lc := c.LogConfiguration; lc != nil && lc.LogDriver == ecstypes.LogDriverAwslogs {
			group = lc.Options["awslogs-group"]
		}
		if group == "" {
			continue
		}
		all = append(all, group)
		image := aws.ToString(c.Image)
		switch {
		case s.PredeployContainer != "" && aws.ToString(c.Name) == s.PredeployContainer,
			s.PredeployContainer == "" && s.Image != "" && strings.Contains(image, "/"+s.ImageRef.Repository),
			s.PredeployContainer == "" && len(td.ContainerDefinitions) == 1:
			picked = append(picked, group)
		}
	}
	if len(picked) == 0 {
		picked = all
	}
	slices.Sort(picked)
	return slices.Compact(picked)
}

// partitionOf is an ARN's partition (aws when it cannot be read).
func partitionOf(arn string) string {
	if parts := strings.SplitN(arn, ":", 3); len(parts) == 3 && parts[1] != "" {
		return parts[1]
	}
	return "aws"
}
