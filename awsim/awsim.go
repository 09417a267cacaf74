// Package awsim is a local AWS simulator for ECS, ECR, CloudFront, CodePipeline and CodeDeploy
// that speaks the real wire protocols, so the unmodified aws-sdk-go-v2 clients and the AWS CLI
// work against it through an endpoint override (AWS_ENDPOINT_URL or --endpoint-url).
//
// Data flows like this: a Config describes the world (clusters and their services with a rollout
// Scenario each, ECR repositories, CloudFront distributions, faults). Start binds 127.0.0.1 and
// serves one HTTP endpoint: POST / with X-Amz-Target routes to the awsJson1.1 services (ECS, ECR,
// CodePipeline, CodeDeploy), /2020-05-31/ to CloudFront's REST-XML. Every request first passes
// fault injection (seeded, per operation), then AWS's documented input contract (package contract, a leaf), then the handler
// advances the affected service's timeline to the current time, applies the call and answers.
// Everything is recorded: Calls() is the log of requests, Effects() counts what changed the world
// (deployments, invalidations, CodeDeploy deployments, final job results), which is what tests
// assert on. /_awsim/calls and /_awsim/effects serve the same as JSON.
//
// Rollouts are driven by time since UpdateService, so scenario durations are plain
// time.Durations that tests scale down to seconds. Each rollout is also a service deployment
// (ecs_deployments.go): ROLLING, or BLUE_GREEN, LINEAR and CANARY with lifecycle stages, traffic
// weights, bake time, PAUSE hooks and rollbacks, consistent with DescribeServices deployments[].
// A service on the CODE_DEPLOY controller is deployed through CodeDeploy instead (codedeploy.go):
// blue/green deployments with lifecycle events over time, task sets and rollback. Each
// distribution also has an edge (edge.go): a second 127.0.0.1 listener that caches answers per
// path in front of the service's version, until an invalidation covering the path completes.
// Driver plays CodePipeline toward a Lambda invoke URL (aws-lambda-rie): it invokes with a job
// event and again with each continuation token until the function reports a final result.
//
// Each service's state is a world of its own, its methods in its own files: ecsWorld in ecs*.go
// (the operations, wire types, clusters and services over time, service deployments, rollout
// scenarios, task definitions, standalone tasks, and what the other services read of it,
// ecs_network.go), ecrWorld in ecr.go, cfWorld in cloudfront*.go (each distribution's edge in edge.go), cdWorld in
// codedeploy.go, cpWorld in codepipeline.go, logsWorld in logs.go, and regionWorld (another
// account's or region's) in identity.go. IAM's evaluation is iam.go and iam_actions.go. They
// share one clock and one lock, the Server's. The demo world (the lab's stack and its scenarios
// by name) is package demo, above this one.
package awsim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/deploystep/deploystep/awsim/contract"
)

// Config describes the simulated world. The zero value is an empty world in us-east-1.
type Config struct {
	Region        string             `json:"region,omitempty"`
	Account       string             `json:"account,omitempty"`
	Seed          int64              `json:"seed,omitempty"`
	Clusters      []ClusterSpec      `json:"clusters,omitempty"`
	Repositories  []RepositorySpec   `json:"repositories,omitempty"`
	Distributions []DistributionSpec `json:"distributions,omitempty"`
	// Faults maps "Service.Operation" (for example "ECS.DescribeServices"), "Service.*" or "*"
	// to the faults injected there; the most specific key wins.
	Faults map[string]Fault `json:"faults,omitempty"`
	// Identities are more credentials the world knows (identity.go); the placeholder
	// AccessKeyID is always the world account's.
	Identities []IdentitySpec `json:"identities,omitempty"`
	// Policies are the placeholder identity's identity-based policies (iam.go); none: it may do
	// everything.
	Policies []json.RawMessage `json:"policies,omitempty"`
	// Roles are the IAM roles STS lets callers assume (sts.go).
	Roles []RoleSpec `json:"roles,omitempty"`
	// RunTasks is how standalone tasks (RunTask: a pre-deploy migration) behave (ecs_runtask.go).
	RunTasks RunTaskSpec `json:"runTasks,omitempty"`
	// CachePolicies are the account's custom CloudFront cache policies (the managed ones are
	// always there).
	CachePolicies []CachePolicySpec `json:"cachePolicies,omitempty"`
}

