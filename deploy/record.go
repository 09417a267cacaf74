package deploy

// The release record (SUMMARY_FILE): at the end of a command-mode run, success or failure, a
// Markdown account of the release for the people who look at it instead of reading the log: the
// outcome and exit code, whom it acted as, per service the revision, deployment, digest and a
// timeline of its stages and traffic shifts, the pre-deploy task's result, the invalidation
// decision and ids, the edge proof, the console links and a Mermaid gantt of the whole, which
// renders where Markdown charts render (GitHub, GitLab; a CodeBuild artifact shows as text).
//
// Data flow: the engine notes, as it goes, when each phase ran, each change of a service's stage,
// traffic share or task counts (judge), and the pre-deploy task's verdict and logs (the
// recorder, in memory: the Lambda mode's record is the CodePipeline summary, so nothing of it
// rides in a continuation token). Result makes the Summary; renderRecord turns the two into
// Markdown (pure); writeRecord writes it atomically (a temporary file in the same directory,
// synced, renamed over the target), so a reader never sees half a record.

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"deploystep/deploy/edge"
	"deploystep/deploy/settings"
	"deploystep/deploy/state"
	"deploystep/deploy/verdict"
)

// recorder is what the record needs beyond the State.
type recorder struct {
	phases   []span
	services map[string][]mark
	// predeploy is the pre-deploy task's verdict ("container migrate exited 0"), when it ran and
	// where its logs are (whether it passed is State.Predeploy.Passed).
	predeploy                      string
	logGroup, logStream            string
	predeployBegan, predeployEnded time.Time
}

// span is a phase that ran.
type span struct {
	Phase      string
	Start, End time.Time
}

// mark is where a service's deployment was at a time.
type mark struct {
	At               time.Time
	Stage            string
	Traffic          *float64
	Running, Desired int
	End              string // the verdict when it ended: done or failed
}

func (m mark) same(o mark) bool {
	return m.Stage == o.Stage && m.Running == o.Running && m.Desired == o.Desired && m.End == o.End &&
		(m.Traffic == nil) == (o.Traffic == nil) && (m.Traffic == nil || *m.Traffic == *o.Traffic)
}

// notePhase records a phase's run.
func (e *Engine) notePhase(phase string, start, end time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rec.phases = append(e.rec.phases, span{phase, start, end})
}

