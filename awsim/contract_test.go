package awsim_test

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/contract"
	"github.com/deploystep/deploystep/awsim/demo"
)

var targets = map[string]string{
	"ECS":          "AmazonEC2ContainerServiceV20141113",
	"ECR":          "AmazonEC2ContainerRegistry_V20150921",
	"CodePipeline": "CodePipeline_20150709",
	"CodeDeploy":   "CodeDeploy_20141006",
	"Logs":         "Logs_20140328",
}

// send posts a raw request body for svc.op, as a client that skips its own validation would, and
// returns the error code and HTTP status of the answer.
func send(t *testing.T, sim *awsim.Server, svc, op, body string) (code string, status int) {
	t.Helper()
	var req *http.Request
	var err error
	switch svc {
	case "CloudFront":
		req, err = http.NewRequest(http.MethodPost, sim.URL()+"/2020-05-31/distribution/"+demo.Distribution+"/invalidation", strings.NewReader(body))
	case "ELB", "STS": // awsQuery: a form
		req, err = http.NewRequest(http.MethodPost, sim.URL()+"/", strings.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		}
	default:
		req, err = http.NewRequest(http.MethodPost, sim.URL()+"/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", targets[svc]+"."+op)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	}
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if svc == "CloudFront" || svc == "ELB" || svc == "STS" {
		var e struct {
			Code string `xml:"Error>Code"`
		}
		xml.Unmarshal(raw, &e) //nolint:errcheck // an empty code fails the caller's check
		return e.Code, resp.StatusCode
	}
	var e struct {
		Type string `json:"__type"`
	}
	json.Unmarshal(raw, &e) //nolint:errcheck
	return e.Type, resp.StatusCode
}

// TestContract sends each rule's counter-example over the wire: awsim answers with AWS's error
// code and status, and the message names the member (so it is this rule that fired). One row per
// documented rule; each row quotes its source (contract.go).
func TestContract(t *testing.T) {
	sim := start(t, demo.Config(awsim.Success, 2*time.Second, time.Second))
	for _, r := range contract.Rules() {
		t.Run(r.Service+"."+r.Op+"/"+r.Member+"/"+r.Kind, func(t *testing.T) {
			if r.Example == "" || r.Quote == "" {
				t.Fatalf("row without an example or a quote: %+v", r)
			}
			code, status := send(t, sim, r.Service, r.Op, r.Example)
			if code != r.Code || status != r.Status {
				t.Fatalf("%s answered %s %d; want %s %d (%q)", r.Op, code, status, r.Code, r.Status, r.Quote)
			}
			for _, c := range sim.Calls() {
				if c.Op == r.Op && c.Error == r.Code && c.Status == r.Status {
					return
				}
			}
			t.Fatalf("the call log has no %s answered %s", r.Op, r.Code)
		})
	}
}

// TestContractValidRequestsPass: the same operations with inputs that keep every rule are
// served (a rule that fired on everything would pass TestContract too).
func TestContractValidRequestsPass(t *testing.T) {
	sim := start(t, demo.Config(awsim.Success, 2*time.Second, time.Second))
	job := sim.NewJob()
	for _, c := range []struct{ svc, op, body string }{
		{"ECS", "DescribeServices", `{"cluster":"tsa-gallery","services":["api"],"include":["TAGS"]}`},
		{"ECS", "ListTasks", `{"cluster":"tsa-gallery","serviceName":"api","desiredStatus":"STOPPED"}`},
		{"ECS", "ListTasks", `{"cluster":"tsa-gallery","startedBy":"ecs-svc/1000000000000063352"}`},
		{"ECS", "TagResource", `{"resourceArn":"arn:aws:ecs:us-east-1:123456789012:service/tsa-gallery/api","tags":[{"key":"deploystep:run","value":"0123abcd ecs-svc/1 t=1764100000"}]}`},
		{"ECR", "DescribeImages", `{"registryId":"123456789012","repositoryName":"tsa/gallery","imageIds":[{"imageTag":"3f2c1ab"}]}`},
		{"CodeDeploy", "ListApplications", `{}`},
		{"CodeDeploy", "ListDeployments", `{}`},
		{"CodePipeline", "PutJobSuccessResult", `{"jobId":"` + job + `","outputVariables":{"DeploymentIds":"api=ecs-svc/1"}}`},
		{"CloudFront", "CreateInvalidation", `<InvalidationBatch><Paths><Quantity>1</Quantity><Items><Path>/*</Path></Items></Paths><CallerReference>deploystep-ok</CallerReference></InvalidationBatch>`},
		{"CloudFront", "CreateInvalidation", `<InvalidationBatch><Paths><Quantity>2</Quantity><Items><Path>#Product:Electronics</Path><Path>#photos</Path></Items></Paths><CallerReference>deploystep-tags</CallerReference></InvalidationBatch>`},
		{"ELB", "DescribeLoadBalancers", "Action=DescribeLoadBalancers&Version=2015-12-01&PageSize=400"},
		{"ELB", "DescribeTargetGroups", "Action=DescribeTargetGroups&Version=2015-12-01&Names.member.1=api-blue&PageSize=1"},
		{"STS", "AssumeRole", "Action=AssumeRole&Version=2011-06-15&RoleArn=" + url.QueryEscape(demo.DeployRole) + "&RoleSessionName=deploystep-0123abcd@build.7&DurationSeconds=3600"},
	} {
		if code, status := send(t, sim, c.svc, c.op, c.body); code != "" || status >= 300 {
			t.Errorf("%s.%s %s: answered %s %d", c.svc, c.op, c.body, code, status)
		}
	}
}