// ClusterSpec is one ECS cluster and its services.
type ClusterSpec struct {
	Name     string        `json:"name"`
	Services []ServiceSpec `json:"services"`
}

// ServiceSpec is one ECS service and how its next rollouts behave.
type ServiceSpec struct {
	Name         string `json:"name"`
	DesiredCount int    `json:"desiredCount,omitempty"` // default 2
	// StartEmpty creates the service with desired count 0 and no tasks, as a stack's first create
	// does before any image is pushed; a release's UpdateService desiredCount brings it up.
	StartEmpty bool `json:"startEmpty,omitempty"`
	// Image is "repository:tag" of an image in Repositories; new tasks report its digest.
	Image string `json:"image,omitempty"`
	// NoLoadBalancer: the service has no load balancer (loadBalancers is empty), so no
	// CloudFront origin can be told to be its (elb.go).
	NoLoadBalancer bool `json:"noLoadBalancer,omitempty"`
	// CacheTags maps a path prefix to the cache tags the service's answers under it carry, in the
	// distribution's CacheTagConfig header (edge.go), like {"/api/photos": "photos"}.
	CacheTags map[string]string `json:"cacheTags,omitempty"`
	// CircuitBreaker enables the deployment circuit breaker with rollback. Breaker, when set,
	// enables it with its threshold configuration, and then awsim's breaker trips as documented
	// (ecs_deployments.go) in every scenario whose new tasks fail.
	CircuitBreaker bool         `json:"circuitBreaker,omitempty"`
	Breaker        *BreakerSpec `json:"breaker,omitempty"`
	// EarlySuccess is a ROLLING service's early success criteria; MinimumHealthyPercent its
	// deploymentConfiguration's (default 100), which healthyPercent must not be under.
	EarlySuccess          *EarlySuccessSpec `json:"earlySuccess,omitempty"`
	MinimumHealthyPercent int               `json:"minimumHealthyPercent,omitempty"`
	// Controller is the deployment controller type: ECS (default), CODE_DEPLOY or EXTERNAL.
	Controller string `json:"controller,omitempty"`
	// Status is the service status: ACTIVE (default), DRAINING or INACTIVE.
	Status string `json:"status,omitempty"`
	// NoDigest makes tasks report no imageDigest, as tasks on older EC2 container agents do.
	NoDigest bool `json:"noDigest,omitempty"`
	// Strategy is deploymentConfiguration.strategy: ROLLING (default), BLUE_GREEN, LINEAR or
	// CANARY. The traffic scenarios set it.
	Strategy string `json:"strategy,omitempty"`
	// BakeTime is bakeTimeInMinutes, scaled like Rollout: both revisions run this long after
	// the production traffic shift. Default Rollout/2.
	BakeTime Duration `json:"bakeTime,omitempty"`
	// StepPercent is LINEAR's stepPercent (default 25) or CANARY's canaryPercent (default 10).
	StepPercent float64 `json:"stepPercent,omitempty"`
	// PauseAt is a lifecycle stage with a PAUSE hook, like POST_TEST_TRAFFIC_SHIFT.
	PauseAt string `json:"pauseAt,omitempty"`
	// LambdaHook is an AWS_LAMBDA lifecycle hook (ecs_deployments.go).
	LambdaHook *LambdaHookSpec `json:"lambdaHook,omitempty"`
	// Alarms names the deployment's CloudWatch alarms (with rollback).
	Alarms []string `json:"alarms,omitempty"`
	// OriginStatus is the HTTP status the service's new revision answers through a
	// distribution's edge (default: 200 with its version); origin-502 sets 502.
	OriginStatus int `json:"originStatus,omitempty"`
	// Task names the parts of its first revision that are not the lab's defaults (ecs_taskdefs.go).
	Task *TaskSpec `json:"task,omitempty"`
	// CodeDeploy puts the service on the CODE_DEPLOY controller, in a CodeDeploy application and
	// deployment group (codedeploy.go).
	CodeDeploy *CodeDeploySpec `json:"codeDeploy,omitempty"`
	Scenario   Scenario        `json:"scenario"`
}

