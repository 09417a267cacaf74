package awsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// cpWorld records CodePipeline jobs and the results functions report. Every method runs under
// Server.mu.
type cpWorld struct {
	jobs map[string]*Job
}

// Job is a CodePipeline job as the simulator saw it. A job takes one result: a success with a
// continuation token ends the job too, and CodePipeline carries the action on with a new job.
type Job struct {
	ID      string      `json:"id"`
	Status  string      `json:"status"` // InProgress, Succeeded, Failed
	Results []JobResult `json:"results"`
}

// JobResult is one PutJobSuccessResult or PutJobFailureResult.
type JobResult struct {
	Time              time.Time         `json:"time"`
	Success           bool              `json:"success"`
	ContinuationToken string            `json:"continuationToken,omitempty"`
	Summary           string            `json:"summary,omitempty"`
	PercentComplete   *int              `json:"percentComplete,omitempty"`
	OutputVariables   map[string]string `json:"outputVariables,omitempty"`
	FailureType       string            `json:"failureType,omitempty"`
	FailureMessage    string            `json:"failureMessage,omitempty"`
}

// Final reports whether r ends the job.
func (r JobResult) Final() bool { return !r.Success || r.ContinuationToken == "" }

func newCodePipeline() *cpWorld { return &cpWorld{jobs: map[string]*Job{}} }

// NewJob registers a job that functions may report on and returns its id.
func (s *Server) NewJob() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", s.rng.Uint32(), s.rng.Intn(1<<16), s.rng.Intn(1<<12), s.rng.Intn(1<<12), s.rng.Int63n(1<<48))
	s.cp.jobs[id] = &Job{ID: id, Status: "InProgress"}
	return id
}

// Job returns a copy of the job with id.
func (s *Server) Job(id string) (Job, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.cp.jobs[id]
	if !ok {
		return Job{}, false
	}
	c := *j
	c.Results = append([]JobResult(nil), j.Results...)
	return c, true
}

