// Package report owns what a run says: the engine emits Events and one Reporter writes them, as
// text for CI logs or as JSON lines; the Summary is the final account of a run, the whole of it
// (Notes.Record completes it from the settings, the state and what was noted as the run went),
// with the console links of what the release made (links.go), and the release record
// (SUMMARY_FILE) is rendered from that Summary alone (record.go).
package report

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/deploystep/deploystep/deploy/state"
	"github.com/deploystep/deploystep/deploy/verdict"
)

// Event kinds.
const (
	KindIdentity       = "identity"     // who the run acts as, and where
	KindPlan           = "plan"         // what will be done
	KindCheck          = "check"        // a preflight check and its result
	KindPhase          = "phase"        // a phase starts
	KindImage          = "image"        // the image's digest is resolved
	KindTaskDefinition = "taskdef"      // the release's task-definition revision is registered
	KindTask           = "task"         // the pre-deploy task started, changed status, passed or was stopped
	KindTaskLog        = "tasklog"      // a line of the pre-deploy task's log, as data
	KindDeployment     = "deployment"   // a deployment is started and pinned
	KindProgress       = "progress"     // a service's counts changed
	KindServiceEvent   = "event"        // a new ECS service event
	KindInvalidation   = "invalidation" // an invalidation was created or changed status
	KindWarning        = "warning"      // a transient problem; the run goes on
	KindFailure        = "failure"      // what a failure left: a stopped task, where its logs are
	KindResult         = "result"       // the end: success or the reason it failed
	KindJob            = "job"          // Lambda mode: the CodePipeline job's result was reported
	KindRecord         = "record"       // the release record (SUMMARY_FILE) was written
)

// Event levels.
const (
	LevelInfo    = "info"
	LevelWarning = "warning"
	LevelError   = "error"
)

// levelOf is an event's level by its kind and outcome.
func levelOf(e Event) string {
	switch {
	case e.Kind == KindFailure, e.Kind == KindCheck && e.OK != nil && !*e.OK,
		e.Kind == KindResult && e.Summary != nil && e.Summary.ExitCode != 0:
		return LevelError
	case e.Kind == KindWarning:
		return LevelWarning
	}
	return LevelInfo
}

// Event is one thing the engine reports.
type Event struct {
	Time    time.Time `json:"time"`
	Elapsed float64   `json:"elapsed"` // seconds since the run started
	Phase   string    `json:"phase"`
	Kind    string    `json:"kind"`
	// Level is error for a failure (a failed check, a failed task, a result that is not
	// success), warning for a warning, info for the rest.
	Level      string `json:"level"`
	Service    string `json:"service,omitempty"`
	Deployment string `json:"deployment,omitempty"`
	// TaskDefinition is the revision a taskdef or deployment event names (its ARN).
	TaskDefinition string `json:"taskDefinition,omitempty"`
	// Task is the pre-deploy task's id (task and tasklog events).
	Task         string          `json:"task,omitempty"`
	Distribution string          `json:"distribution,omitempty"`
	Invalidation string          `json:"invalidation,omitempty"`
	Paths        []string        `json:"paths,omitempty"` // what an invalidation event's invalidation covers
	Counts       *verdict.Counts `json:"counts,omitempty"`
	OK           *bool           `json:"ok,omitempty"` // checks
	Message      string          `json:"message"`
	Summary      *Summary        `json:"summary,omitempty"`
}

// Summary is the final account of a run.
type Summary struct {
	Result   string             `json:"result"` // succeeded, failed, timed out, interrupted, configuration error
	ExitCode int                `json:"exitCode"`
	Seconds  float64            `json:"seconds"`
	Phases   map[string]float64 `json:"phases"` // seconds per phase
	Digest   string             `json:"digest,omitempty"`
	// TaskDefinitions is the revision each service was deployed with, when the release chose
	// one (IMAGE or TASK_DEFINITION).
	TaskDefinitions map[string]string `json:"taskDefinitions,omitempty"`
	// PredeployTask is the pre-deploy task's id, when the release ran one.
	PredeployTask string            `json:"predeployTask,omitempty"`
	Deployments   map[string]string `json:"deployments,omitempty"`
	Invalidations map[string]string `json:"invalidations,omitempty"`
	// InvalidationDecisions says, per distribution, what the release chose to invalidate and why
	// (none: no invalidation was needed).
	InvalidationDecisions map[string]InvalidationDecision `json:"invalidationDecisions,omitempty"`
	// Paused is, with WAIT_UNTIL=paused, per service the PAUSE hook its deployment waits at.
	Paused map[string]PausedHook `json:"paused,omitempty"`
	// VerifiedVersion is the version the edge served at the first VERIFY_URL, once every URL
	// was verified (empty without VERIFY_URL, or for a status-only check of a body with no version).
	VerifiedVersion string `json:"verifiedVersion,omitempty"`
	Error           string `json:"error,omitempty"`
	// Identity is whom the release acted as; AssumedBy, with ROLE_ARN, the caller that assumed
	// the role.
	Identity  string `json:"identity,omitempty"`
	AssumedBy string `json:"assumedBy,omitempty"`
	// ServiceDeployments are the ECS service deployments the release started (their ARNs).
	ServiceDeployments map[string]string `json:"serviceDeployments,omitempty"`
	// PredeployResult is the pre-deploy task's verdict: "container migrate exited 0", or what
	// failed.
	PredeployResult string `json:"predeployResult,omitempty"`
	// Links are the console pages of what the release made (links.go).
	Links []Link `json:"links,omitempty"`

	// The rest makes the Summary the whole account of the release (Notes.Record): the release
	// record is rendered from it alone.
	Started       time.Time        `json:"started"`
	Release       string           `json:"release,omitempty"` // the CallerReference
	Account       string           `json:"account,omitempty"`
	Region        string           `json:"region,omitempty"`
	RoleARN       string           `json:"roleArn,omitempty"`
	Cluster       string           `json:"cluster,omitempty"`
	Image         string           `json:"image,omitempty"`
	Services      []ServiceRecord  `json:"services,omitempty"`
	Predeploy     *PredeployRecord `json:"predeploy,omitempty"`
	Distributions []string         `json:"distributions,omitempty"` // the ones the release invalidates on
	Edge          []EdgeRecord     `json:"edge,omitempty"`
	Spans         []Span           `json:"spans,omitempty"` // the phases as they ran
}