// BreakerSpec is a circuit breaker's thresholdConfiguration and resetOnHealthyTask (nil: true).
type BreakerSpec struct {
	Type               string `json:"type,omitempty"` // COUNT, BOUNDED_PERCENT (default), UNBOUNDED_PERCENT
	Value              int    `json:"value,omitempty"`
	ResetOnHealthyTask *bool  `json:"resetOnHealthyTask,omitempty"`
}

// LambdaHookSpec is an AWS_LAMBDA lifecycle hook: at Stage ECS invokes Function, which answers
// IN_PROGRESS for Runtime (ECS invokes it again meanwhile), then Result, SUCCEEDED or FAILED.
type LambdaHookSpec struct {
	Stage    string   `json:"stage,omitempty"` // default POST_TEST_TRAFFIC_SHIFT
	Function string   `json:"function"`
	Result   string   `json:"result,omitempty"`  // default SUCCEEDED
	Runtime  Duration `json:"runtime,omitempty"` // default Rollout/4
}

// EarlySuccessSpec is a deployment's early success criteria.
type EarlySuccessSpec struct {
	HealthyPercent int    `json:"healthyPercent"`
	Cleanup        string `json:"sourceServiceRevisionCleanup"` // DEFERRED or BLOCKING
}

// Scenario kinds.
const (
	Success     = "success"     // new tasks start, old tasks drain, one deployment left
	Rollback    = "rollback"    // circuit breaker marks ours FAILED and rolls back to the previous one
	CrashLoop   = "crashloop"   // new tasks keep stopping with CannotPullContainerError; never completes
	NeverFinish = "never"       // new tasks stay PENDING forever
	WrongDigest = "wrongdigest" // like success, but new tasks run another digest than the tag's
	Foreign     = "foreign"     // someone else's deployment replaces ours mid-way and completes
	Flaky       = "flaky"       // FailCount new tasks fail while it starts, then it completes
	// The ECS deployment strategies that shift traffic (ecs_deployments.go): green scales up,
	// takes test then production traffic, bakes beside blue, and blue is cleaned up.
	BlueGreen     = "bluegreen"      // BLUE_GREEN, all production traffic at once
	Linear        = "linear"         // LINEAR, production traffic in equal steps
	Canary        = "canary"         // CANARY, a canary share, then the rest
	Paused        = "paused"         // BLUE_GREEN with a PAUSE hook at POST_TEST_TRAFFIC_SHIFT
	AlarmRollback = "alarm-rollback" // BLUE_GREEN whose deployment alarm fires during bake time
)

// Scenario is the timeline of every rollout that UpdateService starts on a service.
type Scenario struct {
	Kind string `json:"kind,omitempty"` // default Success
	// Rollout is the time from UpdateService until the rollout completes (Success,
	// WrongDigest); new tasks are RUNNING at half of it. Default 2s.
	Rollout Duration `json:"rollout,omitempty"`
	// TaskFailEvery is how often a new task stops (Rollback, CrashLoop). Default Rollout/4.
	TaskFailEvery Duration `json:"taskFailEvery,omitempty"`
	// FailAfter is when the circuit breaker trips (Rollback). Default Rollout.
	FailAfter Duration `json:"failAfter,omitempty"`
	// FailCount is how many new tasks fail before the rollout goes on (Flaky). Default 6.
	FailCount int `json:"failCount,omitempty"`
	// ReplaceAfter is when the foreign deployment takes over (Foreign). Default Rollout/2.
	ReplaceAfter Duration `json:"replaceAfter,omitempty"`
}

