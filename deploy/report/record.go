package report

// The release record (SUMMARY_FILE): at the end of a command-mode run, success or failure, a
// Markdown account of the release for the people who look at it instead of reading the log: the
// outcome and exit code, whom it acted as, per service the revision, deployment, digest and a
// timeline of its stages and traffic shifts, the pre-deploy task's result, the invalidation
// decision and ids, the edge proof, the console links and a Mermaid gantt of the whole, which
// renders where Markdown charts render (GitHub, GitLab; a CodeBuild artifact shows as text).
//
// Data flow: the engine notes, as it goes, when each phase ran, each change of a service's stage,
// traffic share or task counts (judge), and the pre-deploy task's verdict and logs (Notes, in
// memory: the Lambda mode's record is the CodePipeline summary, so nothing of it rides in a
// continuation token). Result makes the Summary and Notes.Record completes it into the whole
// account of the release; renderRecord turns that Summary alone into Markdown (pure);
// WriteRecord writes it atomically (a temporary file in the same directory, synced, renamed over
// the target), so a reader never sees half a record.

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/deploystep/deploystep/deploy/edge"
	"github.com/deploystep/deploystep/deploy/settings"
	"github.com/deploystep/deploystep/deploy/state"
	"github.com/deploystep/deploystep/deploy/verdict"
)

// Notes is what the release record needs beyond the State, noted as the run goes: when each phase
// ran, each change of a service's stage, traffic share or task counts, and the pre-deploy task's
// verdict and logs. Safe for concurrent use; the zero value is ready.
type Notes struct {
	mu        sync.Mutex
	phases    []Span
	services  map[string][]Mark
	predeploy PredeployRecord
}

