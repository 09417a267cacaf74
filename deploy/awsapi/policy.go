package awsapi

import (
	"fmt"
	"slices"
	"strings"
)

// Use is what a release does, as its settings and its services say: which grants it needs.
type Use struct {
	Image, Predeploy             bool // IMAGE (a revision is registered), PREDEPLOY_COMMAND
	SkipInvalidation, Auto, Tags bool // INVALIDATION_PATHS=auto, INVALIDATION_TAGS
	CachePolicies, VpcOrigins    bool // with auto: a distribution uses a custom cache policy, a VPC origin
	Hooks                        bool // HOOK_COMMAND, HOOK_ANSWER or WAIT_UNTIL=paused: PAUSE hooks are answered
	Rollback                     bool // ROLLBACK=on-failure
	ECS, CodeDeploy              bool // a service on ECS's controller, on CODE_DEPLOY's
	CodeDeploySearch             bool // a CODE_DEPLOY service's group is searched for (no CODEDEPLOY_APPLICATION)
	Lambda                       bool // the CodePipeline Invoke action on Lambda
}

// needed says whether a release of use makes (or IAM checks for it) the grant's call: the
// machine reading of each grant's When.
func needed(g Grant, u Use) bool {
	cf := !u.SkipInvalidation
	switch g.Action {
	case "ecs:ListServiceDeployments", "ecs:DescribeServiceDeployments":
		return u.ECS
	case "ecs:ContinueServiceDeployment":
		return u.ECS && u.Hooks
	case "ecs:StopServiceDeployment":
		return u.ECS && (u.Rollback || u.Hooks)
	case "ecs:ListTaskDefinitions", "ecs:RegisterTaskDefinition", "ecr:DescribeImages":
		return u.Image
	case "ecs:TagResource":
		return g.Condition == "" || u.Image // the service's run marker always; the revision's tags with IMAGE
	case "iam:PassRole":
		return u.Image || u.Predeploy
	case "ecs:RunTask", "ecs:StopTask", "logs:GetLogEvents":
		return u.Predeploy
	case "cloudfront:GetDistribution", "cloudfront:CreateInvalidation", "cloudfront:GetInvalidation":
		return cf
	case "cloudfront:GetDistributionConfig":
		return cf && (u.Auto || u.Tags)
	case "cloudfront:GetCachePolicy":
		return cf && u.Auto && u.CachePolicies
	case "cloudfront:GetVpcOrigin":
		return cf && u.Auto && u.VpcOrigins
	case "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeLoadBalancers":
		return cf && u.Auto
	case "codedeploy:ListApplications":
		return u.CodeDeploy && u.CodeDeploySearch
	case "codedeploy:StopDeployment":
		return u.CodeDeploy && u.Rollback
	case "codepipeline:PutJobSuccessResult", "codepipeline:PutJobFailureResult":
		return u.Lambda
	}
	if strings.HasPrefix(g.Action, "codedeploy:") {
		return u.CodeDeploy
	}
	return true // DescribeServices, UpdateService, DescribeClusters, ListTasks, DescribeTasks, DescribeTaskDefinition
}

// Scope is what a release's grants are scoped to: the values of the ${...} names of Grants.
type Scope struct {
	Partition, Region, Account string
	Cluster                    string
	Services                   []string
	Families                   []string // the task-definition families the services run and the release registers
	Roles                      []string // the task and execution roles of the revisions
	LogGroups                  []string // the pre-deploy task's log group
	// Repository is IMAGE's repository ARN (its own account and region).
	Repository    string
	Distributions []string
	// CodeDeployGroups are "application/group" pairs.
	CodeDeployGroups []string
}

// Statement is one statement of a policy document.
type Statement struct {
	Sid       string                       `json:"Sid"`
	Effect    string                       `json:"Effect"`
	Action    []string                     `json:"Action"`
	Resource  []string                     `json:"Resource"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

// Document is an IAM policy document.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Policy is the least-privilege identity policy of a release of use in scope: each grant it
// needs, its resources with scope's values (one ARN per service, family, role, log group,
// distribution and deployment group), a service's grants of the same resources and condition in
// one statement. A name scope has no value for is "*" in its ARN, never left out: the policy
// allows what the release needs, if more broadly than it could.
func Policy(use Use, scope Scope) Document {
	doc := Document{Version: "2012-10-17"}
	index := map[string]int{}
	for _, g := range Grants {
		if !needed(g, use) {
			continue
		}
		var resources []string
		for _, pattern := range g.Resources {
			resources = append(resources, expand(pattern, g.Action, scope)...)
		}
		slices.Sort(resources)
		resources = slices.Compact(resources)
		cond := condition(g.Condition, scope)
		prefix, _, _ := strings.Cut(g.Action, ":") // one service's actions a statement
		key := prefix + "|" + strings.Join(resources, " ") + "|" + fmt.Sprint(cond)
		if i, ok := index[key]; ok {
			if !slices.Contains(doc.Statement[i].Action, g.Action) {
				doc.Statement[i].Action = append(doc.Statement[i].Action, g.Action)
			}
			continue
		}
		index[key] = len(doc.Statement)
		doc.Statement = append(doc.Statement, Statement{Sid: sid(g.Action, len(doc.Statement)), Effect: "Allow", Action: []string{g.Action}, Resource: resources, Condition: cond})
	}
	return doc
}

// sid names a statement after its first action: ecs:DescribeServices → EcsDescribeServices2.
func sid(action string, i int) string {
	prefix, name, _ := strings.Cut(action, ":")
	var b strings.Builder
	for _, part := range strings.Split(prefix, "-") {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return fmt.Sprintf("%s%s%d", b.String(), name, i+1)
}

// expand is a grant's resource pattern with scope's values: one ARN per combination of the
// multi-valued names it uses.
func expand(pattern, action string, scope Scope) []string {
	region, account := scope.Region, scope.Account
	if strings.HasPrefix(action, "ecr:") && scope.Repository != "" {
		return []string{scope.Repository} // IMAGE's own account and region
	}
	out := []string{strings.NewReplacer("${Partition}", scope.Partition, "${Region}", region, "${Account}", account,
		"${Cluster}", or(scope.Cluster), "${Repository}", "*").Replace(pattern)}
	multi := func(name string, values []string) {
		if !strings.Contains(out[0], name) {
			return
		}
		var next []string
		for _, o := range out {
			for _, v := range orList(values) {
				next = append(next, strings.ReplaceAll(o, name, v))
			}
		}
		out = next
	}
	multi("${Service}", scope.Services)
	multi("${Family}", scope.Families)
	multi("${Roles}", scope.Roles)
	multi("${LogGroup}", scope.LogGroups)
	multi("${Distribution}", scope.Distributions)
	if strings.Contains(out[0], "${Application}") {
		var next []string
		for _, o := range out {
			for _, ag := range orList(scope.CodeDeployGroups) {
				app, group, _ := strings.Cut(ag, "/")
				next = append(next, strings.NewReplacer("${Application}", app, "${Group}", or(group)).Replace(o))
			}
		}
		out = next
	}
	return out
}

// condition is a grant's "<operator> <key> <value>" as a policy's Condition.
func condition(c string, scope Scope) map[string]map[string]string {
	if c == "" {
		return nil
	}
	parts := strings.SplitN(c, " ", 3)
	v := expand(parts[2], "", scope)[0]
	return map[string]map[string]string{parts[0]: {parts[1]: v}}
}

func or(v string) string {
	if v == "" {
		return "*"
	}
	return v
}

func orList(v []string) []string {
	if len(v) == 0 {
		return []string{"*"}
	}
	return v
}