// RepositorySpec is one ECR repository.
type RepositorySpec struct {
	Name   string      `json:"name"`
	Images []ImageSpec `json:"images"`
}

// ImageSpec is one image in a repository. An empty Digest is derived from the tags.
type ImageSpec struct {
	Tags   []string `json:"tags"`
	Digest string   `json:"digest,omitempty"`
}

// DistributionSpec is one CloudFront distribution.
type DistributionSpec struct {
	ID string `json:"id"`
	// InvalidationTime is how long an invalidation stays InProgress. Default 1s.
	InvalidationTime Duration `json:"invalidationTime,omitempty"`
	// The edge (edge.go): CacheTTL is how long a 2xx/3xx answer stays cached per path (0: not
	// cached, like the Managed-CachingDisabled policy); ErrorTTL the same for 4xx/5xx (default
	// 10s, CloudFront's); Origin the "cluster/service" behind it (default the first service);
	// Warm the paths in the cache when the world starts (the previous release's answers).
	CacheTTL Duration `json:"cacheTTL,omitempty"`
	ErrorTTL Duration `json:"errorTTL,omitempty"`
	Origin   string   `json:"origin,omitempty"`
	Warm     []string `json:"warm,omitempty"`
	// Origins and Behaviors are the distribution's configuration (cloudfront_config.go), the
	// first behaviour its default; without them, the one origin and behaviour above.
	// CacheTagHeader is CacheTagConfig.HeaderName ("": no CacheTagConfig).
	Origins        []OriginSpec   `json:"origins,omitempty"`
	Behaviors      []BehaviorSpec `json:"behaviors,omitempty"`
	CacheTagHeader string         `json:"cacheTagHeader,omitempty"`
}

// Fault is what is injected into matching requests; rates are probabilities in [0, 1].
type Fault struct {
	Throttle    float64 `json:"throttle,omitempty"`    // ThrottlingException / Throttling, HTTP 400
	ServerError float64 `json:"serverError,omitempty"` // HTTP 500 or 503
	Reset       float64 `json:"reset,omitempty"`       // connection closed before the call is applied
	ResetAfter  float64 `json:"resetAfter,omitempty"`  // connection closed after the call is applied
	Latency     float64 `json:"latency,omitempty"`     // rate of added latency
	Deny        float64 `json:"deny,omitempty"`        // AccessDeniedException / AccessDenied, HTTP 400 (403 for CloudFront)
	// Unsupported answers UnsupportedFeatureException ("The specified task isn't supported in
	// this Region.", ECS's error for an API a Region lacks); Unknown answers
	// UnknownOperationException (an endpoint that does not have the operation), both HTTP 400.
	Unsupported float64  `json:"unsupported,omitempty"`
	Unknown     float64  `json:"unknown,omitempty"`
	Delay       Duration `json:"delay,omitempty"` // the added latency, default 2s
	// SkipFirst lets the first n calls of each matching operation through untouched: faults
	// that begin mid-run, after the calls that set it up.
	SkipFirst int `json:"skipFirst,omitempty"`
	// OnlyFirst, when above 0, faults only the first n calls after SkipFirst: a lost answer that
	// happens once.
	OnlyFirst int `json:"onlyFirst,omitempty"`
}

// Duration is a time.Duration that reads and writes JSON as "1.5s".
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var secs float64
		if err2 := json.Unmarshal(b, &secs); err2 != nil {
			return fmt.Errorf("duration: want a string like \"1.5s\" or seconds: %s", b)
		}
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Call is one request as the simulator saw it.
type Call struct {
	Time    time.Time         `json:"time"`
	Service string            `json:"service"` // ECS, ECR, CloudFront, CodePipeline
	Op      string            `json:"op"`
	Params  map[string]string `json:"params,omitempty"`
	Status  int               `json:"status"`
	Error   string            `json:"error,omitempty"` // error code, or the fault injected
	Delay   time.Duration     `json:"delay,omitempty"` // latency injected before answering
	// Caller is the ARN of the identity that signed the call (identity.go).
	Caller string `json:"caller,omitempty"`
	// AllowedBy names the policy statements (Sid) that allowed the call, for a caller with
	// policies (iam.go); DeniedAction and DeniedResource what IAM refused.
	AllowedBy      []string `json:"allowedBy,omitempty"`
	DeniedAction   string   `json:"deniedAction,omitempty"`
	DeniedResource string   `json:"deniedResource,omitempty"`
}

