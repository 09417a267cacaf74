package deploy

import (
	"errors"
	"testing"

	"github.com/deploystep/deploystep/deploy/failure"
)

func TestExitCodes(t *testing.T) {
	cases := map[error]int{nil: 0, failure.New(failure.ErrFailed, "x"): 1, failure.New(failure.ErrConfig, "x"): 2, failure.New(failure.ErrTimeout, "x"): 3,
		failure.New(failure.ErrInterrupted, "x"): 130, errors.New("unknown"): 1}
	for err, want := range cases {
		if got := failure.ExitCode(err); got != want {
			t.Errorf("ExitCode(%v) = %d, want %d", err, got, want)
		}
	}
}
