package ecsctl

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/deploystep/deploystep/deploy/report"
	"github.com/deploystep/deploystep/deploy/state"
	"github.com/deploystep/deploystep/deploy/step"
)

type collect []report.Event

func (c *collect) Report(e report.Event) { *c = append(*c, e) }

func snapshot(evs ...ecstypes.ServiceEvent) map[string]ecstypes.Service {
	return map[string]ecstypes.Service{"api": {ServiceName: aws.String("api"), Events: evs}}
}

func sev(id string, at time.Time, msg string) ecstypes.ServiceEvent {
	return ecstypes.ServiceEvent{Id: aws.String(id), CreatedAt: aws.Time(at), Message: aws.String(msg)}
}

// Events are told apart by id: two in one millisecond are both reported, and AWS's clock
// running behind ours loses none; none is reported twice.
func TestReportEventsByID(t *testing.T) {
	started := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	skew := started.Add(-2 * time.Second) // AWS's clock 2 s behind the runner's
	var got collect
	h := &step.Host{Report: &got}
	st := &state.State{Started: started}
	st.Init([]string{"api"})
	st.Services["api"].LastEvent = "e0" // the newest event when the deployment started

	polls := []map[string]ecstypes.Service{
		snapshot(sev("e2", skew, "has started 2 tasks"), sev("e1", skew, "has begun draining"), sev("e0", skew.Add(-time.Hour), "steady state")),
		snapshot(sev("e2", skew, "has started 2 tasks"), sev("e1", skew, "has begun draining"), sev("e0", skew.Add(-time.Hour), "steady state")),
		snapshot(sev("e3", skew.Add(time.Second), "deployment completed"), sev("e2", skew, "has started 2 tasks"), sev("e1", skew, "has begun draining")),
	}
	for _, p := range polls {
		reportEvents(h, st, p, []string{"api"})
	}
	var msgs []string
	for _, ev := range got {
		msgs = append(msgs, ev.Message)
	}
	want := "has begun draining|has started 2 tasks|deployment completed"
	if strings.Join(msgs, "|") != want {
		t.Fatalf("reported %q, want %q", strings.Join(msgs, "|"), want)
	}
}
