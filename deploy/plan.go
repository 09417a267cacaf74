package deploy

// The Plan: what a release does, in order. Its steps come from the settings; per service it says
// which controller deploys it, what is sent and what is followed; per distribution what is
// invalidated; and what the edge must serve. Run executes its steps; the dry run renders it, with
// what the preflight read. A new capability is a new step here (and a function in steps), not a
// branch in the engine.

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/deploystep/deploystep/deploy/cdn"
	"github.com/deploystep/deploystep/deploy/edge"
	"github.com/deploystep/deploystep/deploy/settings"
	"github.com/deploystep/deploystep/deploy/state"
)

// stepWeight is each step's share of a release's progress (CodePipeline's percent complete):
// mostly the rollout, then the invalidation's wait and the edge.
var stepWeight = map[string]int{state.PhasePreflight: 2, state.PhaseImage: 3, state.PhaseRegister: 3, state.PhasePredeploy: 10, state.PhaseDeploy: 5, state.PhaseFollow: 52, state.PhaseInvalidate: 5, state.PhaseWait: 20, state.PhaseVerify: 10}

// Plan is what a release does.
type Plan struct {
	Steps    []string
	Image    string // IMAGE, and its digest once read ("" without IMAGE)
	Services []ServicePlan
	// Revisions says, per base, the task-definition revision the release registers (or deploys
	// as it is), and for which services; the dry run fills it.
	Revisions []string
	// Predeploy is the pre-deploy task in words ("" without PREDEPLOY_COMMAND); the dry run
	// fills it.
	Predeploy     string
	Invalidations []InvalidationPlan
	Verify        []string // the URLs, redacted
	VerifyWant    string
	VerifyTimeout time.Duration
	Limit         time.Duration
	Poll          time.Duration
}

// ServicePlan is one service's part: its controller, what starts its deployment, what it is
// followed to.
type ServicePlan struct {
	Name, Controller, Send, Follow string
}

// InvalidationPlan is one distribution's invalidation.
type InvalidationPlan struct {
	Distribution, CallerReference string
	Paths                         []string
	// Mode and Reason say how the paths were chosen (cache.go).
	Mode, Reason string
}

// Plan builds the release's plan; controllers are the services' deployment controllers as the
// preflight read them, or as the state recorded them ("" where unknown).
func (e *Engine) Plan(st *state.State, controllers map[string]string) Plan {
	s := e.Settings
	p := Plan{Limit: cmp.Or(e.Limit, s.Timeout), Poll: s.Poll, VerifyTimeout: s.VerifyTimeout, Steps: []string{state.PhasePreflight}}
	if s.Image != "" {
		p.Steps, p.Image = append(p.Steps, state.PhaseImage), s.Image
		if st.Digest != "" {
			p.Image += " = " + st.Digest
		}
	}
	if s.Registers() {
		p.Steps = append(p.Steps, state.PhaseRegister)
	}
	if s.PredeployCommand != "" {
		p.Steps = append(p.Steps, state.PhasePredeploy)
	}
	p.Steps = append(p.Steps, state.PhaseDeploy, state.PhaseFollow)
	for _, name := range s.Services {
		kind := controllers[name]
		if kind == "" {
			kind = st.Services[name].Controller
		}
		sp := ServicePlan{Name: name, Controller: kind}
		if c, ok := controllerFor(kind); ok {
			sp.Send, sp.Follow = c.Plan(e.Host, name)
		}
		p.Services = append(p.Services, sp)
	}
	if !s.SkipInvalidation {
		p.Steps = append(p.Steps, state.PhaseInvalidate, state.PhaseWait)
		for _, d := range s.Distributions {
			dec := cdn.DecisionFor(e.Host, st, d)
			if _, decided := st.Decisions[d]; !decided && s.InvalidationMode() != settings.ModePaths {
				dec = state.CacheDecision{Mode: s.InvalidationMode(), Reason: "decided in the preflight"}
				if dec.Mode == settings.ModeTags {
					dec.Paths = s.TagItems()
				}
			}
			p.Invalidations = append(p.Invalidations, InvalidationPlan{Distribution: d, Paths: dec.Paths, Mode: dec.Mode, Reason: dec.Reason, CallerReference: st.Run.CallerRef})
		}
	}
	if len(s.VerifyURLs) > 0 {
		p.Steps = append(p.Steps, state.PhaseVerify)
		for _, u := range s.VerifyURLs {
			p.Verify = append(p.Verify, edge.Redact(u))
		}
		p.VerifyWant = cdn.Want(e.Host)
	}
	return p
}