// Span is a phase that ran.
type Span struct {
	Phase string    `json:"phase"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Mark is where a service's deployment was at a time.
type Mark struct {
	At      time.Time `json:"at"`
	Stage   string    `json:"stage,omitempty"`
	Traffic *float64  `json:"traffic,omitempty"`
	Running int       `json:"running,omitempty"`
	Desired int       `json:"desired,omitempty"`
	End     string    `json:"end,omitempty"` // the verdict when it ended: done or failed
}

func (m Mark) same(o Mark) bool {
	return m.Stage == o.Stage && m.Running == o.Running && m.Desired == o.Desired && m.End == o.End &&
		(m.Traffic == nil) == (o.Traffic == nil) && (m.Traffic == nil || *m.Traffic == *o.Traffic)
}

// Phase notes a phase's run.
func (n *Notes) Phase(phase string, start, end time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.phases = append(n.phases, Span{phase, start, end})
}

// Decision notes a service's decision, at, when where it is changed.
func (n *Notes) Decision(name string, at time.Time, d verdict.Decision) {
	m := Mark{At: at, Stage: d.Stage, Traffic: d.Traffic}
	if d.Counts != nil {
		m.Running, m.Desired = d.Counts.Running, d.Counts.Desired
	}
	if d.Verdict != verdict.Waiting {
		m.End = d.Verdict.String()
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.services == nil {
		n.services = map[string][]Mark{}
	}
	marks := n.services[name]
	if k := len(marks); k > 0 && (marks[k-1].same(m) || marks[k-1].End != "") {
		return
	}
	n.services[name] = append(marks, m)
}

// Started notes when the release started a service's deployment: its timeline's start.
func (n *Notes) Started(name string, at time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.services == nil {
		n.services = map[string][]Mark{}
	}
	if len(n.services[name]) == 0 {
		n.services[name] = []Mark{{At: at, Stage: "started"}}
	}
}

// Predeploy notes the pre-deploy task's verdict, when it ran and where its logs are.
func (n *Notes) Predeploy(verdict, group, stream string, began, ended time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.predeploy.Result, n.predeploy.LogGroup, n.predeploy.LogStream = verdict, group, stream
	n.predeploy.Began, n.predeploy.Ended = began, ended
}

// PredeployLogs is the pre-deploy task's log group and stream ("" stream: unknown).
func (n *Notes) PredeployLogs() (group, stream string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.predeploy.LogGroup, n.predeploy.LogStream
}

// Noted is a copy of the notes.
func (n *Notes) Noted() (phases []Span, services map[string][]Mark, predeploy PredeployRecord) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.phases), maps.Clone(n.services), n.predeploy
}

// ServiceRecord is one service of the release as the record shows it.
type ServiceRecord struct {
	Name           string   `json:"name"`
	TaskDefinition string   `json:"taskDefinition,omitempty"`
	Deployment     string   `json:"deployment,omitempty"`
	Controller     string   `json:"controller,omitempty"`
	Digests        []string `json:"digests,omitempty"`
	Ended          string   `json:"ended"` // not started, in progress, paused at ..., done, failed
	Timeline       []Mark   `json:"timeline,omitempty"`
}

// PredeployRecord is the pre-deploy task as the record shows it.
type PredeployRecord struct {
	Command   string    `json:"command"`
	Task      string    `json:"task,omitempty"`
	Passed    bool      `json:"passed"`
	Result    string    `json:"result,omitempty"`
	LogGroup  string    `json:"logGroup,omitempty"`
	LogStream string    `json:"logStream,omitempty"`
	Began     time.Time `json:"began,omitzero"`
	Ended     time.Time `json:"ended,omitzero"`
}

// EdgeRecord is one VERIFY_URL (redacted) and what the edge served there.
type EdgeRecord struct {
	URL      string `json:"url"`
	Verified bool   `json:"verified"`
	Served   string `json:"served,omitempty"` // the version it carried ("" for a status-only check)
	Expected string `json:"expected,omitempty"`
}

// Record completes sum into the whole account of the release, from the settings, the state and
// the notes: what the release record is rendered from.
func (n *Notes) Record(sum *Summary, s settings.Settings, st *state.State) {
	phases, marks, pd := n.Noted()
	sum.Started, sum.Release, sum.Account, sum.Region = st.Started, st.Run.CallerRef, st.Caller.Account, st.Caller.Region
	sum.RoleARN, sum.Cluster, sum.Image, sum.Spans = s.RoleARN, s.Cluster, s.Image, phases
	for _, name := range s.Services {
		svc := st.Services[name]
		if svc == nil {
			svc = &state.ServiceState{}
		}
		r := ServiceRecord{Name: name, TaskDefinition: svc.TaskDef, Deployment: svc.Deployment, Controller: svc.Controller,
			Digests: slices.Compact(slices.Sorted(slices.Values(svc.Digests))), Timeline: marks[name], Ended: "not started"}
		switch {
		case svc.Paused != nil && svc.Finished:
			r.Ended = "paused at " + svc.Paused.Stage + " " + svc.Paused.ID
		case len(r.Timeline) > 0 && r.Timeline[len(r.Timeline)-1].End != "":
			r.Ended = r.Timeline[len(r.Timeline)-1].End
		case svc.Finished:
			r.Ended = "done"
		case svc.Deployment != "":
			r.Ended = "in progress"
		}
		sum.Services = append(sum.Services, r)
	}
	if s.PredeployCommand != "" {
		pd.Command = s.PredeployCommand
		if st.Predeploy != nil {
			pd.Task, pd.Passed = st.Predeploy.Task, st.Predeploy.Passed
		}
		sum.Predeploy = &pd
	}
	if !s.SkipInvalidation {
		sum.Distributions = s.Distributions
	}
	want := s.Expected()
	for i, u := range s.VerifyURLs {
		served, ok := st.Verified[i]
		sum.Edge = append(sum.Edge, EdgeRecord{URL: edge.Redact(u), Verified: ok, Served: served, Expected: want})
	}
}

// WriteRecord writes the release record of sum to path atomically.
func WriteRecord(path string, sum Summary) error {
	return writeAtomically(path, []byte(clipRecord(renderRecord(sum), maxRecordBytes)))
}

// maxRecordBytes bounds the record: GitHub Actions takes at most 1 MiB of a step's job summary
// ("Adding a job summary": "the maximum size of a step summary is 1 MiB"), and a record that long
// is beyond reading anyway.
const maxRecordBytes = 1 << 20

// clipRecord cuts a record longer than max at a line, with a line saying so, within max bytes.
func clipRecord(rec string, max int) string {
	if len(rec) <= max {
		return rec
	}
	note := fmt.Sprintf("\n\n*The record is cut here at %d bytes; the run's JSON summary (OUTPUT=json) has all of it.*\n", max)
	cut := rec[:max-len(note)]
	if i := strings.LastIndexByte(cut, '\n'); i > 0 {
		cut = cut[:i]
	}
	return cut + note
}

// writeAtomically replaces path with b: a reader sees the old file or the new one, never a part.
func writeAtomically(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) //nolint:errcheck // gone after the rename
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// md escapes text for a Markdown table cell.
func md(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
}

// code is s as inline code in a table cell.
func code(s string) string {
	if s == "" {
		return ""
	}
	return "`" + strings.ReplaceAll(md(s), "`", "'") + "`"
}