// Effects counts what changed the simulated world.
type Effects struct {
	// Deployments counts deployments created by UpdateService, by "cluster/service".
	Deployments map[string]int `json:"deployments"`
	// Invalidations counts invalidations created, by distribution id.
	Invalidations map[string]int `json:"invalidations"`
	// JobResults counts final results (success without token, or failure), by job id.
	JobResults map[string]int `json:"jobResults"`
	// Continuations counts success results carrying a continuation token, by job id.
	Continuations map[string]int `json:"continuations"`
	// Stops counts StopServiceDeployment calls that started a rollback, by "cluster/service".
	Stops map[string]int `json:"stops"`
	// Continues counts ContinueServiceDeployment calls, by "cluster/service action".
	Continues map[string]int `json:"continues"`
	// Registrations counts task-definition revisions registered, by family.
	Registrations map[string]int `json:"registrations"`
	// RunTasks counts standalone tasks RunTask started, by family; TaskStops the StopTask calls
	// that stopped one, by task id.
	RunTasks  map[string]int `json:"runTasks"`
	TaskStops map[string]int `json:"taskStops"`
	// CodeDeployments counts CodeDeploy deployments created, by "application/group";
	// CodeDeployStops the StopDeployment calls that stopped one.
	CodeDeployments map[string]int `json:"codeDeployments"`
	CodeDeployStops map[string]int `json:"codeDeployStops"`
	// AssumeRoles counts the role sessions STS handed out, by role ARN.
	AssumeRoles map[string]int `json:"assumeRoles"`
}

// Server is a running simulator.
type Server struct {
	cfg  Config
	ln   net.Listener
	http *http.Server
	url  string

	mu      sync.Mutex
	rng     *rand.Rand
	calls   []Call
	effects Effects
	ecs     *ecsWorld
	ecr     *ecrWorld
	cf      *cfWorld
	cp      *cpWorld
	cd      *cdWorld
	logs    *logsWorld
	idSeq   int
	seen    map[string]int          // calls per "Service.Op", for Fault.SkipFirst
	others  map[string]*regionWorld // other accounts' and regions' (empty) worlds, by "account/region"
	// stsMu guards sessions, the temporary credentials AssumeRole handed out, by access key id.
	stsMu    sync.Mutex
	sessions map[string]IdentitySpec
	done     chan struct{} // closed by Close: ends injected latency
	closing  sync.Once
}

// protocol is how a service answers errors: its wire format, and its codes for the faults.
type protocol struct {
	write            func(http.ResponseWriter, *apiError)
	throttle, denied string
	deniedStatus     int
}

var (
	jsonProtocol       = protocol{writeJSONError, "ThrottlingException", "AccessDeniedException", 400}
	cloudFrontProtocol = protocol{writeXMLError, "Throttling", "AccessDenied", 403}
	queryProtocol      = protocol{writeQueryError, "Throttling", "AccessDenied", 403}
)

