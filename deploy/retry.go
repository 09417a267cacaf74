package deploy

// The one retry rule. Every AWS call of a run and every wait go through wait (attempt is a wait
// for one call): in the manner of the SDK's waiters, each try either ends the wait (done, or an
// error whose class ends the run: ErrConfig, ErrFailed, the end of ctx) or asks for another try
// after a backoff (throttling that outlived the SDK's own retries, 5xx, a reset). Observers that
// read once a poll apply the same acceptor to a failed read (accept). ECS reads are paced so a
// cluster sees at most one a second (read).

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"deploystep/deploy/failure"
	"deploystep/deploy/report"
)

// backoff is how long a wait sleeps between tries: from first, doubling, up to max (first ==
// max: a fixed pace). No sleep runs past until. A paced wait counts the delay from the try's
// start, so a poll keeps its rhythm however long its reads took.
type backoff struct {
	first, max time.Duration
	until      time.Time
	paced      bool
}

// everyPoll is the backoff of polls and of retried calls: POLL_INTERVAL.
func (e *Engine) everyPoll() backoff {
	return backoff{first: e.Settings.Poll, max: e.Settings.Poll, paced: true}
}

// accept is the acceptor: nil when err asks for another try (said as a warning, with ev's
// subject), else the error that ends the run.
func (e *Engine) accept(ctx context.Context, err error, what string, ev report.Event) error {
	if err == nil {
		return nil
	}
	if failure.IsFinal(err) || ctx.Err() != nil {
		return err
	}
	ev.Kind, ev.Message = report.KindWarning, fmt.Sprintf("%s: %v; trying again", what, err)
	e.emit(ev)
	return nil
}

// wait runs try until it says done or ends the run; what and ev name it in warnings.
func (e *Engine) wait(ctx context.Context, what string, ev report.Event, b backoff, try func(context.Context) (bool, error)) error {
	delay := b.first
	for {
		start := e.now()
		done, err := try(ctx)
		if err != nil {
			if err := e.accept(ctx, err, what, ev); err != nil {
				return err
			}
		} else if done {
			return nil
		}
		e.heartbeat()
		d := delay
		if b.paced {
			d -= e.now().Sub(start)
		}
		if !b.until.IsZero() {
			d = min(d, b.until.Sub(e.now()))
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
		delay = min(delay*2, b.max)
	}
}

// attempt runs call until it succeeds or the retry rule ends the run.
func (e *Engine) attempt(ctx context.Context, what string, call func(context.Context) error) error {
	return e.wait(ctx, what, report.Event{}, backoff{first: e.Settings.Poll, max: e.Settings.Poll}, func(ctx context.Context) (bool, error) {
		return true, call(ctx)
	})
}

// reader makes one read of a check: the real run retries transient errors (Engine.attempt); the
// dry run reads once, bounded (once).
type reader func(ctx context.Context, what string, call func(context.Context) error) error

// once is the dry run's reader: one read, bounded, no retries.
func once(ctx context.Context, _ string, call func(context.Context) error) error {
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return call(c)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// read makes one ECS read within the cluster's read budget: at least ReadGap between the answer
// to one read and the next read, so AWS sees the reads that far apart however long each took to
// send. A burst read (evidence of a verdict about to be made, a few a release) does not wait.
func (e *Engine) read(ctx context.Context, burst bool, call func() error) error {
	gap := e.ReadGap
	if gap == 0 {
		gap = 1050 * time.Millisecond
	}
	e.mu.Lock()
	wait := time.Until(e.lastRead.Add(gap))
	e.mu.Unlock()
	if !burst && wait > 0 {
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	} else if err := ctx.Err(); err != nil {
		return err
	}
	err := call()
	e.mu.Lock()
	e.lastRead = time.Now()
	e.mu.Unlock()
	return err
}

// DefaultHeartbeat is the longest a wait goes without a line when HEARTBEAT is not loaded (an
// Engine built in a test).
const DefaultHeartbeat = 30 * time.Second

// heartbeat says, when nothing was said for HEARTBEAT, how long the run has waited against its
// limit and for what: each service's last verdict, the invalidations, the edge.
func (e *Engine) heartbeat() {
	every := cmp.Or(e.Settings.Heartbeat, DefaultHeartbeat)
	now := e.now()
	e.mu.Lock()
	quiet := e.st != nil && now.Sub(e.lastEmit)+e.Settings.Poll >= every // before the next poll would pass it
	var what []string
	for _, k := range slices.Sorted(maps.Keys(e.waiting)) {
		if w := e.waiting[k]; w != "" {
			if !strings.HasPrefix(k, "invalidation ") && k != "edge" {
				w = k + ": " + w
			}
			what = append(what, w)
		}
	}
	e.mu.Unlock()
	if !quiet {
		return
	}
	msg := fmt.Sprintf("still waiting (%s of %s)", now.Sub(e.st.Started).Round(time.Second), e.Settings.Timeout)
	if len(what) > 0 {
		msg += ": " + strings.Join(what, "; ")
	}
	e.emit(report.Event{Kind: report.KindProgress, Message: msg})
}