// seconds is t as seconds from the release's start.
func seconds(t, start time.Time) string {
	return "+" + strconv.FormatFloat(t.Sub(start).Seconds(), 'f', 1, 64) + " s"
}

// stageLabel is how a mark's place reads in the timeline and the chart.
func stageLabel(m Mark) string {
	label := m.Stage
	if label == "" {
		label = "rolling update"
	}
	if m.Traffic != nil {
		label += " · " + strconv.FormatFloat(*m.Traffic, 'f', -1, 64) + "% traffic"
	}
	return label
}

// renderRecord is the record's Markdown, of the Summary alone.
func renderRecord(sum Summary) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	linkTo := func(kind, subject, text string) string {
		for _, l := range sum.Links {
			if l.Kind == kind && l.Subject == subject {
				return "[" + md(text) + "](" + l.URL + ")"
			}
		}
		return code(text)
	}
	recordHead(w, sum)
	recordServices(w, sum, linkTo)
	if pd := sum.Predeploy; pd != nil {
		w("\n## Pre-deploy task\n\n")
		switch {
		case pd.Task == "":
			w("Not started (`%s` did not run).\n", md(pd.Command))
		default:
			verdict := cmp.Or(pd.Result, "no exit code read")
			w("Task %s ran %s: **%s**.", linkTo(LinkTask, pd.Task, pd.Task), code(pd.Command), md(verdict))
			if pd.LogStream != "" {
				w(" Logs: %s.", linkTo(LinkLogs, pd.Task, pd.LogGroup+" / "+pd.LogStream))
			}
			w("\n")
		}
	}
	recordInvalidations(w, sum, linkTo)
	if len(sum.Edge) > 0 {
		w("\n## Edge proof\n\n| URL | Served |\n|---|---|\n")
		for _, e := range sum.Edge {
			cell := "not verified"
			switch {
			case e.Verified && e.Served != "":
				cell = "version " + code(e.Served)
			case e.Verified:
				cell = "2xx"
			}
			if e.Expected != "" && !e.Verified {
				cell += " (expected " + code(e.Expected) + ")"
			}
			w("| %s | %s |\n", md(e.URL), cell)
		}
	}
	if len(sum.Links) > 0 {
		w("\n## Console\n\n")
		for _, l := range sum.Links {
			w("- [%s %s](%s)\n", l.What(), md(l.Subject), l.URL)
		}
	}
	if chart := gantt(sum); chart != "" {
		w("\n## Timeline\n\n%s", chart)
	}
	return b.String()
}

// recordHead is the record's title, its facts table and what went wrong.
func recordHead(w func(string, ...any), sum Summary) {
	w("# deploystep release: %s\n\n", sum.Result)
	w("| | |\n|---|---|\n")
	w("| Outcome | **%s**, exit code %d, in %.1f s |\n", sum.Result, sum.ExitCode, sum.Seconds)
	w("| Started | %s |\n", sum.Started.UTC().Format(time.RFC3339))
	w("| Release | %s |\n", code(sum.Release))
	if sum.Identity != "" {
		who := fmt.Sprintf("%s (account %s, %s)", code(sum.Identity), sum.Account, sum.Region)
		if sum.AssumedBy != "" {
			who += fmt.Sprintf(", a session of %s assumed by %s", code(sum.RoleARN), code(sum.AssumedBy))
		}
		w("| Identity | %s |\n", who)
	} else if sum.RoleARN != "" {
		w("| Identity | not established (ROLE_ARN %s) |\n", code(sum.RoleARN))
	}
	w("| Cluster | %s |\n", code(sum.Cluster))
	if sum.Image != "" {
		w("| Image | %s |\n", code(sum.Image))
	}
	if sum.Digest != "" {
		w("| Digest | %s |\n", code(sum.Digest))
	}
	if sum.Error != "" {
		w("\n## What went wrong\n\n```text\n%s\n```\n", strings.ReplaceAll(sum.Error, "```", "'''"))
	}
}

