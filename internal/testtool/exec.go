package testtool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"time"
)

// Result is how one run of a program ended.
type Result struct {
	Stdout, Stderr string
	Output         string // stdout and stderr as they came
	Code           int    // the exit code; -1 when it did not exit by itself (Err says why)
	Err            error
	Capped         bool // the context ended it
	Start, End     time.Time
}

// Took is how long it ran.
func (r Result) Took() time.Duration { return r.End.Sub(r.Start) }

func (r Result) String() string {
	return fmt.Sprintf("exit %d (%v) after %v\n--- stdout\n%s--- stderr\n%s", r.Code, r.Err, r.Took().Round(time.Millisecond), r.Stdout, r.Stderr)
}

// Exec runs a program in env until it exits or ctx ends; its process group is killed with it,
// so nothing it started outlives the run. Tests and the bench run the built binary (and the
// AWS CLI scripts they compare it with) this one way. It needs no testing.T: goroutines may call it.
func Exec(ctx context.Context, env []string, args ...string) Result {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	var both SyncBuffer
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&stdout, &both), io.MultiWriter(&stderr, &both)
	r := Result{Start: time.Now()}
	err := cmd.Run()
	r.End, r.Stdout, r.Stderr, r.Output, r.Err = time.Now(), stdout.String(), stderr.String(), both.String(), err
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		r.Code, r.Capped = -1, true
	case errors.As(err, &exit):
		r.Code = exit.ExitCode()
	case err != nil:
		r.Code = -1
	}
	return r
}

// RunBinary builds deploystep once and runs it in env (4 minutes at most).
func RunBinary(env []string, args ...string) Result {
	bin, err := BuildBinary()
	if err != nil {
		return Result{Code: -1, Err: err}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	return Exec(ctx, env, append([]string{bin}, args...)...)
}
