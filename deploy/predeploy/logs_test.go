package predeploy

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/deploystep/deploystep/deploy/awsapi"
	"github.com/deploystep/deploystep/deploy/report"
	"github.com/deploystep/deploystep/deploy/state"
	"github.com/deploystep/deploystep/deploy/step"
)

// pagedLog is a log stream served as GetLogEvents does from the head: pages of up to 100 events,
// a forward token after each, the same token again at the end.
type pagedLog struct{ lines []string }

func (l *pagedLog) GetLogEvents(_ context.Context, in *cloudwatchlogs.GetLogEventsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error) {
	from := 0
	if tok := aws.ToString(in.NextToken); tok != "" {
		from, _ = strconv.Atoi(strings.TrimPrefix(tok, "f/"))
	}
	to := min(from+100, len(l.lines))
	out := &cloudwatchlogs.GetLogEventsOutput{NextForwardToken: aws.String(fmt.Sprintf("f/%d", to))}
	for _, line := range l.lines[from:to] {
		out.Events = append(out.Events, logtypes.OutputLogEvent{Message: aws.String(line)})
	}
	return out, nil
}

type taskLogLines struct{ lines []string }

func (c *taskLogLines) Report(ev report.Event) {
	if ev.Kind == report.KindTaskLog {
		c.lines = append(c.lines, ev.Message)
	}
}

// The migration's printed log is bounded in lines and in bytes, across the invocations that
// read it (the counts are in the record), and says once where the rest is.
func TestPrintedLogIsBounded(t *testing.T) {
	cases := []struct {
		name        string
		lines       int
		size        int
		invocations int
		printed     int // lines printed before the cut
	}{
		{"short log", 40, 80, 1, 40},
		{"many short lines", 1500, 60, 1, state.MaxLogLines},
		{"long lines", 400, 1500, 1, maxLogBytes / 1500},
		{"long lines over three invocations", 400, 1500, 3, maxLogBytes / 1500},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			log := &pagedLog{}
			for i := range c.lines {
				log.lines = append(log.lines, fmt.Sprintf("%06d %s", i, strings.Repeat("m", c.size-7)))
			}
			out := &taskLogLines{}
			h := &step.Host{Report: out, Clients: awsapi.Clients{Logs: log}}
			pd := &state.PredeployState{Task: "9f2c1ab04e3d4c5b8a7f6e5d4c3b2a19"}
			p := &predeployPlan{Container: "migrate", logs: "/ecs/tsa-gallery/APITask|ecs"}
			all := log.lines
			for i := 1; i <= c.invocations; i++ { // the stream grows between invocations
				log.lines = all[:len(all)*i/c.invocations]
				for n := 1; n > 0; {
					var err error
					if n, err = readTaskLogs(context.Background(), h, pd, p); err != nil {
						t.Fatal(err)
					}
				}
			}
			bytes := 0
			for _, l := range out.lines {
				bytes += len(l)
			}
			cut := c.printed < c.lines
			if got := len(out.lines); got != c.printed+map[bool]int{true: 1}[cut] {
				t.Fatalf("%d lines printed, want %d and a cut line: %v", got, c.printed, cut)
			}
			if bytes > maxLogBytes+200 || pd.Bytes > maxLogBytes {
				t.Errorf("%d bytes printed (%d counted); the bound is %d", bytes, pd.Bytes, maxLogBytes)
			}
			if last := out.lines[len(out.lines)-1]; cut != strings.HasPrefix(last, "… more lines are not printed") {
				t.Errorf("last line %q; cut: %v", last[:min(len(last), 80)], cut)
			}
			if pd.Lines != c.lines {
				t.Errorf("%d lines counted, want %d (every line read once)", pd.Lines, c.lines)
			}
		})
	}
}