// Start builds the world from cfg and serves it on 127.0.0.1 (port 0 picks a free port).
func Start(cfg Config, port int) (*Server, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, err
	}
	s.ln = ln
	s.url = "http://" + ln.Addr().String()
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go s.http.Serve(ln) //nolint:errcheck // returns on Close
	if err := s.startEdges(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// New builds the world from cfg without serving it; use it as an http.Handler.
func New(cfg Config) (*Server, error) {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Account == "" {
		cfg.Account = "123456789012"
	}
	if err := checkPolicies(cfg); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		rng:      rand.New(rand.NewSource(cfg.Seed)),
		seen:     map[string]int{},
		others:   map[string]*regionWorld{},
		sessions: map[string]IdentitySpec{},
		done:     make(chan struct{}),
		effects: Effects{
			Deployments:     map[string]int{},
			Invalidations:   map[string]int{},
			JobResults:      map[string]int{},
			Continuations:   map[string]int{},
			Stops:           map[string]int{},
			Continues:       map[string]int{},
			CodeDeployments: map[string]int{},
			CodeDeployStops: map[string]int{},
			Registrations:   map[string]int{},
			RunTasks:        map[string]int{},
			TaskStops:       map[string]int{},
			AssumeRoles:     map[string]int{},
		},
	}
	s.ecr = newECR(s, cfg.Repositories)
	s.logs = newLogs()
	var err error
	if s.ecs, err = newECS(s, cfg.Clusters); err != nil {
		return nil, err
	}
	s.cf = newCloudFront(s, cfg.Distributions, cfg.CachePolicies)
	s.cd = newCodeDeploy(s)
	s.cp = newCodePipeline()
	return s, nil
}

// URL is the endpoint to give the SDK or the CLI, like http://127.0.0.1:43123.
func (s *Server) URL() string { return s.url }

// Close stops serving; requests held by a latency fault end at once.
func (s *Server) Close() error {
	s.closing.Do(func() { close(s.done) })
	if s.http == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.closeEdges(ctx)
	return s.http.Shutdown(ctx)
}

// Calls returns a copy of the request log.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CountCalls counts logged calls of service and op ("" matches any) that were answered
// without an error or fault.
func (s *Server) CountCalls(service, op string) int {
	n := 0
	for _, c := range s.Calls() {
		if (service == "" || c.Service == service) && (op == "" || c.Op == op) && c.Error == "" {
			n++
		}
	}
	return n
}

// Effects returns a copy of the effect counters.
func (s *Server) Effects() Effects {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := func(m map[string]int) map[string]int {
		out := make(map[string]int, len(m))
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	return Effects{
		Deployments:     cp(s.effects.Deployments),
		Invalidations:   cp(s.effects.Invalidations),
		JobResults:      cp(s.effects.JobResults),
		Continuations:   cp(s.effects.Continuations),
		Stops:           cp(s.effects.Stops),
		Continues:       cp(s.effects.Continues),
		CodeDeployments: cp(s.effects.CodeDeployments),
		CodeDeployStops: cp(s.effects.CodeDeployStops),
		Registrations:   cp(s.effects.Registrations),
		RunTasks:        cp(s.effects.RunTasks),
		TaskStops:       cp(s.effects.TaskStops),
		AssumeRoles:     cp(s.effects.AssumeRoles),
	}
}

// apiError is an AWS error answer.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// jsonTargets maps X-Amz-Target prefixes to service names.
var jsonTargets = map[string]string{
	"AmazonEC2ContainerServiceV20141113":   "ECS",
	"AmazonEC2ContainerRegistry_V20150921": "ECR",
	"CodePipeline_20150709":                "CodePipeline",
	"CodeDeploy_20141006":                  "CodeDeploy",
	"Logs_20140328":                        "Logs",
}

// ServeHTTP routes a request to the simulated service.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/_awsim/calls":
		writeJSON(w, 200, s.Calls())
	case r.URL.Path == "/_awsim/effects":
		writeJSON(w, 200, s.Effects())
	case strings.HasPrefix(r.URL.Path, "/2020-05-31/"):
		s.serveCloudFront(w, r)
	case r.Method == http.MethodPost && r.Header.Get("X-Amz-Target") != "":
		s.serveJSON(w, r)
	case r.Method == http.MethodPost:
		if form, ok := queryForm(r); ok && form.Get("Version") == elbVersion {
			s.serveELB(w, r, form)
			return
		} else if ok {
			s.serveSTS(w, r, form)
			return
		}
		http.Error(w, "awsim: a POST without X-Amz-Target or a query Action", http.StatusBadRequest)
	default:
		http.Error(w, "awsim: unknown route "+r.Method+" "+r.URL.Path, http.StatusNotFound)
	}
}

