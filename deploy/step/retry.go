package step

// The one retry rule. Every AWS call of a run and every wait go through Wait (Attempt is a wait
// for one call): in the manner of the SDK's waiters, each try either ends the wait (done, or an
// error whose class ends the run: ErrConfig, ErrFailed, the end of ctx) or asks for another try
// after a backoff (throttling that outlived the SDK's own retries, 5xx, a reset). Observers that
// read once a poll apply the same acceptor to a failed read (Accept). ECS reads are paced so a
// cluster sees at most one a second (Read). Every sleep is the Host's Clock's.

import (
	"context"
	"fmt"
	"time"

	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/report"
)

// Backoff is how long a wait sleeps between tries: from First, doubling, up to Max (First ==
// Max: a fixed pace). No sleep runs past Until. A Paced wait counts the delay from the try's
// start, so a poll keeps its rhythm however long its reads took.
type Backoff struct {
	First, Max time.Duration
	Until      time.Time
	Paced      bool
}

// EveryPoll is the backoff of polls and of retried calls: POLL_INTERVAL.
func (h *Host) EveryPoll() Backoff {
	return Backoff{First: h.Settings.Poll, Max: h.Settings.Poll, Paced: true}
}

// Accept is the acceptor: nil when err asks for another try (said as a warning, with ev's
// subject), else the error that ends the run.
func (h *Host) Accept(ctx context.Context, err error, what string, ev report.Event) error {
	if err == nil {
		return nil
	}
	if failure.IsFinal(err) || ctx.Err() != nil {
		return err
	}
	ev.Kind, ev.Message = report.KindWarning, fmt.Sprintf("%s: %v; trying again", what, err)
	h.Emit(ev)
	return nil
}

// Wait runs try until it says done or ends the run; what and ev name it in warnings.
func (h *Host) Wait(ctx context.Context, what string, ev report.Event, b Backoff, try func(context.Context) (bool, error)) error {
	delay := b.First
	for {
		start := h.Now()
		done, err := try(ctx)
		if err != nil {
			if err := h.Accept(ctx, err, what, ev); err != nil {
				return err
			}
		} else if done {
			return nil
		}
		h.Heartbeat()
		d := delay
		if b.Paced {
			d -= h.Now().Sub(start)
		}
		if !b.Until.IsZero() {
			d = min(d, b.Until.Sub(h.Now()))
		}
		if err := h.clock().Sleep(ctx, d); err != nil {
			return err
		}
		delay = min(delay*2, b.Max)
	}
}

// Attempt runs call until it succeeds or the retry rule ends the run.
func (h *Host) Attempt(ctx context.Context, what string, call func(context.Context) error) error {
	return h.Wait(ctx, what, report.Event{}, Backoff{First: h.Settings.Poll, Max: h.Settings.Poll}, func(ctx context.Context) (bool, error) {
		return true, call(ctx)
	})
}

// Reader makes one read of a check: the real run retries transient errors (Host.Attempt); the
// dry run reads once, bounded (Once).
type Reader func(ctx context.Context, what string, call func(context.Context) error) error

// Once is the dry run's reader: one read, bounded, no retries.
func Once(ctx context.Context, _ string, call func(context.Context) error) error {
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return call(c)
}

// Read makes one ECS read within the cluster's read budget: at least ReadGap between the answer
// to one read and the next read, so AWS sees the reads that far apart however long each took to
// send. A burst read (evidence of a verdict about to be made, a few a release) does not wait.
func (h *Host) Read(ctx context.Context, burst bool, call func() error) error {
	gap := h.ReadGap
	if gap == 0 {
		gap = 1050 * time.Millisecond
	}
	h.mu.Lock()
	wait := h.lastRead.Add(gap).Sub(h.Now())
	h.mu.Unlock()
	if !burst && wait > 0 {
		if err := h.clock().Sleep(ctx, wait); err != nil {
			return err
		}
	} else if err := ctx.Err(); err != nil {
		return err
	}
	err := call()
	h.mu.Lock()
	h.lastRead = h.Now()
	h.mu.Unlock()
	return err
}
