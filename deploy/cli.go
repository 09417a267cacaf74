package deploy

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/report"
	"github.com/deploystep/deploystep/deploy/settings"
	"github.com/deploystep/deploystep/deploy/state"
	"github.com/deploystep/deploystep/deploy/step"
)

// RunCLI runs one release as a command (a CodeBuild buildspec step, or locally) and returns the
// exit code; loadErr is LoadSettings' error, reported like every other. SIGINT and SIGTERM end
// it cleanly with a line saying what was left in which state.
//
// All output goes through one Reporter on stdout, errors before the run included, as JSON lines
// when OUTPUT (or -output) says json (stderr is main's, for the flag package).
func RunCLI(s settings.Settings, loadErr error, stdout, stderr io.Writer) int {
	reporter := report.NewReporter(stdout, s.Output) // LoadSettings loads what it can, OUTPUT included; not json is text
	early := func(err error) int {
		e := &Engine{Host: &step.Host{Settings: s, Report: reporter}}
		e.Result(&state.State{Started: time.Now()}, err) // writes SUMMARY_FILE too
		return failure.ExitCode(err)
	}
	hints := settings.SimilarNames(os.Environ())
	if err := settings.AllProblems(loadErr, &s); err != nil {
		if len(hints) > 0 {
			err = failure.New(failure.ErrConfig, "%s; %s", err.Error(), strings.Join(hints, "; "))
		}
		return early(err)
	}
	for _, h := range hints {
		reporter.Report(report.Event{Time: time.Now(), Phase: state.PhasePreflight, Kind: report.KindWarning, Message: h})
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	go func() {
		select {
		case got := <-sig:
			signal.Stop(sig) // a second signal kills at once
			cancel(fmt.Errorf("%w by %v", failure.ErrInterrupted, got))
		case <-ctx.Done():
		}
	}()

	limit, note := s.Limit(false)
	cfg, err := LoadAWS(ctx)
	if err != nil && !s.DryRun {
		return early(failure.New(failure.ErrConfig, "AWS configuration: %v", err))
	}
	e := NewEngine(cfg, s, reporter)
	e.Limit = limit
	if note != "" {
		e.Emit(report.Event{Kind: report.KindWarning, Message: note})
	}
	// The CodeBuild build (or RELEASE_ID) names the release: running the same step again resumes it.
	st := state.NewState(s, s.Identity(), time.Now())
	if s.DryRun {
		err := e.DryRun(ctx, st, cfg.Credentials, cfg.Region)
		return failure.ExitCode(err)
	}
	err = e.Run(ctx, st)
	e.Result(st, err) // writes SUMMARY_FILE too
	return failure.ExitCode(err)
}
