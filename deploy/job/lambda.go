// Package job is deploystep as a CodePipeline Invoke action on AWS Lambda (provided.al2023): each
// invocation loads the settings from the job's UserParameters over the function's environment,
// resumes the release from the continuation token, runs the engine until it ends or the
// invocation's deadline nears, and reports the job's result to CodePipeline (success, success with
// a continuation token, or failure), with the summary, console links and output variables. It
// imports the engine; nothing in deploy imports it.
package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/sethvargo/go-envconfig"

	"github.com/deploystep/deploystep/deploy"
	"github.com/deploystep/deploystep/deploy/awsapi"
	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/report"
	"github.com/deploystep/deploystep/deploy/settings"
	"github.com/deploystep/deploystep/deploy/state"
)

// Handler is the CodePipeline Invoke action: the same engine as the command, run in slices
// that end before the Lambda deadline and hand over with a continuation token.
//
// It always reports the job's result to CodePipeline and returns nil: a returned error would
// make Lambda retry the asynchronous event. It never logs the event, which carries
// artifactCredentials.
type Handler struct {
	AWS      aws.Config
	Pipeline awsapi.CodePipelineAPI
	// Env is the function's environment, under UserParameters; default the process's.
	Env envconfig.Lookuper
	// Log receives the engine's events; default os.Stdout (CloudWatch Logs).
	Log io.Writer
	// NewEngine builds the engine; default NewEngine with AWS.
	NewEngine func(settings.Settings, report.Reporter) *deploy.Engine
}

// Start runs the handler under the Lambda runtime (AWS_LAMBDA_RUNTIME_API); it returns only when
// the AWS configuration cannot be loaded (a configuration error: main exits with its code).
func Start() error {
	cfg, err := deploy.LoadAWS(context.Background())
	if err != nil {
		return failure.New(failure.ErrConfig, "AWS configuration: %v", err)
	}
	h := &Handler{AWS: cfg, Pipeline: codepipeline.NewFromConfig(cfg, func(o *codepipeline.Options) {
		// The job result must get through within the margin before the Lambda deadline: many
		// quick attempts rather than a few long backoffs; reportContext bounds the whole.
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 20
			so.MaxBackoff = 300 * time.Millisecond
			so.RateLimiter = ratelimit.None
		})
	})}
	lambda.Start(h.Handle)
	return nil
}

// Handle runs one job of the action.
func (h *Handler) Handle(ctx context.Context, ev events.CodePipelineJobEvent) error {
	job := ev.CodePipelineJob
	out := h.Log
	if out == nil {
		out = os.Stdout
	}
	// Everything the handler says goes through the Reporter: text until the settings say json.
	log := report.NewReporter(out, "text")
	if job.ID == "" {
		log.Report(jobEvent("the event has no CodePipeline job id; nothing to report to"))
		return nil
	}
	s, err := h.settings(ctx, job.Data.ActionConfiguration.Configuration.UserParameters)
	if err != nil {
		h.fail(ctx, log, job.ID, cptypes.FailureTypeConfigurationError, err.Error())
		return nil
	}
	limit, note := s.Limit(true)
	log = report.NewReporter(out, s.Output)
	now := time.Now()
	st, err := jobState(s, job.ID, job.Data.ContinuationToken, now)
	if err != nil {
		h.fail(ctx, log, job.ID, cptypes.FailureTypeConfigurationError, err.Error())
		return nil
	}

	build := h.NewEngine
	if build == nil {
		build = func(s settings.Settings, r report.Reporter) *deploy.Engine { return deploy.NewEngine(h.AWS, s, r) }
	}
	e := build(s, log)
	e.Limit = limit
	if note != "" {
		e.Emit(report.Event{Kind: report.KindWarning, Message: note})
	}
	if s.DryRun {
		err := e.DryRun(ctx, st, h.AWS.Credentials, h.AWS.Region)
		h.finish(ctx, log, job.ID, e, st, err)
		return nil
	}
	slice, cancel := context.WithDeadlineCause(ctx, sliceDeadline(ctx, now), failure.ErrPaused)
	defer cancel()
	err = e.Run(slice, st)
	if errors.Is(err, failure.ErrPaused) {
		h.handOver(ctx, log, job.ID, e, st)
		return nil
	}
	h.finish(ctx, log, job.ID, e, st, err)
	return nil
}

