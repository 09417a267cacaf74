package predeploy

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/deploystep/deploystep/deploy/settings"
	"github.com/deploystep/deploystep/deploy/state"
)

func TestPredeployCommand(t *testing.T) {
	cases := []struct {
		in   string
		want string // the command joined by |, or "error: <part>"
	}{
		{"npm run migrate", "sh|-c|npm run migrate"},
		{"  npm run migrate && echo done  ", "sh|-c|npm run migrate && echo done"},
		{`["npm","run","migrate"]`, "npm|run|migrate"},
		{`[ "./migrate", "--to", "latest" ]`, "./migrate|--to|latest"},
		{`["npm", run]`, "error: not a JSON array of strings"},
		{`[]`, "error: empty"},
		{`[""]`, "error: empty"},
		{`[1, 2]`, "error: not a JSON array of strings"},
		{"", ""},
	}
	for _, c := range cases {
		cmd, err := settings.PredeployCommand(c.in)
		got := strings.Join(cmd, "|")
		if want, isErr := strings.CutPrefix(c.want, "error: "); isErr {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("predeployCommand(%q) = %q, %v; want an error with %q", c.in, got, err, want)
			}
		} else if err != nil || got != c.want {
			t.Errorf("predeployCommand(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestLogTextIsData(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Batch 7 run: 2 migrations\n", "Batch 7 run: 2 migrations"},
		{"\x1b[31mERROR\x1b[0m", `\x1b[31mERROR\x1b[0m`},
		{"a\rb", `a\x0db`},
		{"tab\tkept", "tab\tkept"},
		{"caf\xe9", `caf\ufffd`},
		{"naïve ✓", "naïve ✓"},
		{"\u0085next line", `\x85next line`},
	}
	for _, c := range cases {
		if got := logText(c.in); got != c.want {
			t.Errorf("logText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	long := logText(strings.Repeat("x", 5000))
	if len(long) > maxLogLineLen+40 || !strings.HasSuffix(long, "(3000 bytes more)") {
		t.Errorf("a 5,000-byte line printed as %d bytes ending %q", len(long), long[len(long)-30:])
	}
}

func TestPredeployVerdict(t *testing.T) {
	p := &predeployPlan{Container: "api", essential: []string{"api", "proxy"}}
	code := func(n int) *int32 { v := int32(n); return &v }
	task := func(stop ecstypes.TaskStopCode, reason string, cs ...ecstypes.Container) ecstypes.Task {
		return ecstypes.Task{StopCode: stop, StoppedReason: aws.String(reason), Containers: cs}
	}
	c := func(name string, exit *int32, reason string) ecstypes.Container {
		return ecstypes.Container{Name: aws.String(name), ExitCode: exit, Reason: aws.String(reason)}
	}
	exited := ecstypes.TaskStopCodeEssentialContainerExited
	cases := []struct {
		name string
		t    ecstypes.Task
		ok   bool
		want string
	}{
		{"exit 0", task(exited, "Essential container in task exited", c("api", code(0), ""), c("proxy", code(0), "")), true, "container api exited 0"},
		{"exit 1", task(exited, "Essential container in task exited", c("api", code(1), ""), c("proxy", code(0), "")),
			false, "container api exited 1 (EssentialContainerExited: Essential container in task exited)"},
		{"sidecar fails", task(exited, "Essential container in task exited", c("api", code(0), ""), c("proxy", code(137), "")), false, "container proxy exited 137"},
		{"non-essential sidecar fails", task(exited, "Essential container in task exited", c("api", code(0), ""), c("log-router", code(1), "")), true, "container api exited 0"},
		{"never ran", task(ecstypes.TaskStopCodeTaskFailedToStart, "CannotPullContainerError: pull image manifest has been retried 7 time(s)", c("api", nil, "")),
			false, "it never ran (TaskFailedToStart: CannotPullContainerError"},
		{"stopped by a user", task(ecstypes.TaskStopCodeUserInitiated, "Task stopped by user", c("api", nil, "")), false, "container api has no exit code (it did not run)"},
		{"no such container", task(exited, "Essential container in task exited", c("proxy", code(0), "")), false, "container api is not in the task"},
	}
	for _, tc := range cases {
		ok, why := predeployVerdict(tc.t, p)
		if ok != tc.ok || !strings.Contains(why, tc.want) {
			t.Errorf("%s: %v %q, want %v %q", tc.name, ok, why, tc.ok, tc.want)
		}
	}
}

func TestPredeployHandles(t *testing.T) {
	st := &state.State{Run: state.NewIdentity(settings.Settings{Cluster: "tsa-gallery", Services: []string{"api"}}, "tsa-gallery-api:5e6f7a8b-1c2d-4e3f-9a0b-1c2d3e4f5a6b")}
	sb, tok := st.PredeployHandles()
	if len(sb) > 36 || !startedByOK(sb) || len(tok) > 64 {
		t.Errorf("startedBy %q (%d), clientToken %q (%d)", sb, len(sb), tok, len(tok))
	}
	other := &state.State{Run: state.NewIdentity(settings.Settings{Cluster: "tsa-gallery", Services: []string{"api"}, PredeployCommand: "npm run seed"}, "tsa-gallery-api:5e6f7a8b-1c2d-4e3f-9a0b-1c2d3e4f5a6b")}
	if sb2, _ := other.PredeployHandles(); sb2 == sb {
		t.Error("another command in the same build has the same startedBy: it would adopt the other migration")
	}
}

// startedByOK is RunTask's documented startedBy: letters, numbers, -, / and _.
func startedByOK(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '/' || r == '_') {
			return false
		}
	}
	return true
}
