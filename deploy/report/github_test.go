package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// In a GitHub Actions log no line deploystep did not write can act as a workflow command: every
// line comes after ::stop-commands::<token>, and only deploystep's own ::error annotations are
// written with commands resumed (with the token that stopped them), escaped as the runner reads
// them; each stop uses a new token.
func TestGitHubOutputStopsWorkflowCommands(t *testing.T) {
	var out bytes.Buffer
	r := NewReporter(&out, "github")
	f := false
	r.Report(Event{Phase: "predeploy", Kind: KindTaskLog, Task: "9f2c1ab04e3d4c5b", Message: "::add-mask::hunter2"})
	r.Report(Event{Phase: "follow", Kind: KindServiceEvent, Service: "api", Message: "line one\n::set-output name=Result::succeeded"})
	r.Report(Event{Phase: "preflight", Kind: KindCheck, OK: &f, Message: "service api not found in cluster tsa-gallery (us-east-1, 123456789012)"})
	r.Report(Event{Phase: "follow", Kind: KindResult, Message: "service api: rolled back: 50% failed\nsee the events",
		Summary: &Summary{Result: "failed", ExitCode: 1}})

	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	stop := regexp.MustCompile(`^::stop-commands::(deploystep-[0-9a-f]{32})$`)
	m := stop.FindStringSubmatch(lines[0])
	if m == nil {
		t.Fatalf("the first line does not stop workflow commands: %q", lines[0])
	}
	token, tokens, annotations, injected := m[1], map[string]bool{m[1]: true}, 0, 0
	for i := 1; i < len(lines); i++ {
		line := lines[i]
		if line == "::"+token+"::" { // resumed: the next line is an annotation, then a new stop
			annotations++
			if !strings.HasPrefix(lines[i+1], "::error title=deploystep") {
				t.Fatalf("commands resumed for %q", lines[i+1])
			}
			if m = stop.FindStringSubmatch(lines[i+2]); m == nil || tokens[m[1]] {
				t.Fatalf("not stopped again with a new token: %q", lines[i+2])
			}
			token, tokens[m[1]] = m[1], true
			i += 2
			continue
		}
		if line == "::set-output name=Result::succeeded" || strings.HasSuffix(line, "| ::add-mask::hunter2") {
			injected++ // printed as data, commands stopped
		}
	}
	if injected != 2 {
		t.Errorf("the task's and the event's text printed %d times, want 2:\n%s", injected, out.String())
	}
	if annotations != 2 {
		t.Fatalf("%d annotations, want 2 (the failed check, the result):\n%s", annotations, out.String())
	}
	want := "::error title=deploystep%3A failed (exit 1)::service api: rolled back: 50%25 failed%0Asee the events"
	if !strings.Contains(out.String(), want) {
		t.Errorf("no %q in:\n%s", want, out.String())
	}
}
