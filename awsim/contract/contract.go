// Package contract is AWS's documented contract on the input of the operations deploystep and
// its tests call, one Rule a row, each quoting where it comes from: the API references as
// botocore's models carry them (constraints, and sentences of the documentation quoted
// verbatim), and Developer Guide pages where only a guide states a rule. Check answers an input
// that breaks a row with the error code and HTTP status AWS gives. It is a leaf (the standard
// library only): awsim checks every request against it before it runs the operation, and its
// test holds every row to the installed botocore model.
package contract

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// The contract: every documented rule on the input of the operations deploystep and its tests
// call, one row each, quoting where it comes from. awsim checks an operation's input against its
// rows before it runs the operation, and answers a violation with the error code and HTTP status
// AWS gives, so that a wrong assumption shared by awsim and deploystep cannot pass unnoticed.
//
// Sources: the API references, as botocore's service models carry them (data/<service>/<version>/
// service-2.json: "constraint" rows are the model's machine-readable required/min/max/enum/pattern;
// "doc" rows are a sentence of the member's documentation, quoted verbatim). TestContractAgainst-
// Botocore checks every row against the installed model, so a row cannot claim what the model
// does not say. The error codes are the ones each operation lists in the model; for ECS and ECR
// validation failures AWS answers InvalidParameterException (seen in AWS's own messages, such as
// "service names can have at most 10 items."), CodePipeline ValidationException, CloudFront
// InvalidArgument or InconsistentQuantities.

// Rule is one documented constraint on an operation's input.
type Rule struct {
	Service string `json:"service"` // ECS, ECR, CloudFront, CodePipeline
	Op      string `json:"op"`
	// Member is the input member's path as the model names it: "services", "tags[].key",
	// "InvalidationBatch.Paths.Quantity".
	Member string `json:"member"`
	// Kind is required, min, max (length of a string, items of a list, value of a number), enum,
	// pattern, or prose (a rule only the documentation states; Check holds it).
	Kind    string   `json:"kind"`
	Limit   int      `json:"limit,omitempty"`
	Enum    []string `json:"enum,omitempty"`
	Pattern string   `json:"pattern,omitempty"`
	// Model says where botocore's model states the rule: "constraint", "doc" (Quote is a sentence
	// of the member's documentation), "opdoc" (of the operation's) or "error" (Quote is the
	// documentation of the error Code); "guide" for a rule only a Developer Guide page states
	// (Source is its address: the model cannot check it).
	Model  string `json:"model"`
	Quote  string `json:"quote"`
	Source string `json:"source,omitempty"`
	// Code and Status are AWS's answer to a violation.
	Code   string `json:"code"`
	Status int    `json:"status"`
	// Example is a request body that breaks this rule and no other (JSON; XML for CloudFront),
	// for the table test.
	Example string `json:"example"`

	check func(in map[string]any) bool // prose rules: true when in satisfies the rule
	re    *regexp.Regexp
}

const (
	ecsBad = "InvalidParameterException"
	cpBad  = "ValidationException"
)

// startedByRule is RunTask's documented startedBy: up to 128 letters, numbers, -, / and _.
var startedByRule = regexp.MustCompile(`^[A-Za-z0-9/_-]{0,128}$`)

// nameRule is the documented rule for task-definition family and container names.
var nameRule = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

// tagPattern is the model's pattern for tag keys and values; patterns match whole values.
var tagPattern = `([\p{L}\p{Z}\p{N}_.:/=+\-@]*)`

