package job

import (
	"strings"
	"testing"

	"github.com/deploystep/deploystep/deploy/report"
)

// withLinks never cuts a link and never passes the limit.
func TestWithLinks(t *testing.T) {
	links := []report.Link{}
	for i := 0; i < 40; i++ {
		links = append(links, report.Link{Kind: report.LinkServiceDeployment, Subject: "svc", URL: "https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/c/services/" + strings.Repeat("s", 40) + "/deployments?region=us-east-1"})
	}
	for _, text := range []string{"deploystep: succeeded", strings.Repeat("x", 3000)} {
		got := withLinks(text, links, 2048)
		if len(got) > 2048 {
			t.Errorf("%d characters", len(got))
		}
		if n := strings.Count(got, "https://"); n != strings.Count(got, "region=us-east-1") {
			t.Errorf("a link was cut: %q", got[len(got)-80:])
		}
	}
	if got := withLinks("ok", links[:1], 2048); got != "ok; console: svc service deployment "+links[0].URL {
		t.Errorf("%q", got)
	}
}
