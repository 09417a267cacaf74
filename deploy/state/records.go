package state

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/deploystep/deploystep/deploy/verdict"
)

// CacheDecision is what a release invalidates on one distribution, and why. No Paths: no
// invalidation.
type CacheDecision struct {
	Mode   string   `json:"m"`
	Paths  []string `json:"p,omitempty"`
	Reason string   `json:"w,omitempty"`
}

// MaxDecisionChars bounds the paths a decision keeps (the continuation token carries them).
const MaxDecisionChars = 600

// Say is a decision in a sentence.
func (c CacheDecision) Say() string {
	if len(c.Paths) == 0 {
		return fmt.Sprintf("no invalidation (%s): %s", c.Mode, c.Reason)
	}
	return fmt.Sprintf("invalidating %s (%s): %s", strings.Join(c.Paths, " "), c.Mode, c.Reason)
}

// Controller kinds, as ECS names a service's deployment controller.
const (
	ControllerECS        = "ECS"
	ControllerCodeDeploy = "CODE_DEPLOY"
)

// Evidence is the digests a service's record holds, as a verdict takes them (nil: not read).
func (svc *ServiceState) Evidence() verdict.Evidence {
	if svc.DigestReads == 0 {
		return verdict.Evidence{}
	}
	return verdict.Evidence{Digests: append([]string{}, svc.Digests...), DigestReads: svc.DigestReads}
}

// TaskDefinitions are the revisions the release deploys, by service.
func (st *State) TaskDefinitions() map[string]string {
	out := map[string]string{}
	for name, svc := range st.Services {
		if svc.TaskDef != "" {
			out[name] = svc.TaskDef
		}
	}
	return out
}

// Deployments are the deployments followed, by service.
func (st *State) Deployments() map[string]string {
	out := map[string]string{}
	for name, svc := range st.Services {
		if svc.Deployment != "" {
			out[name] = svc.Deployment
		}
	}
	return out
}

// Phases of a run: the steps a plan can take, in their order.
const (
	PhasePreflight  = "preflight"
	PhaseImage      = "image"
	PhaseRegister   = "register"
	PhasePredeploy  = "predeploy"
	PhaseDeploy     = "deploy"
	PhaseFollow     = "follow"
	PhaseInvalidate = "invalidate"
	PhaseWait       = "wait"
	PhaseVerify     = "verify"
	PhaseDone       = "done"
)

// PhaseOrder is the order the plan's steps run in.
var PhaseOrder = []string{PhasePreflight, PhaseImage, PhaseRegister, PhasePredeploy, PhaseDeploy, PhaseFollow, PhaseInvalidate, PhaseWait, PhaseVerify}

// PredeployState is the pre-deploy task's record in the release's state.
type PredeployState struct {
	// Task is the task's id (the ARN's last part: DescribeTasks takes it with the cluster).
	Task string `json:"t,omitempty"`
	// Sent is when a RunTask whose outcome is unknown was sent (Engine.sendOnce).
	Sent time.Time `json:"u,omitempty"`
	// Began is when the task was started: PREDEPLOY_TIMEOUT counts from it across invocations.
	Began time.Time `json:"b,omitempty"`
	// LogToken is GetLogEvents' nextForwardToken after the lines read; Lines counts them, Bytes
	// counts the bytes printed, and Cut says the bounds were reached: the rest is not printed.
	LogToken string `json:"l,omitempty"`
	Lines    int    `json:"n,omitempty"`
	Bytes    int    `json:"nb,omitempty"`
	Cut      bool   `json:"cut,omitempty"`
	// Stopped says StopTask was sent (once); Passed that the gate passed.
	Stopped bool `json:"x,omitempty"`
	Passed  bool `json:"ok,omitempty"`
}

// MaxLogLines bounds the lines a pre-deploy task prints, in all.
const MaxLogLines = 1000

// PredeployHandles and clientToken of the release's pre-deploy task: from its CallerReference, which
// the identity derives once (a one-off run's is its own).
func (st *State) PredeployHandles() (startedBy, clientToken string) {
	sum := sha256.Sum256([]byte(st.Run.CallerRef + "\x00predeploy"))
	h := hex.EncodeToString(sum[:])
	return "deploystep/" + h[:24], "deploystep-" + h[:40]
}

// PinTries is how many failed ListServiceDeployments calls end the attempt to pin.
const PinTries = 3

// TaskDefState is one base's revision: the one registered (or adopted), and the send-once
// bookkeeping of its RegisterTaskDefinition.
type TaskDefState struct {
	ARN  string    `json:"a,omitempty"`
	Sent time.Time `json:"u,omitempty"`
}

// Mark is the value of the release's tag on the revision it registers from base.
func (st *State) Mark(base string) string {
	sum := sha256.Sum256([]byte(base))
	return st.Run.Marker + " " + hex.EncodeToString(sum[:4])
}

// Caller is who the run acts as, and where.
type Caller struct {
	ARN     string `json:"a,omitempty"`
	Account string `json:"n,omitempty"`
	Region  string `json:"r,omitempty"`
	// Via is, with ROLE_ARN, the caller that assumed the role (ARN is the role session); said by
	// the invocation that asked, not carried in a continuation token.
	Via string `json:"-"`
}

// Where names the region and account a message's resource was looked for in.
func (c Caller) Where() string {
	switch {
	case c.Account != "":
		return fmt.Sprintf("in %s, account %s", c.Region, c.Account)
	case c.Region != "":
		return "in " + c.Region
	}
	return ""
}