// contract is the table. Keep one row per rule; a new operation awsim serves gets its rows here.
var contract = []Rule{
	// ECS (API reference 2014-11-13)
	{Service: "ECS", Op: "DescribeClusters", Member: "clusters", Kind: "max", Limit: 100, Model: "doc", Code: ecsBad, Status: 400,
		Quote: "A list of up to 100 cluster names or full cluster Amazon Resource Name (ARN) entries.", Example: `{"clusters":` + jsonList(101, "c") + `}`},
	{Service: "ECS", Op: "DescribeClusters", Member: "include[]", Kind: "enum", Enum: []string{"ATTACHMENTS", "CONFIGURATIONS", "SETTINGS", "STATISTICS", "TAGS"}, Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "Valid Values: ATTACHMENTS | CONFIGURATIONS | SETTINGS | STATISTICS | TAGS", Example: `{"clusters":["tsa-gallery"],"include":["EVERYTHING"]}`},
	{Service: "ECS", Op: "DescribeServices", Member: "services", Kind: "required", Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "services: Required: Yes", Example: `{"cluster":"tsa-gallery"}`},
	{Service: "ECS", Op: "DescribeServices", Member: "services", Kind: "max", Limit: 10, Model: "doc", Code: ecsBad, Status: 400,
		Quote: "You may specify up to 10 services to describe in a single operation.", Example: `{"cluster":"tsa-gallery","services":` + jsonList(11, "api") + `}`},
	{Service: "ECS", Op: "DescribeServices", Member: "include[]", Kind: "enum", Enum: []string{"TAGS"}, Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "Valid Values: TAGS", Example: `{"cluster":"tsa-gallery","services":["api"],"include":["EVENTS"]}`},
	{Service: "ECS", Op: "UpdateService", Member: "service", Kind: "required", Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "service: Required: Yes", Example: `{"cluster":"tsa-gallery","forceNewDeployment":true}`},
	{Service: "ECS", Op: "TagResource", Member: "resourceArn", Kind: "required", Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "resourceArn: Required: Yes", Example: `{"tags":[{"key":"k","value":"v"}]}`},
	{Service: "ECS", Op: "TagResource", Member: "tags", Kind: "required", Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "tags: Required: Yes", Example: `{"resourceArn":"arn:aws:ecs:us-east-1:123456789012:service/tsa-gallery/api"}`},
	{Service: "ECS", Op: "TagResource", Member: "tags", Kind: "max", Limit: 50, Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "Array Members: Minimum number of 0 items. Maximum number of 50 items.", Example: `{"resourceArn":"arn:aws:ecs:us-east-1:123456789012:service/tsa-gallery/api","tags":` + jsonTags(51) + `}`},
	{Service: "ECS", Op: "TagResource", Member: "tags[].key", Kind: "min", Limit: 1, Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "Length Constraints: Minimum length of 1. Maximum length of 128.", Example: `{"resourceArn":"arn:aws:ecs:us-east-1:123456789012:service/tsa-gallery/api","tags":[{"key":"","value":"v"}]}`},
	{Service: "ECS", Op: "TagResource", Member: "tags[].key", Kind: "max", Limit: 128, Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "Length Constraints: Minimum length of 1. Maximum length of 128.", Example: `{"resourceArn":"arn:aws:ecs:us-east-1:123456789012:service/tsa-gallery/api","tags":[{"key":"` + strings.Repeat("k", 129) + `","value":"v"}]}`},
	{Service: "ECS", Op: "TagResource", Member: "tags[].key", Kind: "pattern", Pattern: tagPattern, Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "Pattern: " + tagPattern, Example: `{"resourceArn":"arn:aws:ecs:us-east-1:123456789012:service/tsa-gallery/api","tags":[{"key":"a;b","value":"v"}]}`},
	{Service: "ECS", Op: "TagResource", Member: "tags[].value", Kind: "max", Limit: 256, Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "Length Constraints: Minimum length of 0. Maximum length of 256.", Example: `{"resourceArn":"arn:aws:ecs:us-east-1:123456789012:service/tsa-gallery/api","tags":[{"key":"k","value":"` + strings.Repeat("v", 257) + `"}]}`},
	{Service: "ECS", Op: "TagResource", Member: "tags[].value", Kind: "pattern", Pattern: tagPattern, Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "Pattern: " + tagPattern, Example: `{"resourceArn":"arn:aws:ecs:us-east-1:123456789012:service/tsa-gallery/api","tags":[{"key":"k","value":"a|b"}]}`},
	{Service: "ECS", Op: "ListTasks", Member: "startedBy", Kind: "prose", Model: "doc", Code: ecsBad, Status: 400,
		Quote:   "When you specify startedBy as the filter, it must be the only filter that you use.",
		Example: `{"cluster":"tsa-gallery","startedBy":"ecs-svc/1000000000000063352","desiredStatus":"STOPPED"}`,
		check: func(in map[string]any) bool {
			if _, ok := in["startedBy"]; !ok {
				return true
			}
			for _, other := range []string{"containerInstance", "family", "serviceName", "desiredStatus", "launchType", "daemonName"} {
				if _, ok := in[other]; ok {
					return false
				}
			}
			return true
		}},
	{Service: "ECS", Op: "ListTasks", Member: "desiredStatus", Kind: "enum", Enum: []string{"RUNNING", "PENDING", "STOPPED"}, Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "Valid Values: RUNNING | PENDING | STOPPED", Example: `{"cluster":"tsa-gallery","desiredStatus":"running"}`},
	{Service: "ECS", Op: "ListTasks", Member: "launchType", Kind: "enum", Enum: []string{"EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"}, Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "Valid Values: EC2 | FARGATE | EXTERNAL | MANAGED_INSTANCES", Example: `{"cluster":"tsa-gallery","launchType":"LAMBDA"}`},
	{Service: "ECS", Op: "ListTasks", Member: "maxResults", Kind: "min", Limit: 1, Model: "doc", Code: ecsBad, Status: 400,
		Quote: "This value can be between 1 and 100.", Example: `{"cluster":"tsa-gallery","maxResults":0}`},
	{Service: "ECS", Op: "ListTasks", Member: "maxResults", Kind: "max", Limit: 100, Model: "doc", Code: ecsBad, Status: 400,
		Quote: "This value can be between 1 and 100.", Example: `{"cluster":"tsa-gallery","maxResults":101}`},
	{Service: "ECS", Op: "DescribeTasks", Member: "tasks", Kind: "required", Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "tasks: Required: Yes", Example: `{"cluster":"tsa-gallery"}`},
	{Service: "ECS", Op: "DescribeTasks", Member: "tasks", Kind: "max", Limit: 100, Model: "doc", Code: ecsBad, Status: 400,
		Quote: "A list of up to 100 task IDs or full ARN entries.", Example: `{"cluster":"tsa-gallery","tasks":` + jsonList(101, "0123456789abcdef0123456789abcdef") + `}`},
	{Service: "ECS", Op: "DescribeTaskDefinition", Member: "taskDefinition", Kind: "required", Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "taskDefinition: Required: Yes", Example: `{}`},
	{Service: "ECS", Op: "DescribeTaskDefinition", Member: "include[]", Kind: "enum", Enum: []string{"TAGS"}, Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "Valid Values: TAGS", Example: `{"taskDefinition":"api:1","include":["TAG"]}`},
	{Service: "ECS", Op: "ListTaskDefinitions", Member: "status", Kind: "enum", Enum: []string{"ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS"}, Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "Valid Values: ACTIVE | INACTIVE | DELETE_IN_PROGRESS", Example: `{"familyPrefix":"api","status":"active"}`},
	{Service: "ECS", Op: "ListTaskDefinitions", Member: "sort", Kind: "enum", Enum: []string{"ASC", "DESC"}, Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "Valid Values: ASC | DESC", Example: `{"familyPrefix":"api","sort":"NEWEST"}`},
	{Service: "ECS", Op: "ListTaskDefinitions", Member: "maxResults", Kind: "min", Limit: 1, Model: "doc", Code: ecsBad, Status: 400,
		Quote: "This value can be between 1 and 100.", Example: `{"familyPrefix":"api","maxResults":0}`},
	{Service: "ECS", Op: "ListTaskDefinitions", Member: "maxResults", Kind: "max", Limit: 100, Model: "doc", Code: ecsBad, Status: 400,
		Quote: "This value can be between 1 and 100.", Example: `{"familyPrefix":"api","maxResults":101}`},
	{Service: "ECS", Op: "RegisterTaskDefinition", Member: "family", Kind: "required", Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "family: Required: Yes", Example: `{"containerDefinitions":[{"name":"api","image":"nginx"}]}`},
	{Service: "ECS", Op: "RegisterTaskDefinition", Member: "containerDefinitions", Kind: "required", Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "containerDefinitions: Required: Yes", Example: `{"family":"api"}`},
	{Service: "ECS", Op: "RegisterTaskDefinition", Member: "family", Kind: "prose", Model: "doc", Code: ecsBad, Status: 400,
		Quote:   "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.",
		Example: `{"family":"tsa.gallery api","containerDefinitions":[{"name":"api","image":"nginx"}]}`,
		check:   func(in map[string]any) bool { f, ok := in["family"].(string); return !ok || nameRule.MatchString(f) }},
	{Service: "ECS", Op: "RegisterTaskDefinition", Member: "containerDefinitions[].name", Kind: "prose", Model: "doc", Code: ecsBad, Status: 400,
		Quote:   "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.",
		Example: `{"family":"api","containerDefinitions":[{"name":"api server","image":"nginx"}]}`,
		check: func(in map[string]any) bool {
			defs, _ := in["containerDefinitions"].([]any)
			for _, d := range defs {
				if c, _ := d.(map[string]any); c != nil {
					if n, ok := c["name"].(string); ok && n != "" && !nameRule.MatchString(n) {
						return false
					}
				}
			}
			return true
		}},
	{Service: "ECS", Op: "RegisterTaskDefinition", Member: "networkMode", Kind: "enum", Enum: []string{"bridge", "host", "awsvpc", "none"}, Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "Valid Values: bridge | host | awsvpc | none", Example: `{"family":"api","networkMode":"AWSVPC","containerDefinitions":[{"name":"api","image":"nginx"}]}`},
	{Service: "ECS", Op: "RegisterTaskDefinition", Member: "requiresCompatibilities[]", Kind: "enum", Enum: []string{"EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"}, Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "Valid Values: EC2 | FARGATE | EXTERNAL | MANAGED_INSTANCES", Example: `{"family":"api","requiresCompatibilities":["LAMBDA"],"containerDefinitions":[{"name":"api","image":"nginx"}]}`},
	{Service: "ECS", Op: "RegisterTaskDefinition", Member: "tags", Kind: "max", Limit: 50, Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "Array Members: Minimum number of 0 items. Maximum number of 50 items.", Example: `{"family":"api","containerDefinitions":[{"name":"api","image":"nginx"}],"tags":` + jsonTags(51) + `}`},
	{Service: "ECS", Op: "ListServiceDeployments", Member: "service", Kind: "required", Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "service: Required: Yes", Example: `{"cluster":"tsa-gallery"}`},
	{Service: "ECS", Op: "ListServiceDeployments", Member: "status[]", Kind: "enum", Model: "constraint", Code: ecsBad, Status: 400,
		Enum:    []string{"PENDING", "SUCCESSFUL", "STOPPED", "STOP_REQUESTED", "IN_PROGRESS", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"},
		Quote:   "Valid Values: PENDING | SUCCESSFUL | STOPPED | STOP_REQUESTED | IN_PROGRESS | ROLLBACK_REQUESTED | ROLLBACK_IN_PROGRESS | ROLLBACK_SUCCESSFUL | ROLLBACK_FAILED",
		Example: `{"cluster":"tsa-gallery","service":"api","status":["DONE"]}`},
	{Service: "ECS", Op: "ListServiceDeployments", Member: "maxResults", Kind: "max", Limit: 100, Model: "doc", Code: ecsBad, Status: 400,
		Quote: "This value can be between 1 and 100.", Example: `{"cluster":"tsa-gallery","service":"api","maxResults":101}`},
	{Service: "ECS", Op: "DescribeServiceDeployments", Member: "serviceDeploymentArns", Kind: "required", Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "serviceDeploymentArns: Required: Yes", Example: `{}`},
	{Service: "ECS", Op: "DescribeServiceDeployments", Member: "serviceDeploymentArns", Kind: "max", Limit: 20, Model: "doc", Code: ecsBad, Status: 400,
		Quote: "You can specify a maximum of 20 ARNs.", Example: `{"serviceDeploymentArns":` + jsonList(21, "arn:aws:ecs:us-east-1:123456789012:service-deployment/tsa-gallery/api/x") + `}`},
	{Service: "ECS", Op: "StopServiceDeployment", Member: "serviceDeploymentArn", Kind: "required", Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "serviceDeploymentArn: Required: Yes", Example: `{"stopType":"ROLLBACK"}`},
	{Service: "ECS", Op: "StopServiceDeployment", Member: "stopType", Kind: "enum", Enum: []string{"ABORT", "ROLLBACK"}, Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "Valid Values: ABORT | ROLLBACK", Example: `{"serviceDeploymentArn":"arn:aws:ecs:us-east-1:123456789012:service-deployment/tsa-gallery/api/r9i43YFjvgF_xlg7m2eJ1","stopType":"UNDO"}`},
	{Service: "ECS", Op: "ContinueServiceDeployment", Member: "serviceDeploymentArn", Kind: "required", Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "serviceDeploymentArn: Required: Yes", Example: `{"hookId":"h-1"}`},
	{Service: "ECS", Op: "ContinueServiceDeployment", Member: "hookId", Kind: "required", Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "hookId: Required: Yes", Example: `{"serviceDeploymentArn":"arn:aws:ecs:us-east-1:123456789012:service-deployment/tsa-gallery/api/r9i43YFjvgF_xlg7m2eJ1"}`},
	{Service: "ECS", Op: "ContinueServiceDeployment", Member: "action", Kind: "enum", Enum: []string{"ROLLBACK", "CONTINUE"}, Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "Valid Values: ROLLBACK | CONTINUE", Example: `{"serviceDeploymentArn":"arn:aws:ecs:us-east-1:123456789012:service-deployment/tsa-gallery/api/r9i43YFjvgF_xlg7m2eJ1","hookId":"h-1","action":"PROCEED"}`},

	// ECR (API reference 2015-09-21)
	{Service: "ECR", Op: "DescribeImages", Member: "repositoryName", Kind: "required", Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "repositoryName: Required: Yes", Example: `{"imageIds":[{"imageTag":"3f2c1ab"}]}`},
	{Service: "ECR", Op: "DescribeImages", Member: "repositoryName", Kind: "min", Limit: 2, Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "Length Constraints: Minimum length of 2. Maximum length of 256.", Example: `{"repositoryName":"t"}`},
	{Service: "ECR", Op: "DescribeImages", Member: "repositoryName", Kind: "max", Limit: 256, Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "Length Constraints: Minimum length of 2. Maximum length of 256.", Example: `{"repositoryName":"` + strings.Repeat("r", 257) + `"}`},
	{Service: "ECR", Op: "DescribeImages", Member: "repositoryName", Kind: "pattern", Model: "constraint", Code: ecsBad, Status: 400,
		Pattern: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`,
		Quote:   `Pattern: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`, Example: `{"repositoryName":"TSA/Gallery"}`},
	{Service: "ECR", Op: "DescribeImages", Member: "registryId", Kind: "pattern", Pattern: `[0-9]{12}`, Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "Pattern: [0-9]{12}", Example: `{"registryId":"12345","repositoryName":"tsa/gallery"}`},
	{Service: "ECR", Op: "DescribeImages", Member: "imageIds", Kind: "min", Limit: 1, Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "Array Members: Minimum number of 1 item. Maximum number of 100 items.", Example: `{"repositoryName":"tsa/gallery","imageIds":[]}`},
	{Service: "ECR", Op: "DescribeImages", Member: "imageIds", Kind: "max", Limit: 100, Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "Array Members: Minimum number of 1 item. Maximum number of 100 items.", Example: `{"repositoryName":"tsa/gallery","imageIds":` + jsonImageIDs(101) + `}`},
	{Service: "ECR", Op: "DescribeImages", Member: "imageIds[].imageTag", Kind: "max", Limit: 300, Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "Length Constraints: Minimum length of 1. Maximum length of 300.", Example: `{"repositoryName":"tsa/gallery","imageIds":[{"imageTag":"` + strings.Repeat("t", 301) + `"}]}`},
	{Service: "ECR", Op: "DescribeImages", Member: "nextToken", Kind: "prose", Model: "doc", Code: ecsBad, Status: 400,
		Quote:   "This option cannot be used when you specify images with imageIds.",
		Example: `{"repositoryName":"tsa/gallery","imageIds":[{"imageTag":"3f2c1ab"}],"nextToken":"t"}`,
		check: func(in map[string]any) bool {
			_, tok := in["nextToken"]
			_, ids := in["imageIds"]
			return !(tok && ids)
		}},

	// CloudFront (API reference 2020-05-31), CreateInvalidation. The path and the XML body map to
	// DistributionId and InvalidationBatch.
	{Service: "CloudFront", Op: "CreateInvalidation", Member: "InvalidationBatch.CallerReference", Kind: "required", Model: "constraint", Code: "InvalidArgument", Status: 400,
		Quote: "CallerReference: Required: Yes", Example: `<InvalidationBatch><Paths><Quantity>1</Quantity><Items><Path>/*</Path></Items></Paths></InvalidationBatch>`},
	{Service: "CloudFront", Op: "CreateInvalidation", Member: "InvalidationBatch.Paths.Quantity", Kind: "required", Model: "constraint", Code: "InvalidArgument", Status: 400,
		Quote: "Quantity: Required: Yes", Example: `<InvalidationBatch><Paths><Items><Path>/*</Path></Items></Paths><CallerReference>r-1</CallerReference></InvalidationBatch>`},
	{Service: "CloudFront", Op: "CreateInvalidation", Member: "InvalidationBatch.Paths", Kind: "prose", Model: "error", Code: "InconsistentQuantities", Status: 400,
		Quote:   "The value of Quantity and the size of Items don't match.",
		Example: `<InvalidationBatch><Paths><Quantity>2</Quantity><Items><Path>/*</Path></Items></Paths><CallerReference>r-2</CallerReference></InvalidationBatch>`,
		check: func(in map[string]any) bool {
			p, _ := lookup(in, "InvalidationBatch.Paths").(map[string]any)
			q, hasQ := p["Quantity"].(float64)
			items, _ := p["Items"].([]any)
			return !hasQ || int(q) == len(items)
		}},

	// Tag invalidation items (Developer Guide, "What you need to know when invalidating tags").
	{Service: "CloudFront", Op: "CreateInvalidation", Member: "InvalidationBatch.Paths.Items[]", Kind: "prose", Model: "guide", Code: "InvalidArgument", Status: 400,
		Source: tagGuide, Quote: "Each tag value must contain only ASCII visible characters (33–126), excluding commas. The maximum length of a tag is 256 characters.",
		Example: `<InvalidationBatch><Paths><Quantity>1</Quantity><Items><Path>#product electronics</Path></Items></Paths><CallerReference>r-3</CallerReference></InvalidationBatch>`,
		check: func(in map[string]any) bool {
			return tagItemsHold(in, func(tag string) bool { return BadTag(tag) == "" || strings.Contains(tag, "*") })
		}},
	{Service: "CloudFront", Op: "CreateInvalidation", Member: "InvalidationBatch.Paths.Items[]", Kind: "prose", Model: "guide", Code: "InvalidArgument", Status: 400,
		Source: tagGuide, Quote: "Unlike path invalidations, tag invalidation items do not support the * wildcard.",
		Example: `<InvalidationBatch><Paths><Quantity>1</Quantity><Items><Path>#product:*</Path></Items></Paths><CallerReference>r-4</CallerReference></InvalidationBatch>`,
		check: func(in map[string]any) bool {
			return tagItemsHold(in, func(tag string) bool { return !strings.Contains(tag, "*") })
		}},

	// Elastic Load Balancing (API reference 2015-12-01): the form's members as the model names them.
	{Service: "ELB", Op: "DescribeLoadBalancers", Member: "LoadBalancerArns", Kind: "max", Limit: 20, Model: "doc", Code: "ValidationError", Status: 400,
		Quote: "You can specify up to 20 load balancers in a single call.", Example: elbForm("DescribeLoadBalancers", "LoadBalancerArns", 21)},
	{Service: "ELB", Op: "DescribeLoadBalancers", Member: "PageSize", Kind: "min", Limit: 1, Model: "constraint", Code: "ValidationError", Status: 400,
		Quote: "Valid Range: Minimum value of 1.", Example: "Action=DescribeLoadBalancers&Version=2015-12-01&PageSize=0"},
	{Service: "ELB", Op: "DescribeLoadBalancers", Member: "PageSize", Kind: "max", Limit: 400, Model: "constraint", Code: "ValidationError", Status: 400,
		Quote: "Valid Range: Maximum value of 400.", Example: "Action=DescribeLoadBalancers&Version=2015-12-01&PageSize=401"},
	{Service: "ELB", Op: "DescribeTargetGroups", Member: "PageSize", Kind: "max", Limit: 400, Model: "constraint", Code: "ValidationError", Status: 400,
		Quote: "Valid Range: Maximum value of 400.", Example: "Action=DescribeTargetGroups&Version=2015-12-01&PageSize=401"},
	{Service: "ELB", Op: "DescribeTargetGroups", Member: "TargetGroupArns", Kind: "prose", Model: "opdoc", Code: "ValidationError", Status: 400,
		Quote:   "Alternatively, you can specify one of the following to filter the results: the ARN of the load balancer, the names of one or more target groups, or the ARNs of one or more target groups.",
		Example: elbForm("DescribeTargetGroups", "TargetGroupArns", 1) + "&Names.member.1=api-blue",
		check: func(in map[string]any) bool {
			n := 0
			for _, k := range []string{"LoadBalancerArn", "TargetGroupArns", "Names"} {
				if _, ok := in[k]; ok {
					n++
				}
			}
			return n <= 1
		}},

	// STS (API reference 2011-06-15): AssumeRole, a form like ELB's.
	{Service: "STS", Op: "AssumeRole", Member: "RoleArn", Kind: "required", Model: "constraint", Code: "ValidationError", Status: 400,
		Quote: "RoleArn: Required: Yes", Example: "Action=AssumeRole&Version=2011-06-15&RoleSessionName=deploystep-r1"},
	{Service: "STS", Op: "AssumeRole", Member: "RoleArn", Kind: "min", Limit: 20, Model: "constraint", Code: "ValidationError", Status: 400,
		Quote: "Length Constraints: Minimum length of 20. Maximum length of 2048.", Example: "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1&RoleSessionName=deploystep-r1"},
	{Service: "STS", Op: "AssumeRole", Member: "RoleArn", Kind: "max", Limit: 2048, Model: "constraint", Code: "ValidationError", Status: 400,
		Quote: "Length Constraints: Minimum length of 20. Maximum length of 2048.", Example: "Action=AssumeRole&Version=2011-06-15&RoleArn=" + strings.Repeat("r", 2049) + "&RoleSessionName=deploystep-r1"},
	{Service: "STS", Op: "AssumeRole", Member: "RoleSessionName", Kind: "required", Model: "constraint", Code: "ValidationError", Status: 400,
		Quote: "RoleSessionName: Required: Yes", Example: "Action=AssumeRole&Version=2011-06-15&RoleArn=" + exampleRole},
	{Service: "STS", Op: "AssumeRole", Member: "RoleSessionName", Kind: "min", Limit: 2, Model: "constraint", Code: "ValidationError", Status: 400,
		Quote: "Length Constraints: Minimum length of 2. Maximum length of 64.", Example: "Action=AssumeRole&Version=2011-06-15&RoleArn=" + exampleRole + "&RoleSessionName=d"},
	{Service: "STS", Op: "AssumeRole", Member: "RoleSessionName", Kind: "max", Limit: 64, Model: "constraint", Code: "ValidationError", Status: 400,
		Quote: "Length Constraints: Minimum length of 2. Maximum length of 64.", Example: "Action=AssumeRole&Version=2011-06-15&RoleArn=" + exampleRole + "&RoleSessionName=" + strings.Repeat("d", 65)},
	{Service: "STS", Op: "AssumeRole", Member: "RoleSessionName", Kind: "pattern", Pattern: `[\w+=,.@-]*`, Model: "constraint", Code: "ValidationError", Status: 400,
		Quote: `Pattern: [\w+=,.@-]*`, Example: "Action=AssumeRole&Version=2011-06-15&RoleArn=" + exampleRole + "&RoleSessionName=deploystep%2Fr1"},
	{Service: "STS", Op: "AssumeRole", Member: "DurationSeconds", Kind: "min", Limit: 900, Model: "constraint", Code: "ValidationError", Status: 400,
		Quote: "Valid Range: Minimum value of 900. Maximum value of 43200.", Example: "Action=AssumeRole&Version=2011-06-15&RoleArn=" + exampleRole + "&RoleSessionName=deploystep-r1&DurationSeconds=899"},
	{Service: "STS", Op: "AssumeRole", Member: "DurationSeconds", Kind: "max", Limit: 43200, Model: "constraint", Code: "ValidationError", Status: 400,
		Quote: "Valid Range: Minimum value of 900. Maximum value of 43200.", Example: "Action=AssumeRole&Version=2011-06-15&RoleArn=" + exampleRole + "&RoleSessionName=deploystep-r1&DurationSeconds=43201"},
	{Service: "STS", Op: "AssumeRole", Member: "ExternalId", Kind: "min", Limit: 2, Model: "constraint", Code: "ValidationError", Status: 400,
		Quote: "Length Constraints: Minimum length of 2. Maximum length of 1224.", Example: "Action=AssumeRole&Version=2011-06-15&RoleArn=" + exampleRole + "&RoleSessionName=deploystep-r1&ExternalId=x"},
	{Service: "STS", Op: "AssumeRole", Member: "ExternalId", Kind: "max", Limit: 1224, Model: "constraint", Code: "ValidationError", Status: 400,
		Quote: "Length Constraints: Minimum length of 2. Maximum length of 1224.", Example: "Action=AssumeRole&Version=2011-06-15&RoleArn=" + exampleRole + "&RoleSessionName=deploystep-r1&ExternalId=" + strings.Repeat("x", 1225)},
	{Service: "STS", Op: "AssumeRole", Member: "ExternalId", Kind: "pattern", Pattern: `[\w+=,.@:\/-]*`, Model: "constraint", Code: "ValidationError", Status: 400,
		Quote: `Pattern: [\w+=,.@:\/-]*`, Example: "Action=AssumeRole&Version=2011-06-15&RoleArn=" + exampleRole + "&RoleSessionName=deploystep-r1&ExternalId=a%20b"},

	// CodePipeline (API reference 2015-07-09)
	{Service: "CodePipeline", Op: "PutJobSuccessResult", Member: "jobId", Kind: "pattern", Model: "constraint", Code: cpBad, Status: 400,
		Pattern: `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`,
		Quote:   "Pattern: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", Example: `{"jobId":"job-1"}`},
	{Service: "CodePipeline", Op: "PutJobSuccessResult", Member: "continuationToken", Kind: "max", Limit: 2048, Model: "constraint", Code: cpBad, Status: 400,
		Quote: "Length Constraints: Minimum length of 1. Maximum length of 2048.", Example: `{"jobId":"` + exampleJob + `","continuationToken":"` + strings.Repeat("t", 2049) + `"}`},
	{Service: "CodePipeline", Op: "PutJobSuccessResult", Member: "executionDetails.summary", Kind: "max", Limit: 2048, Model: "constraint", Code: cpBad, Status: 400,
		Quote: "Length Constraints: Minimum length of 1. Maximum length of 2048.", Example: `{"jobId":"` + exampleJob + `","executionDetails":{"summary":"` + strings.Repeat("s", 2049) + `"}}`},
	{Service: "CodePipeline", Op: "PutJobSuccessResult", Member: "executionDetails.percentComplete", Kind: "max", Limit: 100, Model: "constraint", Code: cpBad, Status: 400,
		Quote: "Valid Range: Minimum value of 0. Maximum value of 100.", Example: `{"jobId":"` + exampleJob + `","executionDetails":{"percentComplete":101}}`},
	{Service: "CodePipeline", Op: "PutJobSuccessResult", Member: "outputVariables", Kind: "prose", Model: "doc", Code: cpBad, Status: 400,
		Quote:   "outputVariables can be included only when there is no continuation token on the request.",
		Example: `{"jobId":"` + exampleJob + `","continuationToken":"ds1.x","outputVariables":{"DeploymentIds":"api=ecs-svc/1"}}`,
		check: func(in map[string]any) bool {
			_, tok := in["continuationToken"]
			vars, _ := in["outputVariables"].(map[string]any)
			return !(tok && len(vars) > 0)
		}},
	{Service: "CodePipeline", Op: "PutJobFailureResult", Member: "failureDetails", Kind: "required", Model: "constraint", Code: cpBad, Status: 400,
		Quote: "failureDetails: Required: Yes", Example: `{"jobId":"` + exampleJob + `"}`},
	{Service: "CodePipeline", Op: "PutJobFailureResult", Member: "failureDetails.type", Kind: "enum", Model: "constraint", Code: cpBad, Status: 400,
		Enum:    []string{"JobFailed", "ConfigurationError", "PermissionError", "RevisionOutOfSync", "RevisionUnavailable", "SystemUnavailable"},
		Quote:   "Valid Values: JobFailed | ConfigurationError | PermissionError | RevisionOutOfSync | RevisionUnavailable | SystemUnavailable",
		Example: `{"jobId":"` + exampleJob + `","failureDetails":{"type":"Failed","message":"m"}}`},
	{Service: "CodePipeline", Op: "PutJobFailureResult", Member: "failureDetails.message", Kind: "max", Limit: 5000, Model: "constraint", Code: cpBad, Status: 400,
		Quote: "Length Constraints: Minimum length of 1. Maximum length of 5000.", Example: `{"jobId":"` + exampleJob + `","failureDetails":{"type":"JobFailed","message":"` + strings.Repeat("m", 5001) + `"}}`},
	{Service: "CodePipeline", Op: "PutJobFailureResult", Member: "failureDetails.message", Kind: "min", Limit: 1, Model: "constraint", Code: cpBad, Status: 400,
		Quote: "Length Constraints: Minimum length of 1. Maximum length of 5000.", Example: `{"jobId":"` + exampleJob + `","failureDetails":{"type":"JobFailed","message":""}}`},

	// CodeDeploy (services on the CODE_DEPLOY controller): each error is the one the operation
	// lists for the member (ApplicationNameRequiredException: "The minimum number of required
	// application names was not specified.", and so on).
	{Service: "ECS", Op: "RunTask", Member: "taskDefinition", Kind: "required", Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "taskDefinition: Required: Yes", Example: `{"cluster":"tsa-gallery"}`},
	{Service: "ECS", Op: "RunTask", Member: "count", Kind: "max", Limit: 10, Model: "doc", Code: ecsBad, Status: 400,
		Quote: "You can specify up to 10 tasks for each call.", Example: `{"cluster":"tsa-gallery","taskDefinition":"api:1","count":11}`},
	{Service: "ECS", Op: "RunTask", Member: "launchType", Kind: "enum", Enum: []string{"EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"}, Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "Valid Values: EC2 | FARGATE | EXTERNAL | MANAGED_INSTANCES", Example: `{"cluster":"tsa-gallery","taskDefinition":"api:1","launchType":"LAMBDA"}`},
	{Service: "ECS", Op: "RunTask", Member: "startedBy", Kind: "prose", Model: "doc", Code: ecsBad, Status: 400,
		Quote:   "Up to 128 letters (uppercase and lowercase), numbers, hyphens (-), forward slash (/), and underscores (_) are allowed.",
		Example: `{"cluster":"tsa-gallery","taskDefinition":"api:1","startedBy":"deploystep:release"}`,
		check: func(in map[string]any) bool {
			s, ok := in["startedBy"].(string)
			return !ok || startedByRule.MatchString(s)
		}},
	{Service: "ECS", Op: "RunTask", Member: "clientToken", Kind: "prose", Model: "doc", Code: ecsBad, Status: 400,
		Quote:   "Up to 64 characters are allowed. The valid characters are characters in the range of 33-126, inclusive.",
		Example: `{"cluster":"tsa-gallery","taskDefinition":"api:1","clientToken":"a token with spaces"}`,
		check: func(in map[string]any) bool {
			s, ok := in["clientToken"].(string)
			if !ok {
				return true
			}
			for _, c := range []byte(s) {
				if c < 33 || c > 126 {
					return false
				}
			}
			return len(s) <= 64
		}},
	{Service: "ECS", Op: "RunTask", Member: "capacityProviderStrategy", Kind: "prose", Model: "doc", Code: ecsBad, Status: 400,
		Quote:   "If a capacityProviderStrategy is specified, the launchType parameter must be omitted.",
		Example: `{"cluster":"tsa-gallery","taskDefinition":"api:1","launchType":"FARGATE","capacityProviderStrategy":[{"capacityProvider":"FARGATE_SPOT","weight":1}]}`,
		check: func(in map[string]any) bool {
			cps, _ := in["capacityProviderStrategy"].([]any)
			_, lt := in["launchType"]
			return len(cps) == 0 || !lt
		}},
	{Service: "ECS", Op: "RunTask", Member: "capacityProviderStrategy", Kind: "max", Limit: 20, Model: "doc", Code: ecsBad, Status: 400,
		Quote: "A capacity provider strategy can contain a maximum of 20 capacity providers.", Example: `{"cluster":"tsa-gallery","taskDefinition":"api:1","capacityProviderStrategy":[` + strings.TrimSuffix(strings.Repeat(`{"capacityProvider":"FARGATE","weight":1},`, 21), ",") + `]}`},
	{Service: "ECS", Op: "RunTask", Member: "overrides", Kind: "prose", Model: "doc", Code: ecsBad, Status: 400,
		Quote:   "A total of 8192 characters are allowed for overrides. This limit includes the JSON formatting characters of the override structure.",
		Example: `{"cluster":"tsa-gallery","taskDefinition":"api:1","overrides":{"containerOverrides":[{"name":"api","command":["` + strings.Repeat("x", 8200) + `"]}]}}`,
		check: func(in map[string]any) bool {
			o, ok := in["overrides"]
			if !ok {
				return true
			}
			b, _ := json.Marshal(o)
			return utf8.RuneCount(b) <= 8192
		}},
	{Service: "ECS", Op: "RunTask", Member: "overrides.containerOverrides[].name", Kind: "prose", Model: "doc", Code: ecsBad, Status: 400,
		Quote:   "This parameter is required if any override is specified.",
		Example: `{"cluster":"tsa-gallery","taskDefinition":"api:1","overrides":{"containerOverrides":[{"command":["npm","run","migrate"]}]}}`,
		check: func(in map[string]any) bool {
			o, _ := in["overrides"].(map[string]any)
			cos, _ := o["containerOverrides"].([]any)
			for _, c := range cos {
				co, _ := c.(map[string]any)
				if name, _ := co["name"].(string); name == "" && len(co) > 0 {
					return false
				}
			}
			return true
		}},
	{Service: "ECS", Op: "StopTask", Member: "task", Kind: "required", Model: "constraint", Code: ecsBad, Status: 400,
		Quote: "task: Required: Yes", Example: `{"cluster":"tsa-gallery","reason":"deploystep: PREDEPLOY_TIMEOUT"}`},
	// CloudWatch Logs (API reference 2014-03-28)
	{Service: "Logs", Op: "GetLogEvents", Member: "logStreamName", Kind: "required", Model: "constraint", Code: "InvalidParameterException", Status: 400,
		Quote: "logStreamName: Required: Yes", Example: `{"logGroupName":"/ecs/tsa-gallery/APITask"}`},
	{Service: "Logs", Op: "GetLogEvents", Member: "logGroupName", Kind: "prose", Model: "doc", Code: "InvalidParameterException", Status: 400,
		Quote:   "You must include either logGroupIdentifier or logGroupName, but not both.",
		Example: `{"logGroupName":"/ecs/tsa-gallery/APITask","logGroupIdentifier":"/ecs/tsa-gallery/APITask","logStreamName":"ecs/api/0123"}`,
		check: func(in map[string]any) bool {
			_, name := in["logGroupName"]
			_, id := in["logGroupIdentifier"]
			return name != id
		}},
	{Service: "Logs", Op: "GetLogEvents", Member: "limit", Kind: "max", Limit: 10000, Model: "constraint", Code: "InvalidParameterException", Status: 400,
		Quote: "Valid Range: Minimum value of 1. Maximum value of 10000.", Example: `{"logGroupName":"/ecs/tsa-gallery/APITask","logStreamName":"ecs/api/0123","limit":10001}`},
	{Service: "Logs", Op: "GetLogEvents", Member: "startFromHead", Kind: "prose", Model: "doc", Code: "InvalidParameterException", Status: 400,
		Quote:   "If you are using a previous nextForwardToken value as the nextToken in this operation, you must specify true for startFromHead.",
		Example: `{"logGroupName":"/ecs/tsa-gallery/APITask","logStreamName":"ecs/api/0123","nextToken":"f/00000000000000000000000000000000000000000000000000000001/s"}`,
		check: func(in map[string]any) bool {
			tok, _ := in["nextToken"].(string)
			head, _ := in["startFromHead"].(bool)
			return !strings.HasPrefix(tok, "f/") || head
		}},
	{Service: "CodeDeploy", Op: "CreateDeployment", Member: "applicationName", Kind: "required", Model: "constraint", Code: "ApplicationNameRequiredException", Status: 400,
		Quote: "applicationName: Required: Yes", Example: `{"deploymentGroupName":"tsa-gallery-api-bluegreen"}`},
	{Service: "CodeDeploy", Op: "CreateDeployment", Member: "applicationName", Kind: "max", Limit: 100, Model: "constraint", Code: "InvalidApplicationNameException", Status: 400,
		Quote: "Length Constraints: Minimum length of 1. Maximum length of 100.", Example: `{"applicationName":"` + strings.Repeat("a", 101) + `","deploymentGroupName":"g"}`},
	{Service: "CodeDeploy", Op: "CreateDeployment", Member: "deploymentGroupName", Kind: "max", Limit: 100, Model: "constraint", Code: "InvalidDeploymentGroupNameException", Status: 400,
		Quote: "Length Constraints: Minimum length of 1. Maximum length of 100.", Example: `{"applicationName":"tsa-gallery-api","deploymentGroupName":"` + strings.Repeat("g", 101) + `"}`},
	{Service: "CodeDeploy", Op: "GetDeployment", Member: "deploymentId", Kind: "required", Model: "constraint", Code: "DeploymentIdRequiredException", Status: 400,
		Quote: "deploymentId: Required: Yes", Example: `{}`},
	{Service: "CodeDeploy", Op: "ListDeploymentGroups", Member: "applicationName", Kind: "required", Model: "constraint", Code: "ApplicationNameRequiredException", Status: 400,
		Quote: "applicationName: Required: Yes", Example: `{}`},
	{Service: "CodeDeploy", Op: "BatchGetDeploymentGroups", Member: "deploymentGroupNames", Kind: "required", Model: "constraint", Code: "DeploymentGroupNameRequiredException", Status: 400,
		Quote: "deploymentGroupNames: Required: Yes", Example: `{"applicationName":"tsa-gallery-api"}`},
	{Service: "CodeDeploy", Op: "ListDeployments", Member: "applicationName", Kind: "prose", Model: "doc", Code: "DeploymentGroupNameRequiredException", Status: 400,
		Quote:   "If applicationName is specified, then deploymentGroupName must be specified.",
		Example: `{"applicationName":"tsa-gallery-api"}`,
		check: func(in map[string]any) bool {
			_, app := in["applicationName"]
			_, group := in["deploymentGroupName"]
			return !app || group
		}},
}

// exampleJob is a job id of the documented shape, for the examples.
const exampleJob = "0f6d2b43-8c1e-4a7f-9b2d-3e5f6a7b8c9d"

func init() {
	for i := range contract {
		if contract[i].Pattern != "" {
			contract[i].re = regexp.MustCompile(`^(?:` + contract[i].Pattern + `)$`)
		}
	}
}

// Rules returns the rules, a copy.
func Rules() []Rule { return append([]Rule(nil), contract...) }

// Violation is AWS's answer to an input that breaks a rule.
type Violation struct {
	Status  int
	Code    string
	Message string
}

// Check checks in, the decoded input of svc.op (as the model names its members), against the
// contract and returns AWS's answer to the first rule it breaks (nil: none).
func Check(svc, op string, in map[string]any) *Violation {
	for i := range contract {
		r := &contract[i]
		if r.Service != svc || r.Op != op || r.holds(in) {
			continue
		}
		return &Violation{Status: r.Status, Code: r.Code, Message: fmt.Sprintf("%s: %s", r.Member, r.Quote)}
	}
	return nil
}

// CheckJSON decodes an awsJson body and checks it.
func CheckJSON(svc, op string, body []byte) *Violation {
	in := map[string]any{}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			return &Violation{Status: 400, Code: "SerializationException", Message: fmt.Sprintf("cannot decode request: %v", err)}
		}
	}
	return Check(svc, op, in)
}

// holds reports whether in satisfies the rule.
func (r *Rule) holds(in map[string]any) bool {
	if r.Kind == "prose" {
		return r.check(in)
	}
	parent, leaf := "", r.Member
	if i := strings.LastIndex(r.Member, "."); i >= 0 {
		parent, leaf = r.Member[:i], r.Member[i+1:]
	}
	for _, p := range values(in, parent) {
		obj, ok := p.(map[string]any)
		if !ok {
			continue
		}
		v, present := obj[strings.TrimSuffix(leaf, "[]")]
		if r.Kind == "required" {
			if !present || v == nil {
				return false
			}
			continue
		}
		if !present {
			continue
		}
		items := []any{v}
		if strings.HasSuffix(leaf, "[]") {
			items, _ = v.([]any)
		}
		for _, item := range items {
			if !r.holdsFor(item) {
				return false
			}
		}
	}
	return true
}

func (r *Rule) holdsFor(v any) bool {
	size := func() (int, bool) {
		switch x := v.(type) {
		case string:
			return utf8.RuneCountInString(x), true
		case []any:
			return len(x), true
		case map[string]any:
			return len(x), true
		case float64:
			return int(x), true
		}
		return 0, false
	}
	switch r.Kind {
	case "min":
		n, ok := size()
		return !ok || n >= r.Limit
	case "max":
		n, ok := size()
		return !ok || n <= r.Limit
	case "enum":
		s, _ := v.(string)
		for _, e := range r.Enum {
			if s == e {
				return true
			}
		}
		return false
	case "pattern":
		s, _ := v.(string)
		return r.re.MatchString(s)
	}
	return true
}

// values returns what sits at a dotted path ("" is the root; "a[]" walks a list).
func values(in any, path string) []any {
	cur := []any{in}
	if path == "" {
		return cur
	}
	for _, seg := range strings.Split(path, ".") {
		var next []any
		for _, c := range cur {
			obj, ok := c.(map[string]any)
			if !ok {
				continue
			}
			v, ok := obj[strings.TrimSuffix(seg, "[]")]
			if !ok {
				continue
			}
			if strings.HasSuffix(seg, "[]") {
				list, _ := v.([]any)
				next = append(next, list...)
			} else {
				next = append(next, v)
			}
		}
		cur = next
	}
	return cur
}

func lookup(in map[string]any, path string) any {
	if v := values(in, path); len(v) > 0 {
		return v[0]
	}
	return nil
}

func jsonList(n int, item string) string {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf("%q", fmt.Sprintf("%s-%d", item, i))
	}
	return "[" + strings.Join(items, ",") + "]"
}

func jsonTags(n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf(`{"key":"k%d","value":"v"}`, i)
	}
	return "[" + strings.Join(items, ",") + "]"
}

func jsonImageIDs(n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf(`{"imageTag":"t%d"}`, i)
	}
	return "[" + strings.Join(items, ",") + "]"
}

// tagGuide is the Developer Guide page of the tag invalidation rules.
const tagGuide = "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/invalidation-specifying-tags.html"

// tagItemsHold reports whether every #tag item of a CreateInvalidation input keeps ok.
func tagItemsHold(in map[string]any, ok func(tag string) bool) bool {
	for _, v := range values(in, "InvalidationBatch.Paths") {
		p, _ := v.(map[string]any)
		items, _ := p["Items"].([]any)
		for _, it := range items {
			if s, _ := it.(string); strings.HasPrefix(s, "#") && !ok(s[1:]) {
				return false
			}
		}
	}
	return true
}

// elbForm is an awsQuery form of op with n members of the list member.
func elbForm(op, member string, n int) string {
	s := "Action=" + op + "&Version=2015-12-01"
	for i := 1; i <= n; i++ {
		s += fmt.Sprintf("&%s.member.%d=arn%%3Aaws%%3Aelasticloadbalancing%%3Aus-east-1%%3A123456789012%%3Aloadbalancer%%2Fapp%%2Fapi-alb%%2F%016x", member, i, i)
	}
	return s
}

// exampleRoleARN is the contract examples' role: a workload account's deploy role, whose maximum
// session duration is the default hour.
const exampleRoleARN = "arn:aws:iam::210987654321:role/deploystep-deploy"

var exampleRole = url.QueryEscape(exampleRoleARN)

// QueryInput is an awsQuery form as the model names its members: a.member.N lists, numbers as
// numbers, the rest strings.
func QueryInput(form map[string][]string) map[string]any {
	in := map[string]any{}
	for k, v := range form {
		if k == "Action" || k == "Version" || len(v) == 0 {
			continue
		}
		if name, rest, ok := strings.Cut(k, ".member."); ok {
			var i int
			if _, err := fmt.Sscan(rest, &i); err == nil && i >= 1 {
				list, _ := in[name].([]any)
				for len(list) < i {
					list = append(list, nil)
				}
				list[i-1] = v[0]
				in[name] = list
			}
			continue
		}
		var f float64
		if _, err := fmt.Sscan(v[0], &f); err == nil && (k == "PageSize" || k == "DurationSeconds") {
			in[k] = f
			continue
		}
		in[k] = v[0]
	}
	return in
}

// BadTag says what is wrong with a tag invalidation item's tag (after its #), "" when nothing:
// "Each tag value must contain only ASCII visible characters (33–126), excluding commas. The
// maximum length of a tag is 256 characters", and "tag invalidation items do not support the *
// wildcard" (Developer Guide, "What you need to know when invalidating tags").
func BadTag(tag string) string {
	switch {
	case tag == "":
		return "the tag is empty"
	case len(tag) > 256:
		return "a tag is at most 256 characters"
	case strings.Contains(tag, "*"):
		return "tag invalidation items do not support the * wildcard"
	}
	for _, r := range tag {
		if r < 33 || r > 126 || r == ',' {
			return "a tag holds ASCII visible characters (33-126) but commas only"
		}
	}
	return ""
}