// noteDecision records a service's decision when where it is changed.
func (e *Engine) noteDecision(name string, d verdict.Decision) {
	m := mark{At: e.now(), Stage: d.Stage, Traffic: d.Traffic}
	if d.Counts != nil {
		m.Running, m.Desired = d.Counts.Running, d.Counts.Desired
	}
	if d.Verdict != verdict.Waiting {
		m.End = d.Verdict.String()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rec.services == nil {
		e.rec.services = map[string][]mark{}
	}
	marks := e.rec.services[name]
	if n := len(marks); n > 0 && (marks[n-1].same(m) || marks[n-1].End != "") {
		return
	}
	e.rec.services[name] = append(marks, m)
}

// noteStarted records when the release started a service's deployment: its timeline's start.
func (e *Engine) noteStarted(name string, at time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rec.services == nil {
		e.rec.services = map[string][]mark{}
	}
	if len(e.rec.services[name]) == 0 {
		e.rec.services[name] = []mark{{At: at, Stage: "started"}}
	}
}

// notePredeploy records the pre-deploy task's verdict and its logs' place.
func (e *Engine) notePredeploy(verdict, group, stream string, began, ended time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rec.predeploy, e.rec.logGroup, e.rec.logStream = verdict, group, stream
	e.rec.predeployBegan, e.rec.predeployEnded = began, ended
}

// predeployLogs is the pre-deploy task's log group and stream ("" stream: unknown).
func (e *Engine) predeployLogs() (group, stream string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rec.logGroup, e.rec.logStream
}

// writeRecord writes the release record of st and its summary to SUMMARY_FILE (nothing without
// it); Result calls it before the result event, so that event stays the run's last. A record
// that cannot be written is a warning: the release's outcome stands.
func (e *Engine) writeRecord(st *state.State, sum Summary) {
	path := e.Settings.SummaryFile
	if path == "" {
		return
	}
	e.mu.Lock()
	rec := e.rec
	rec.phases = slices.Clone(e.rec.phases)
	rec.services = maps.Clone(e.rec.services)
	e.mu.Unlock()
	if err := writeAtomically(path, []byte(renderRecord(e.Settings, st, sum, rec))); err != nil {
		e.emit(Event{Kind: KindWarning, Message: fmt.Sprintf("SUMMARY_FILE: the release record was not written: %v", err)})
		return
	}
	e.emit(Event{Kind: KindRecord, Phase: "record", Message: "release record written to " + path})
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
func stageLabel(m mark) string {
	label := m.Stage
	if label == "" {
		label = "rolling update"
	}
	if m.Traffic != nil {
		label += " · " + strconv.FormatFloat(*m.Traffic, 'f', -1, 64) + "% traffic"
	}
	return label
}

// renderRecord is the record's Markdown.
func renderRecord(s settings.Settings, st *state.State, sum Summary, rec recorder) string {
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
	w("# deploystep release: %s\n\n", sum.Result)
	w("| | |\n|---|---|\n")
	w("| Outcome | **%s**, exit code %d, in %.1f s |\n", sum.Result, sum.ExitCode, sum.Seconds)
	w("| Started | %s |\n", st.Started.UTC().Format(time.RFC3339))
	w("| Release | %s |\n", code(st.Run.CallerRef))
	if st.Caller.ARN != "" {
		who := fmt.Sprintf("%s (account %s, %s)", code(st.Caller.ARN), st.Caller.Account, st.Caller.Region)
		if st.Caller.Via != "" {
			who += fmt.Sprintf(", a session of %s assumed by %s", code(s.RoleARN), code(st.Caller.Via))
		}
		w("| Identity | %s |\n", who)
	} else if s.RoleARN != "" {
		w("| Identity | not established (ROLE_ARN %s) |\n", code(s.RoleARN))
	}
	w("| Cluster | %s |\n", code(s.Cluster))
	if s.Image != "" {
		w("| Image | %s |\n", code(s.Image))
	}
	if sum.Digest != "" {
		w("| Digest | %s |\n", code(sum.Digest))
	}
	if sum.Error != "" {
		w("\n## What went wrong\n\n```text\n%s\n```\n", strings.ReplaceAll(sum.Error, "```", "'''"))
	}

	w("\n## Services\n\n| Service | Revision | Deployment | Digest | Ended |\n|---|---|---|---|---|\n")
	for _, name := range s.Services {
		svc := st.Services[name]
		if svc == nil {
			svc = &state.ServiceState{}
		}
		ended := "not started"
		marks := rec.services[name]
		switch {
		case svc.Paused != "":
			ended = "paused at " + svc.Paused
		case len(marks) > 0 && marks[len(marks)-1].End != "":
			ended = marks[len(marks)-1].End
		case svc.Finished:
			ended = "done"
		case svc.Deployment != "":
			ended = "in progress"
		}
		dep := ""
		if svc.Deployment != "" {
			kind := LinkServiceDeployment
			if svc.Controller == state.ControllerCodeDeploy {
				kind = LinkCodeDeploy
			}
			dep = linkTo(kind, name, svc.Deployment)
		}
		digests := ""
		for _, d := range slices.Compact(slices.Sorted(slices.Values(svc.Digests))) {
			digests += code(d) + " "
		}
		w("| %s | %s | %s | %s | %s |\n", md(name), code(svc.TaskDef), dep, strings.TrimSpace(digests), ended)
	}
	for _, name := range s.Services {
		marks := rec.services[name]
		if len(marks) == 0 {
			continue
		}
		w("\n### %s\n\n| At | Stage | Tasks |\n|---|---|---|\n", md(name))
		for _, m := range marks {
			label := stageLabel(m)
			if m.End != "" {
				label = "**" + m.End + "**"
			}
			tasks := ""
			if m.Desired > 0 || m.Running > 0 {
				tasks = fmt.Sprintf("%d of %d running", m.Running, m.Desired)
			}
			w("| %s | %s | %s |\n", seconds(m.At, st.Started), md(label), tasks)
		}
	}

	if s.PredeployCommand != "" {
		w("\n## Pre-deploy task\n\n")
		switch pd := st.Predeploy; {
		case pd == nil || pd.Task == "":
			w("Not started (`%s` did not run).\n", md(s.PredeployCommand))
		default:
			verdict := sum.PredeployResult
			if verdict == "" {
				verdict = "no exit code read"
			}
			w("Task %s ran %s: **%s**.", linkTo(LinkTask, pd.Task, pd.Task), code(s.PredeployCommand), md(verdict))
			if rec.logStream != "" {
				w(" Logs: %s.", linkTo(LinkLogs, pd.Task, rec.logGroup+" / "+rec.logStream))
			}
			w("\n")
		}
	}

	if !s.SkipInvalidation && len(s.Distributions) > 0 {
		w("\n## Invalidation\n\n| Distribution | Decision | Paths | Invalidation |\n|---|---|---|---|\n")
		for _, d := range s.Distributions {
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
			switch id := st.Invalidations[d]; {
			case id != "":
				inv = linkTo(LinkInvalidation, d, id)
			case len(dec.Paths) > 0:
				inv = "not created"
			}
			w("| %s | %s | %s | %s |\n", code(d), md(what), strings.TrimSpace(paths), inv)
		}
	}

	if len(s.VerifyURLs) > 0 {
		w("\n## Edge proof\n\n| URL | Served |\n|---|---|\n")
		want := s.Expected()
		for i, u := range s.VerifyURLs {
			served, ok := st.Verified[i]
			cell := "not verified"
			switch {
			case ok && served != "":
				cell = "version " + code(served)
			case ok:
				cell = "2xx"
			}
			if want != "" && !ok {
				cell += " (expected " + code(want) + ")"
			}
			w("| %s | %s |\n", md(edge.Redact(u)), cell)
		}
	}

	if len(sum.Links) > 0 {
		w("\n## Console\n\n")
		for _, l := range sum.Links {
			w("- [%s %s](%s)\n", l.what(), md(l.Subject), l.URL)
		}
	}
	if chart := gantt(s, st, rec); chart != "" {
		w("\n## Timeline\n\n%s", chart)
	}
	return b.String()
}

// ganttName is text a gantt task or section can hold (no :, # or ;, which the syntax uses).
func ganttName(s string) string {
	return strings.NewReplacer(":", " ", "#", "", ";", ",", "\n", " ").Replace(s)
}

// gantt is a Mermaid gantt of the release: the phases, then per service its stages.
func gantt(s settings.Settings, st *state.State, rec recorder) string {
	if len(rec.phases) == 0 {
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
	b.WriteString("```mermaid\ngantt\n    title deploystep release " + ganttName(st.Run.CallerRef) + "\n    dateFormat x\n    axisFormat %H:%M:%S\n")
	b.WriteString("    section release\n")
	last := st.Started
	for _, p := range rec.phases {
		task(p.Phase, p.Start, p.End, "")
		last = maxTime(last, p.End)
	}
	if !rec.predeployBegan.IsZero() {
		b.WriteString("    section pre-deploy task\n")
		tag := "done"
		if st.Predeploy == nil || !st.Predeploy.Passed {
			tag = "crit"
		}
		task(s.PredeployCommand, rec.predeployBegan, maxTime(rec.predeployEnded, rec.predeployBegan), tag)
	}
	for _, name := range s.Services {
		marks := rec.services[name]
		if len(marks) == 0 {
			continue
		}
		fmt.Fprintf(&b, "    section %s\n", ganttName(name))
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