// PausedHook is a deployment left at a PAUSE hook (WAIT_UNTIL=paused).
type PausedHook struct {
	Stage             string `json:"stage"`
	Hook              string `json:"hookId"`
	ServiceDeployment string `json:"serviceDeployment"`
}

// Reporter receives the engine's events; it owns the output.
type Reporter interface {
	Report(Event)
}

// NewReporter writes events to w as text for CI logs, as JSON lines with format "json", or for
// GitHub Actions with format "github" (github.go).
func NewReporter(w io.Writer, format string) Reporter {
	if format == "github" {
		return &githubWriter{w: w}
	}
	return &writer{w: w, json: format == "json"}
}

type writer struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
}

// Report writes e as one line of text or one JSON object.
func (r *writer) Report(e Event) {
	if e.Level == "" {
		e.Level = levelOf(e)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.json {
		b, err := json.Marshal(e)
		if err == nil {
			r.w.Write(append(b, '\n')) //nolint:errcheck // nowhere to report a broken log
		}
		return
	}
	io.WriteString(r.w, FormatText(e)) //nolint:errcheck
}

// FormatText renders one event as the text lines a person reads in a CodeBuild log.
func FormatText(e Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%6.1fs] %-10s ", e.Elapsed, e.Phase)
	if cmp.Or(e.Level, levelOf(e)) == LevelError && e.Kind != KindCheck { // a check says [FAIL]
		b.WriteString("ERROR ")
	}
	subject := e.Service
	if subject == "" {
		subject = e.Distribution
	}
	if subject != "" {
		fmt.Fprintf(&b, "%s: ", subject)
	}
	switch e.Kind {
	case KindCheck:
		mark := "ok  "
		if e.OK != nil && !*e.OK {
			mark = "FAIL"
		} else if e.OK == nil {
			mark = "skip"
		}
		fmt.Fprintf(&b, "[%s] %s", mark, e.Message)
	case KindServiceEvent:
		fmt.Fprintf(&b, "ecs event: %s", e.Message)
	case KindTaskLog:
		fmt.Fprintf(&b, "task %s | %s", e.Task[:min(8, len(e.Task))], e.Message)
	case KindWarning:
		fmt.Fprintf(&b, "warning: %s", e.Message)
	case KindResult:
		b.WriteString(e.Message)
		if s := e.Summary; s != nil {
			b.WriteString("\n")
			b.WriteString(formatSummary(s))
		}
	default:
		b.WriteString(e.Message)
	}
	b.WriteString("\n")
	return b.String()
}

func formatSummary(s *Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "summary: %s in %.1fs (exit %d)", s.Result, s.Seconds, s.ExitCode)
	var phases []string
	for _, p := range state.PhaseOrder {
		if v, ok := s.Phases[p]; ok {
			phases = append(phases, fmt.Sprintf("%s %.1fs", p, v))
		}
	}
	if len(phases) > 0 {
		fmt.Fprintf(&b, "\n  phases:        %s", strings.Join(phases, ", "))
	}
	if s.Digest != "" {
		fmt.Fprintf(&b, "\n  image digest:  %s", s.Digest)
	}
	for _, k := range slices.Sorted(maps.Keys(s.TaskDefinitions)) {
		fmt.Fprintf(&b, "\n  task def:      %s %s", k, s.TaskDefinitions[k])
	}
	if s.PredeployTask != "" {
		fmt.Fprintf(&b, "\n  pre-deploy:    task %s exited 0", s.PredeployTask)
	}
	for _, k := range slices.Sorted(maps.Keys(s.Deployments)) {
		fmt.Fprintf(&b, "\n  deployment:    %s %s", k, s.Deployments[k])
	}
	for _, k := range slices.Sorted(maps.Keys(s.InvalidationDecisions)) {
		d := s.InvalidationDecisions[k]
		if id := s.Invalidations[k]; id != "" {
			fmt.Fprintf(&b, "\n  invalidation:  %s %s of %s (%s)", k, id, strings.Join(d.Paths, " "), d.Mode)
		} else if len(d.Paths) == 0 {
			fmt.Fprintf(&b, "\n  invalidation:  %s none (%s): %s", k, d.Mode, d.Reason)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(s.Invalidations)) {
		if _, said := s.InvalidationDecisions[k]; !said {
			fmt.Fprintf(&b, "\n  invalidation:  %s %s", k, s.Invalidations[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(s.Paused)) {
		p := s.Paused[k]
		fmt.Fprintf(&b, "\n  paused:        %s at %s, PAUSE hook %s of %s", k, p.Stage, p.Hook, p.ServiceDeployment)
	}
	if s.VerifiedVersion != "" {
		fmt.Fprintf(&b, "\n  edge serves:   %s", s.VerifiedVersion)
	}
	for _, l := range s.Links {
		fmt.Fprintf(&b, "\n  console:       %s %s %s", l.Subject, l.What(), l.URL)
	}
	return b.String()
}

// InvalidationDecision is a CacheDecision as the summary and the JSON output show it.
type InvalidationDecision struct {
	Mode   string   `json:"mode"`
	Paths  []string `json:"paths"`
	Reason string   `json:"reason"`
}
