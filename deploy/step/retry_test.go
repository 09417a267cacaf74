package step_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/report"
	"github.com/deploystep/deploystep/deploy/step"
	"github.com/deploystep/deploystep/deploy/step/steptest"
)

// The one retry rule: a call is tried again, a poll apart, while its error may go away (no
// answer, a 5xx, throttling); an error whose class ends the run ends it at the first try.
func TestAttemptRetriesOnlyWhatMayGoAway(t *testing.T) {
	cases := []struct {
		name     string
		errs     []error // the call's answers in order; then it succeeds
		calls    int
		wantErr  error
		warnings int
	}{
		{"succeeds", nil, 1, nil, 0},
		{"no answer twice", []error{steptest.NoAnswer("DescribeServices"), steptest.NoAnswer("DescribeServices")}, 3, nil, 2},
		{"throttled", []error{steptest.APIError("DescribeServices", 400, "ThrottlingException", "Rate exceeded")}, 2, nil, 1},
		{"5xx", []error{steptest.APIError("DescribeServices", 500, "ServerException", "internal error")}, 2, nil, 1},
		{"refused", []error{steptest.APIError("DescribeServices", 400, "AccessDeniedException",
			"User: arn:aws:sts::123456789012:assumed-role/deploystep-tsa-gallery/1733563800 is not authorized to perform: ecs:DescribeServices on resource: arn:aws:ecs:us-east-1:123456789012:service/tsa-gallery/api")},
			1, failure.ErrAccessDenied, 0},
		{"invalid input", []error{steptest.APIError("DescribeServices", 400, "InvalidParameterException", "Cluster name is invalid")}, 1, failure.ErrConfig, 0},
		{"service not found", []error{steptest.Answer("UpdateService", 400, &ecstypes.ServiceNotFoundException{Message: aws.String("Service not found.")})}, 1, failure.ErrConfig, 0},
		{"a failed deployment", []error{failure.New(failure.ErrFailed, "service api: rolled back")}, 1, failure.ErrFailed, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := steptest.NewClock()
			h, events := host(clock)
			calls := 0
			err := h.Attempt(context.Background(), "reading the services", func(context.Context) error {
				calls++
				if calls > 20 {
					t.Fatal("tried 20 times")
				}
				if calls <= len(c.errs) {
					return failure.Classify(c.errs[calls-1], "DescribeServices")
				}
				return nil
			})
			if calls != c.calls || !errors.Is(err, c.wantErr) || (c.wantErr == nil) != (err == nil) {
				t.Fatalf("%d calls, err %v; want %d calls, %v", calls, err, c.calls, c.wantErr)
			}
			if n := len(events.Messages(report.KindWarning)); n != c.warnings {
				t.Errorf("%d warnings, want %d: %q", n, c.warnings, events.Messages(""))
			}
			if want := slices.Repeat([]time.Duration{2 * time.Second}, c.calls-1); !slices.Equal(clock.Slept, want) && c.wantErr == nil {
				t.Errorf("slept %v, want %v (a poll between tries)", clock.Slept, want)
			}
		})
	}
}

// A wait's sleeps: doubling from First up to Max, counted from the try's start when Paced, and
// never past Until; the end of ctx ends it.
func TestWaitBackoff(t *testing.T) {
	clock := steptest.NewClock()
	h, _ := host(clock)
	tries := 0
	until := func(n int) func(context.Context) (bool, error) {
		tries = 0
		return func(context.Context) (bool, error) {
			tries++
			clock.Advance(1500 * time.Millisecond) // each try takes 1.5s
			return tries == n, nil
		}
	}
	s := time.Second
	check := func(name string, b step.Backoff, n int, want []time.Duration) {
		t.Helper()
		clock.Slept = nil
		if err := h.Wait(context.Background(), name, report.Event{}, b, until(n)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Equal(clock.Slept, want) {
			t.Errorf("%s: slept %v, want %v", name, clock.Slept, want)
		}
	}
	check("doubling", step.Backoff{First: s, Max: 4 * s}, 5, []time.Duration{s, 2 * s, 4 * s, 4 * s})
	check("paced", step.Backoff{First: 2 * s, Max: 2 * s, Paced: true}, 3, []time.Duration{s / 2, s / 2})
	check("until", step.Backoff{First: 10 * s, Max: 10 * s, Until: clock.Now().Add(14 * s)}, 3, []time.Duration{10 * s, 14*s - 10*s - 3*s})

	ctx, cancel := context.WithCancel(context.Background())
	err := h.Wait(ctx, "following the rollback of api", report.Event{}, h.EveryPoll(), func(context.Context) (bool, error) {
		cancel()
		return false, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("a wait whose ctx ended: %v", err)
	}
}

// ECS reads keep to the cluster's budget: ReadGap between one read's answer and the next read;
// a burst read does not wait.
func TestReadPacing(t *testing.T) {
	clock := steptest.NewClock()
	h, _ := host(clock)
	h.ReadGap = time.Second
	read := func(burst bool) {
		if err := h.Read(context.Background(), burst, func() error { clock.Advance(200 * time.Millisecond); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	read(false)
	read(false)
	read(true)
	read(false)
	if want := []time.Duration{time.Second, time.Second}; !slices.Equal(clock.Slept, want) {
		t.Fatalf("slept %v, want %v", clock.Slept, want)
	}
}
