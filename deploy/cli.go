package deploy

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// RunCLI runs one release as a command (a CodeBuild buildspec step, or locally) and returns the
// exit code. SIGINT and SIGTERM end it cleanly with a line saying what was left in which state.
//
// All output goes through one Reporter on stdout, errors before the run included (stderr is
// main's, for the flag package's usage text).
func RunCLI(s Settings, stdout, stderr io.Writer) int {
	format := s.Output
	if format != "json" {
		format = "text" // an invalid OUTPUT is reported in text
	}
	report := NewReporter(stdout, format)
	early := func(err error) int {
		e := &Engine{Settings: s, Report: report}
		e.Result(&State{Started: time.Now()}, err)
		return ExitCode(err)
	}
	if err := s.Validate(); err != nil {
		return early(err)
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
			cancel(fmt.Errorf("%w by %v", ErrInterrupted, got))
		case <-ctx.Done():
		}
	}()

	note := s.Limit(false)
	cfg, err := LoadAWS(ctx)
	if err != nil && !s.DryRun {
		return early(newError(ErrConfig, "AWS configuration: %v", err))
	}
	e := NewEngine(cfg, s, report)
	if note != "" {
		e.emit(Event{Kind: KindWarning, Message: note})
	}
	// The CodeBuild build names the release: running the same step again resumes it.
	st := NewState(s, s.BuildID, time.Now())
	if s.DryRun {
		err := e.DryRun(ctx, st, cfg.Credentials, cfg.Region)
		return ExitCode(err)
	}
	if cfg.Region == "" {
		return early(newError(ErrConfig, "configuration: no AWS region: set AWS_REGION (or a profile with a region)"))
	}
	err = e.Run(ctx, st)
	e.Result(st, err)
	return ExitCode(err)
}