// jobState is the release this job runs: the one its continuation token carries, or, for the
// first job, a new one named after it (a re-delivered event finds the deployment it started
// through the service tag, and its invalidation through CallerReference). Settings the Lambda
// mode cannot run are ErrConfig, before anything changes.
func jobState(s settings.Settings, jobID, token string, now time.Time) (*state.State, error) {
	if s.SummaryFile != "" {
		return nil, failure.New(failure.ErrConfig, "SUMMARY_FILE is the command mode's (a CodeBuild artifact, $GITHUB_STEP_SUMMARY): the Lambda mode's record is the action's summary, links and output variables in CodePipeline; unset it")
	}
	if s.OutputsFile != "" {
		return nil, failure.New(failure.ErrConfig, "OUTPUTS_FILE is the command mode's ($GITHUB_OUTPUT): the Lambda mode's output variables are the CodePipeline action's; unset it")
	}
	// Every state this action can reach must fit a continuation token: checked before anything
	// changes, not when the first hand-over finds out.
	if err := state.TokenFits(s); err != nil {
		return nil, err
	}
	if token != "" {
		return state.DecodeToken(token, s, now)
	}
	return state.NewState(s, jobID, now), nil
}

// sliceDeadline is when an invocation stops working to hand over: before the Lambda deadline
// by a margin that leaves time to report through throttling and slow calls (a third of the
// time, between 1s and 30s: 30s for a 15-minute function).
func sliceDeadline(ctx context.Context, now time.Time) time.Time {
	deadline, ok := ctx.Deadline()
	if !ok {
		return now.Add(14 * time.Minute)
	}
	margin := min(max(deadline.Sub(now)/3, time.Second), 30*time.Second)
	return deadline.Add(-margin)
}

// reportContext bounds a report to CodePipeline so that it ends, retries included, just before
// Lambda stops the function: a report cut off by the runtime is worse than one that gives up.
func reportContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, deadline.Add(-200*time.Millisecond))
	}
	return context.WithTimeout(ctx, time.Minute)
}

// settings reads UserParameters (a JSON object with the environment variables' names) over the
// function's environment.
func (h *Handler) settings(ctx context.Context, userParameters string) (settings.Settings, error) {
	params, err := userParams(userParameters)
	if err != nil {
		return settings.Settings{}, err
	}
	env := h.Env
	if env == nil {
		env = settings.EnvLookuper()
	}
	s, err := settings.LoadSettings(ctx, envconfig.MultiLookuper(envconfig.MapLookuper(params), env))
	return s, settings.AllProblems(err, &s)
}

// userParams reads the action's UserParameters, a JSON object of settings, as the settings'
// text: every unknown name and every value of another type is a problem, all said at once.
func userParams(text string) (map[string]string, error) {
	params := map[string]string{}
	if strings.TrimSpace(text) == "" {
		return params, nil
	}
	var raw map[string]any
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, failure.New(failure.ErrConfig, "UserParameters must be a JSON object like {\"CLUSTER\":\"c\",\"SERVICE\":\"s\"}: %v", err)
	}
	var problems []string
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		if !slices.Contains(settings.SettingNames(), k) {
			msg := fmt.Sprintf("unknown setting %q", failure.Clip(k))
			if c := settings.Closest(k, settings.SettingNames()); c != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", c)
			}
			problems = append(problems, msg)
			continue
		}
		v, problem := paramText(raw[k])
		if problem != "" {
			problems = append(problems, k+": "+problem)
		}
		params[k] = v
	}
	if len(problems) > 0 {
		return nil, failure.New(failure.ErrConfig, "UserParameters: %s", strings.Join(problems, "; "))
	}
	return params, nil
}

// paramText is a UserParameters value as a setting's text (a list joined with commas), or the
// problem with it.
func paramText(v any) (text, problem string) {
	switch v := v.(type) {
	case string:
		return v, ""
	case json.Number:
		return v.String(), ""
	case bool:
		return strconv.FormatBool(v), ""
	case []any:
		var items []string
		for _, it := range v {
			str, ok := it.(string)
			if !ok {
				return "", "list items must be strings"
			}
			items = append(items, str)
		}
		return strings.Join(items, ","), ""
	}
	return "", "must be a string, number, boolean or list of strings"
}