// recordServices is the services' table and each service's timeline.
func recordServices(w func(string, ...any), sum Summary, linkTo func(kind, subject, text string) string) {
	w("\n## Services\n\n| Service | Revision | Deployment | Digest | Ended |\n|---|---|---|---|---|\n")
	for _, r := range sum.Services {
		dep := ""
		if r.Deployment != "" {
			kind := LinkServiceDeployment
			if r.Controller == state.ControllerCodeDeploy {
				kind = LinkCodeDeploy
			}
			dep = linkTo(kind, r.Name, r.Deployment)
		}
		digests := ""
		for _, d := range r.Digests {
			digests += code(d) + " "
		}
		w("| %s | %s | %s | %s | %s |\n", md(r.Name), code(r.TaskDefinition), dep, strings.TrimSpace(digests), r.Ended)
	}
	for _, r := range sum.Services {
		if len(r.Timeline) == 0 {
			continue
		}
		w("\n### %s\n\n| At | Stage | Tasks |\n|---|---|---|\n", md(r.Name))
		for _, m := range r.Timeline {
			label := stageLabel(m)
			if m.End != "" {
				label = "**" + m.End + "**"
			}
			tasks := ""
			if m.Desired > 0 || m.Running > 0 {
				tasks = fmt.Sprintf("%d of %d running", m.Running, m.Desired)
			}
			w("| %s | %s | %s |\n", seconds(m.At, sum.Started), md(label), tasks)
		}
	}
}

// recordInvalidations is the invalidations' table: per distribution the decision, paths and id.
func recordInvalidations(w func(string, ...any), sum Summary, linkTo func(kind, subject, text string) string) {
	if len(sum.Distributions) == 0 {
		return
	}
	w("\n## Invalidation\n\n| Distribution | Decision | Paths | Invalidation |\n|---|---|---|---|\n")
	for _, d := range sum.Distributions {
		dec, decided := sum.InvalidationDecisions[d]
		what := "not decided"
		if decided {
			what = dec.Mode
			if dec.Reason != "" {
				what += ": " + dec.Reason
			}
		}
		paths := ""
		for _, p := range dec.Paths {
			paths += code(p) + " "
		}
		if decided && len(dec.Paths) == 0 {
			paths = "nothing"
		}
		inv := ""
		switch id := sum.Invalidations[d]; {
		case id != "":
			inv = linkTo(LinkInvalidation, d, id)
		case len(dec.Paths) > 0:
			inv = "not created"
		}
		w("| %s | %s | %s | %s |\n", code(d), md(what), strings.TrimSpace(paths), inv)
	}
}

// ganttName is text a gantt task or section can hold (no :, # or ;, which the syntax uses).
func ganttName(s string) string {
	return strings.NewReplacer(":", " ", "#", "", ";", ",", "\n", " ").Replace(s)
}

// gantt is a Mermaid gantt of the release: the phases, then per service its stages.
func gantt(sum Summary) string {
	if len(sum.Spans) == 0 {
		return ""
	}
	var b strings.Builder
	ms := func(t time.Time) int64 { return t.UnixMilli() }
	task := func(name string, start, end time.Time, tag string) {
		e := max(ms(end), ms(start)+1)
		if tag != "" {
			tag += ", "
		}
		fmt.Fprintf(&b, "    %s :%s%d, %d\n", ganttName(name), tag, ms(start), e)
	}
	b.WriteString("```mermaid\ngantt\n    title deploystep release " + ganttName(sum.Release) + "\n    dateFormat x\n    axisFormat %H:%M:%S\n")
	b.WriteString("    section release\n")
	last := sum.Started
	for _, p := range sum.Spans {
		task(p.Phase, p.Start, p.End, "")
		last = maxTime(last, p.End)
	}
	if pd := sum.Predeploy; pd != nil && !pd.Began.IsZero() {
		b.WriteString("    section pre-deploy task\n")
		tag := "done"
		if !pd.Passed {
			tag = "crit"
		}
		task(pd.Command, pd.Began, maxTime(pd.Ended, pd.Began), tag)
	}
	for _, r := range sum.Services {
		marks := r.Timeline
		if len(marks) == 0 {
			continue
		}
		fmt.Fprintf(&b, "    section %s\n", ganttName(r.Name))
		for i := 0; i < len(marks); i++ {
			m := marks[i]
			if m.End != "" {
				tag := "milestone"
				if m.End == verdict.Failed.String() {
					tag = "crit, milestone"
				}
				task(m.End, m.At, m.At, tag)
				break
			}
			j := i + 1
			for j < len(marks) && marks[j].End == "" && stageLabel(marks[j]) == stageLabel(m) {
				j++
			}
			end := last
			if j < len(marks) {
				end = marks[j].At
			}
			task(stageLabel(m), m.At, end, "")
			i = j - 1
		}
	}
	b.WriteString("```\n")
	return b.String()
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