// controllerFor is the controller of a kind; "" (not read yet) is reported as not checked.
func controllerFor(kind string) (controller, bool) {
	c, ok := controllers[kind]
	return c, ok
}

// next is the step after phase (PhaseDone after the last).
func (p Plan) next(phase string) string {
	for i, s := range p.Steps {
		if s == phase && i+1 < len(p.Steps) {
			return p.Steps[i+1]
		}
	}
	return state.PhaseDone
}

// Percent is how far a release in phase has come: the weight of the steps before it.
func (p Plan) Percent(phase string) int32 {
	if phase == state.PhaseDone {
		return 100
	}
	total, before := 0, 0
	seen := false
	for _, s := range p.Steps {
		seen = seen || s == phase
		if !seen {
			before += stepWeight[s]
		}
		total += stepWeight[s]
	}
	return int32(100 * before / total)
}

// Render says what a real run would do, in order: a numbered line per step kind (image, task
// definition, pre-deploy task, deploy, follow, invalidation, verify), a line per service, revision or
// distribution.
func (p Plan) Render() string {
	var b strings.Builder
	b.WriteString("plan (dry run, nothing was changed):")
	// Each kind of line is numbered in the order the run takes them; a kind the run does not
	// have takes no number.
	n, last := 0, ""
	line := func(name, format string, args ...any) {
		if name != last {
			n, last = n+1, name
		}
		fmt.Fprintf(&b, "\n  %d. %-17s%s", n, name+":", fmt.Sprintf(format, args...))
	}
	if p.Image != "" {
		line("image", "%s", p.Image)
	} else {
		line("image", "not checked (IMAGE not set)")
	}
	if len(p.Revisions) == 0 {
		line("task definition", "each service's own, redeployed (IMAGE and TASK_DEFINITION not set)")
	}
	for _, r := range p.Revisions {
		line("task definition", "%s", r)
	}
	if p.Predeploy != "" {
		line("pre-deploy task", "%s", p.Predeploy)
	}
	for _, s := range p.Services {
		if s.Controller == "" {
			line("deploy", "%s: not planned (its deployment controller was not read)", s.Name)
			continue
		}
		line("deploy", "%s: %s (deployment controller: %s)", s.Name, s.Send, s.Controller)
	}
	for _, s := range p.Services {
		if s.Controller != "" {
			line("follow", "%s: %s; poll every %v", s.Name, s.Follow, p.Poll)
		}
	}
	if len(p.Invalidations) == 0 {
		line("invalidation", "skipped (-skip-invalidation)")
	}
	for _, inv := range p.Invalidations {
		switch {
		case inv.Mode == settings.ModeAuto && inv.Reason == "decided in the preflight":
			line("invalidation", "auto on %s: the paths the distribution's cache behaviours can hold of the services, decided in the preflight; CallerReference %s, then wait until Completed", inv.Distribution, inv.CallerReference)
		case len(inv.Paths) == 0:
			line("invalidation", "none on %s (%s): %s", inv.Distribution, inv.Mode, inv.Reason)
		default:
			line("invalidation", "%s on %s (%s), CallerReference %s, then wait until Completed", strings.Join(inv.Paths, " "), inv.Distribution, inv.Mode, inv.CallerReference)
		}
	}
	if len(p.Verify) > 0 {
		line("verify", "GET %s until %s, at most %v", strings.Join(p.Verify, ", "), p.VerifyWant, p.VerifyTimeout)
	}
	fmt.Fprintf(&b, "\n  time limit:         %v", p.Limit)
	return b.String()
}
