package report

// Console links for what a release made, in the partition and region it acted in: the summary
// (text and JSON), the CodePipeline action's summary and the release record carry them.
//
// The consoles' addresses are not an API: these are the forms AWS's own tools and documentation
// print. The ECS service's deployments page is the one aws-actions/amazon-ecs-deploy-task-
// definition prints after UpdateService ("Watch this deployment's progress":
// https://<region>.console.aws.amazon.com/ecs/v2/clusters/<cluster>/services/<service>/deployments?region=<region>;
// the developer guide's "Viewing Amazon ECS service deployments" opens a deployment from it by its
// id), the CodeDeploy deployment page is the one the same action prints, the CloudFront
// invalidation page is the console's invalidation details, the task and log pages the ECS and
// CloudWatch consoles'. Hosts: console.aws.amazon.com, console.amazonaws.cn (aws-cn),
// console.amazonaws-us-gov.com (aws-us-gov), each prefixed with the region.

import (
	"net/url"
	"strings"

	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/settings"
	"github.com/deploystep/deploystep/deploy/state"
)

// Link is a console page for something the release made.
type Link struct {
	// Kind is service-deployment, codedeploy-deployment, invalidation, predeploy-task or
	// predeploy-logs.
	Kind string `json:"kind"`
	// Subject is the service, distribution or task it is about.
	Subject string `json:"subject"`
	URL     string `json:"url"`
}

// What is the link's kind as words: "service deployment".
func (l Link) What() string { return strings.ReplaceAll(l.Kind, "-", " ") }

// Link kinds.
const (
	LinkServiceDeployment = "service-deployment"
	LinkCodeDeploy        = "codedeploy-deployment"
	LinkInvalidation      = "invalidation"
	LinkTask              = "predeploy-task"
	LinkLogs              = "predeploy-logs"
)

// partitionOf is the partition of the run: the caller's ARN says it, else the region does.
func partitionOf(arn, region string) string {
	if p := strings.SplitN(arn, ":", 3); len(p) == 3 && p[0] == "arn" && p[1] != "" {
		return p[1]
	}
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "eusc-"):
		return "aws-eusc"
	}
	return "aws"
}

// consoleBase is the console's address for a region of a partition.
func consoleBase(partition, region string) string {
	host := "console.aws.amazon.com"
	switch partition {
	case "aws-cn":
		host = "console.amazonaws.cn"
	case "aws-us-gov":
		host = "console.amazonaws-us-gov.com"
	}
	return "https://" + region + "." + host
}

// globalRegion is where a partition's console shows global services (CloudFront).
func globalRegion(partition, region string) string {
	switch partition {
	case "aws":
		return "us-east-1"
	case "aws-cn":
		return "cn-north-1"
	}
	return region
}

// logsFragment escapes a log group or stream name as the CloudWatch console's fragment does:
// URL-escaped, then each % as $25.
func logsFragment(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), "%", "$25")
}

// Links are the console pages of what the release made, in region (the caller's, else the SDK
// configuration's); logGroup and logStream are the pre-deploy task's log's.
func Links(s settings.Settings, st *state.State, region, logGroup, logStream string) []Link {
	if region == "" {
		return nil
	}
	part := partitionOf(st.Caller.ARN, region)
	base := consoleBase(part, region)
	q := "?region=" + url.QueryEscape(region)
	cluster := url.PathEscape(failure.ShortARN(s.Cluster))
	var out []Link
	for _, name := range s.Services {
		svc := st.Services[name]
		if svc == nil || svc.Deployment == "" {
			continue
		}
		if svc.Controller == state.ControllerCodeDeploy {
			out = append(out, Link{LinkCodeDeploy, name, base + "/codesuite/codedeploy/deployments/" + url.PathEscape(svc.Deployment) + q})
			continue
		}
		out = append(out, Link{LinkServiceDeployment, name, base + "/ecs/v2/clusters/" + cluster + "/services/" + url.PathEscape(failure.ShortARN(name)) + "/deployments" + q})
	}
	if pd := st.Predeploy; pd != nil && pd.Task != "" {
		out = append(out, Link{LinkTask, pd.Task, base + "/ecs/v2/clusters/" + cluster + "/tasks/" + url.PathEscape(pd.Task) + "/configuration" + q})
		if logStream != "" {
			out = append(out, Link{LinkLogs, pd.Task, base + "/cloudwatch/home" + q + "#logsV2:log-groups/log-group/" + logsFragment(logGroup) + "/log-events/" + logsFragment(logStream)})
		}
	}
	cf := consoleBase(part, globalRegion(part, region)) + "/cloudfront/v4/home#/distributions/"
	for _, d := range s.Distributions {
		if id := st.Invalidations[d]; id != "" {
			out = append(out, Link{LinkInvalidation, d, cf + url.PathEscape(d) + "/invalidations/details/" + url.PathEscape(id)})
		}
	}
	return out
}