func (s *Server) serveJSON(w http.ResponseWriter, r *http.Request) {
	prefix, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	svc, ok := jsonTargets[prefix]
	if !ok {
		writeJSONError(w, errf(400, "UnknownOperationException", "unknown target %q", prefix))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	call := Call{Time: time.Now(), Service: svc, Op: op}
	fault, after := s.injectBefore(w, svc, op, &call, jsonProtocol)
	if fault {
		return
	}
	c := s.callerOf(r)
	call.Caller = c.identity.ARN
	if aerr := c.refusal(svc); aerr != nil {
		s.record(call, aerr.Status, aerr.Code)
		writeJSONError(w, aerr)
		return
	}
	if aerr := validateJSON(svc, op, body); aerr != nil {
		s.record(call, aerr.Status, aerr.Code)
		writeJSONError(w, aerr)
		return
	}
	if aerr := crossAccount(svc, op, body, c); aerr != nil {
		s.record(call, aerr.Status, aerr.Code)
		writeJSONError(w, aerr)
		return
	}
	var out any
	var aerr *apiError
	s.mu.Lock()
	world := &regionWorld{ecs: s.ecs, ecr: s.ecr, cd: s.cd, cp: s.cp, logs: s.logs}
	if !s.home(c) {
		world = s.elsewhere(c)
	}
	in := map[string]any{}
	json.Unmarshal(body, &in) //nolint:errcheck // validateJSON read it
	aerr = s.authorize(iamRequest{svc: svc, op: op, c: c, in: in, w: world}, &call)
	switch {
	case aerr != nil:
	case svc == "ECS":
		out, aerr = world.ecs.handle(op, body, &call)
	case svc == "ECR":
		out, aerr = world.ecr.handle(op, body, &call)
	case svc == "CodePipeline":
		out, aerr = world.cp.handle(s, op, body, &call)
	case svc == "CodeDeploy":
		out, aerr = world.cd.handle(op, body, &call)
	case svc == "Logs":
		out, aerr = world.logs.handle(world.ecs, op, body, &call)
	}
	s.mu.Unlock()
	if s.answered(w, call, after, aerr, writeJSONError) {
		return
	}
	s.record(call, 200, "")
	writeJSON(w, 200, out)
}

// answered finishes a call that was applied but gets no success answer: the connection is reset
// (a reset-after fault: the effect happened, the answer is lost), or the error is written in the
// protocol's format. It reports whether the call was answered.
func (s *Server) answered(w http.ResponseWriter, call Call, resetAfter bool, aerr *apiError, writeErr func(http.ResponseWriter, *apiError)) bool {
	switch {
	case resetAfter:
		s.record(call, 0, "fault:reset-after")
		resetConn(w)
	case aerr != nil:
		s.record(call, aerr.Status, aerr.Code)
		writeErr(w, aerr)
	default:
		return false
	}
	return true
}

// injectBefore applies the faults configured for svc.op. It reports whether the request was
// already answered by a fault, and whether the connection must be reset after applying it.
func (s *Server) injectBefore(w http.ResponseWriter, svc, op string, call *Call, p protocol) (answered, resetAfter bool) {
	s.mu.Lock()
	f, ok := s.faultFor(svc, op)
	s.seen[svc+"."+op]++
	if ok && (s.seen[svc+"."+op] <= f.SkipFirst || f.OnlyFirst > 0 && s.seen[svc+"."+op] > f.SkipFirst+f.OnlyFirst) {
		ok = false
	}
	var throttle, server, reset, latency, deny, unsupported, unknown bool
	var code int
	if ok {
		latency = s.rng.Float64() < f.Latency
		throttle = s.rng.Float64() < f.Throttle
		server = s.rng.Float64() < f.ServerError
		reset = s.rng.Float64() < f.Reset
		resetAfter = s.rng.Float64() < f.ResetAfter
		deny = s.rng.Float64() < f.Deny
		unsupported = f.Unsupported > 0 && s.rng.Float64() < f.Unsupported
		unknown = f.Unknown > 0 && s.rng.Float64() < f.Unknown
		code = 500
		if s.rng.Intn(2) == 1 {
			code = 503
		}
	}
	s.mu.Unlock()
	if latency {
		d := f.Delay.D()
		if d == 0 {
			d = 2 * time.Second
		}
		call.Delay = d
		select {
		case <-time.After(d):
		case <-s.done:
			resetConn(w)
			return true, false
		}
	}
	switch {
	case unsupported || unknown:
		e := errf(400, "UnsupportedFeatureException", "The specified task isn't supported in this Region.")
		if unknown {
			e = errf(400, "UnknownOperationException", "")
		}
		s.record(*call, e.Status, "fault:"+e.Code)
		p.write(w, e)
		return true, false
	case deny:
		e := errf(p.deniedStatus, p.denied, "User: arn:aws:sts::123456789012:assumed-role/codebuild-role/build is not authorized to perform: %s", strings.ToLower(svc)+":"+op)
		s.record(*call, e.Status, "fault:"+e.Code)
		p.write(w, e)
		return true, false
	case reset:
		s.record(*call, 0, "fault:reset")
		resetConn(w)
		return true, false
	case throttle:
		e := errf(400, p.throttle, "Rate exceeded")
		s.record(*call, e.Status, "fault:"+e.Code)
		p.write(w, e)
		return true, false
	case server:
		e := errf(code, "InternalFailure", "We encountered an internal error. Please try again.")
		if code == 503 {
			e.Code = "ServiceUnavailable"
			e.Message = "Service is unavailable. Please try again."
		}
		s.record(*call, code, fmt.Sprintf("fault:%d", code))
		p.write(w, e)
		return true, false
	}
	return false, resetAfter
}

func (s *Server) faultFor(svc, op string) (Fault, bool) {
	for _, k := range []string{svc + "." + op, svc + ".*", "*"} {
		if f, ok := s.cfg.Faults[k]; ok {
			return f, true
		}
	}
	return Fault{}, false
}

func (s *Server) record(c Call, status int, errCode string) {
	c.Status, c.Error = status, errCode
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
}

// resetConn closes the client's connection without an answer.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0) //nolint:errcheck // best effort: makes the close an RST
	}
	conn.Close()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", fmt.Sprintf("awsim-%d", time.Now().UnixNano()))
	w.WriteHeader(status)
	w.Write(b) //nolint:errcheck
}

