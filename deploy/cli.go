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
func RunCLI(s Settings, stdout, stderr io.Writer) int {
	if err := s.Validate(); err != nil {
		fmt.Fprintln(stderr, "deploystep:", err)
		return ExitCode(err)
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
	report := NewReporter(stdout, s.Output)
	cfg, err := LoadAWS(ctx)
	if err != nil && !s.DryRun {
		err = newError(ErrConfig, "AWS configuration: %v", err)
		fmt.Fprintln(stderr, "deploystep:", err)
		return ExitCode(err)
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
		err := newError(ErrConfig, "configuration: no AWS region: set AWS_REGION (or a profile with a region)")
		fmt.Fprintln(stderr, "deploystep:", err)
		return ExitCode(err)
	}
	err = e.Run(ctx, st)
	e.Result(st, err)
	return ExitCode(err)
}