// handOver reports progress with a continuation token; CodePipeline invokes again with it.
func (h *Handler) handOver(ctx context.Context, log report.Reporter, jobID string, e *deploy.Engine, st *state.State) {
	tok, err := state.EncodeToken(st, e.Settings)
	if err != nil {
		h.fail(ctx, log, jobID, cptypes.FailureTypeConfigurationError, err.Error())
		return
	}
	summary := fmt.Sprintf("deploystep: %s after %s", st.Phase, time.Since(st.Started).Round(time.Second))
	ctx, cancel := reportContext(ctx)
	defer cancel()
	_, err = h.Pipeline.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{
		JobId:             aws.String(jobID),
		ContinuationToken: aws.String(tok),
		ExecutionDetails:  &cptypes.ExecutionDetails{Summary: aws.String(summary), PercentComplete: aws.Int32(e.Plan(st, nil).Percent(st.Phase))},
	})
	h.reported(log, jobID, "continuation", err)
}

// finish reports the final result.
func (h *Handler) finish(ctx context.Context, log report.Reporter, jobID string, e *deploy.Engine, st *state.State, err error) {
	sum := e.Result(st, err)
	if err != nil {
		typ := cptypes.FailureTypeJobFailed
		if errors.Is(err, failure.ErrConfig) {
			typ = cptypes.FailureTypeConfigurationError
		}
		h.fail(ctx, log, jobID, typ, withLinks(err.Error(), sum.Links, 5000))
		return
	}
	vars := report.OutputVariables(sum)
	summary := fmt.Sprintf("deploystep: %s in %.0fs; deployments %s", sum.Result, sum.Seconds, report.JoinPairs(sum.Deployments))
	for _, k := range slices.Sorted(maps.Keys(sum.Paused)) {
		p := sum.Paused[k]
		summary += fmt.Sprintf("; %s paused at %s (PAUSE hook %s): approve to continue it", k, p.Stage, p.Hook)
	}
	if v := report.JoinPairs(sum.Invalidations); v != "" {
		summary += "; invalidations " + v
	}
	for _, d := range slices.Sorted(maps.Keys(sum.InvalidationDecisions)) {
		if dec := sum.InvalidationDecisions[d]; sum.Invalidations[d] == "" && len(dec.Paths) == 0 {
			summary += fmt.Sprintf("; no invalidation on %s: %s", d, dec.Reason)
		}
	}
	ctx, cancel := reportContext(ctx)
	defer cancel()
	_, perr := h.Pipeline.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{
		JobId: aws.String(jobID), OutputVariables: vars,
		ExecutionDetails: &cptypes.ExecutionDetails{Summary: aws.String(withLinks(summary, sum.Links, 2048)), PercentComplete: aws.Int32(100)},
	})
	h.reported(log, jobID, "success", perr)
}

func (h *Handler) fail(ctx context.Context, log report.Reporter, jobID string, typ cptypes.FailureType, msg string) {
	log.Report(jobEvent(fmt.Sprintf("job %s: %s: %s", jobID, typ, msg)))
	ctx, cancel := reportContext(ctx)
	defer cancel()
	_, err := h.Pipeline.PutJobFailureResult(ctx, &codepipeline.PutJobFailureResultInput{
		JobId:          aws.String(jobID),
		FailureDetails: &cptypes.FailureDetails{Type: typ, Message: aws.String(failure.ClipTo(msg, 5000))},
	})
	h.reported(log, jobID, "failure", err)
}

// reported logs how reporting went. InvalidJobStateException means the job already has its
// result (a re-delivered event): that is done, not an error.
func (h *Handler) reported(log report.Reporter, jobID, what string, err error) {
	var state *cptypes.InvalidJobStateException
	switch {
	case err == nil:
		log.Report(jobEvent(fmt.Sprintf("job %s: reported %s", jobID, what)))
	case errors.As(err, &state):
		log.Report(jobEvent(fmt.Sprintf("job %s: already has its result (a re-delivered event); nothing more to report", jobID)))
	default:
		log.Report(jobEvent(fmt.Sprintf("job %s: could not report %s: %v", jobID, what, err)))
	}
}

// jobEvent is what the handler says about the CodePipeline job itself.
func jobEvent(msg string) report.Event {
	return report.Event{Time: time.Now(), Phase: "job", Kind: report.KindJob, Message: msg}
}

// withLinks is text, clipped to limit, followed by as many whole console links as fit: a link is
// never cut (CodePipeline's summary holds 2,048 characters, a failure's message 5,000).
func withLinks(text string, links []report.Link, limit int) string {
	text = failure.ClipTo(text, limit)
	for i, l := range links {
		sep := "; "
		if i == 0 {
			sep = "; console: "
		}
		add := sep + l.Subject + " " + l.What() + " " + l.URL
		if len(text)+len(add) > limit {
			break
		}
		text += add
	}
	return text
}