func writeJSONError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	writeJSON(w, e.Status, map[string]string{"__type": e.Code, "message": e.Message})
}

// nextID returns a process-unique sequence number for ids; the caller holds s.mu.
func (s *Server) nextID() int {
	s.idSeq++
	return s.idSeq
}

// randID returns n characters of upper-case letters and digits from the seeded source; the
// caller holds s.mu.
func (s *Server) randID(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[s.rng.Intn(len(alphabet))]
	}
	return string(b)
}

// decode reads a JSON request body into v.
func decode(body []byte, v any) *apiError {
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errf(400, "SerializationException", "cannot decode request: %v", err)
	}
	return nil
}

// epoch is a timestamp written as awsJson does: seconds since the epoch.
type epoch time.Time

func (t epoch) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%.3f", float64(time.Time(t).UnixMilli())/1000)), nil
}

// validate checks in, the decoded input of svc.op, against AWS's documented contract (package
// contract) and returns AWS's answer to the first rule it breaks.
func validate(svc, op string, in map[string]any) *apiError {
	return violation(contract.Check(svc, op, in))
}

// validateJSON decodes an awsJson body and validates it.
func validateJSON(svc, op string, body []byte) *apiError {
	return violation(contract.CheckJSON(svc, op, body))
}

func violation(v *contract.Violation) *apiError {
	if v == nil {
		return nil
	}
	return errf(v.Status, v.Code, "%s", v.Message)
}