func (w *cpWorld) handle(s *Server, op string, body []byte, call *Call) (any, *apiError) {
	var in struct {
		JobId             string
		ContinuationToken string
		ExecutionDetails  *struct {
			Summary         string
			PercentComplete *int
		}
		OutputVariables map[string]string
		FailureDetails  *struct{ Type, Message string }
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	call.Params = map[string]string{"jobId": in.JobId}
	var r JobResult
	switch op {
	case "PutJobSuccessResult":
		r = JobResult{Time: time.Now(), Success: true, ContinuationToken: in.ContinuationToken, OutputVariables: in.OutputVariables}
		// The input's limits are the contract's (contract.go), checked before this runs.
		if in.ExecutionDetails != nil {
			r.Summary, r.PercentComplete = in.ExecutionDetails.Summary, in.ExecutionDetails.PercentComplete
		}
		call.Params["continuationToken"] = in.ContinuationToken
	case "PutJobFailureResult":
		r = JobResult{Time: time.Now(), FailureType: in.FailureDetails.Type, FailureMessage: in.FailureDetails.Message}
		call.Params["failureType"] = in.FailureDetails.Type
		call.Params["failureMessage"] = in.FailureDetails.Message
	default:
		return nil, errf(400, "UnknownOperationException", "awsim does not implement CodePipeline %s", op)
	}
	job, ok := w.jobs[in.JobId]
	if !ok {
		return nil, errf(400, "JobNotFoundException", "The job was specified in an invalid format or cannot be found.")
	}
	if job.Status != "InProgress" {
		return nil, errf(400, "InvalidJobStateException", "The job state was specified in an invalid format.")
	}
	job.Results = append(job.Results, r)
	// Each job takes one result; a continuation is carried on by a new job.
	job.Status = map[bool]string{true: "Succeeded", false: "Failed"}[r.Success]
	if r.Final() {
		s.effects.JobResults[job.ID]++
	} else {
		s.effects.Continuations[job.ID]++
	}
	return struct{}{}, nil
}

// Driver plays CodePipeline toward a Lambda function's invoke URL, such as aws-lambda-rie's
// http://127.0.0.1:PORT/2015-03-31/functions/function/invocations.
type Driver struct {
	Sim       *Server
	InvokeURL string
	// MaxInvocations bounds the loop; default 50.
	MaxInvocations int
	// Client is the HTTP client for invocations; default one with a 2-minute timeout.
	Client *http.Client
	// PipelineRole, when it carries policies, is the pipeline's role: CodePipeline invokes the
	// function as that role, so each invocation is first authorized as lambda:InvokeFunction on
	// FunctionARN (iam.go), and a refusal fails the action without invoking.
	PipelineRole IdentitySpec
	FunctionARN  string
}

// JobInput is what the pipeline puts into the job event.
type JobInput struct {
	UserParameters string
	FunctionName   string
	// ArtifactCredentials are put into the event as CodePipeline does; tests plant values here
	// to prove they never reach the function's output.
	AccessKeyID, SecretAccessKey, SessionToken string
}

// Invocation is one delivery of a job event and what the function answered.
type Invocation struct {
	Job      string        `json:"job"`
	Token    string        `json:"token,omitempty"`
	Response string        `json:"response"`
	Took     time.Duration `json:"took"`
}

// Event builds the CodePipeline job event JSON for jobID, with a continuation token or "".
func Event(jobID string, in JobInput, token string) []byte {
	ev := map[string]any{"CodePipeline.job": map[string]any{
		"id": jobID, "accountId": "123456789012",
		"data": map[string]any{
			"actionConfiguration": map[string]any{"configuration": map[string]string{
				"FunctionName": in.FunctionName, "UserParameters": in.UserParameters}},
			"inputArtifacts": []any{}, "outputArtifacts": []any{},
			"artifactCredentials": map[string]string{"accessKeyId": in.AccessKeyID,
				"secretAccessKey": in.SecretAccessKey, "sessionToken": in.SessionToken},
			"continuationToken": token,
		},
	}}
	b, _ := json.Marshal(ev)
	return b
}

// Invoke delivers one event to the function and returns its raw answer.
func (d *Driver) Invoke(ctx context.Context, event []byte) (string, error) {
	c := d.Client
	if c == nil {
		c = &http.Client{Timeout: 2 * time.Minute}
	}
	// A delivery that got no answer at all (refused, reset) is tried again, a few times, as
	// Lambda retries a failed asynchronous invocation; if the function did receive it, the retry
	// is a duplicate delivery, which the function must take.
	var resp *http.Response
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.InvokeURL, bytes.NewReader(event))
		if err != nil {
			return "", err
		}
		if resp, err = c.Do(req); err == nil {
			break
		}
		if attempt == 3 || ctx.Err() != nil {
			return "", err
		}
		select {
		case <-time.After(250 * time.Millisecond):
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != 200 {
		return string(b), fmt.Errorf("invoke: HTTP %d: %s", resp.StatusCode, b)
	}
	return string(b), nil
}

// Execution is one run of a pipeline action: the first job and one more job per continuation,
// as CodePipeline does it ("future jobs use this token").
type Execution struct {
	Jobs        []Job        `json:"jobs"`
	Invocations []Invocation `json:"invocations"`
}

// Final is the final result of the execution, if there is one.
func (x Execution) Final() (JobResult, bool) {
	if len(x.Jobs) == 0 {
		return JobResult{}, false
	}
	j := x.Jobs[len(x.Jobs)-1]
	if len(j.Results) == 0 || !j.Results[len(j.Results)-1].Final() {
		return JobResult{}, false
	}
	return j.Results[len(j.Results)-1], true
}

// Run drives one action execution to a final result: it invokes with a new job's event, and
// after each success result that carries a continuation token it creates the next job and
// invokes with that token.
func (d *Driver) Run(ctx context.Context, in JobInput) (Execution, error) {
	return d.RunFrom(ctx, d.Sim.NewJob(), in, "")
}

// RunFrom drives an execution whose next job is jobID, invoked with token ("" for the first).
func (d *Driver) RunFrom(ctx context.Context, jobID string, in JobInput, token string) (Execution, error) {
	max := d.MaxInvocations
	if max == 0 {
		max = 50
	}
	var x Execution
	for i := 0; i < max; i++ {
		inv, err := d.InvokeJob(ctx, jobID, in, token)
		x.Invocations = append(x.Invocations, inv)
		j, _ := d.Sim.Job(jobID)
		x.Jobs = append(x.Jobs, j)
		if err != nil {
			return x, err
		}
		if len(j.Results) == 0 {
			return x, fmt.Errorf("job %s: the function returned without reporting a result (CodePipeline would time the action out)", jobID)
		}
		last := j.Results[len(j.Results)-1]
		if last.Final() {
			return x, nil
		}
		token, jobID = last.ContinuationToken, d.Sim.NewJob()
	}
	return x, fmt.Errorf("no final result after %d invocations", max)
}

// InvokeJob delivers the event of job jobID once, with token.
func (d *Driver) InvokeJob(ctx context.Context, jobID string, in JobInput, token string) (Invocation, error) {
	start := time.Now()
	if policies := d.Sim.policiesOf(d.PipelineRole); policies != nil {
		a := authorization{Action: "lambda:InvokeFunction", Resource: d.FunctionARN,
			Context: principalContext(caller{identity: d.PipelineRole, region: d.Sim.cfg.Region})}
		if dec := evaluate(policies, a); !dec.Allowed {
			e := accessDenied("Lambda", d.PipelineRole.ARN, a, dec)
			return Invocation{Job: jobID, Token: token, Response: e.Error()}, fmt.Errorf("CodePipeline could not invoke the function: %s", e.Message)
		}
	}
	resp, err := d.Invoke(ctx, Event(jobID, in, token))
	return Invocation{Job: jobID, Token: token, Response: resp, Took: time.Since(start)}, err
}
