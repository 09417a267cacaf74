package step_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/settings"
	"github.com/deploystep/deploystep/deploy/step"
	"github.com/deploystep/deploystep/deploy/step/steptest"
)

// answer is one scripted answer: the id a call returns, or its error.
type answer struct {
	id  string
	err error
}

func ok(id string) answer    { return answer{id: id} }
func fails(err error) answer { return answer{err: err} }
func lost(op string) answer  { return answer{err: steptest.NoAnswer(op)} }
func status(n int, code string) answer {
	return answer{err: steptest.APIError("UpdateService", n, code, "scripted")}
}

// script answers calls in order; calls past its end get its last answer. Each call takes a
// second of the clock, and when it was made is kept.
type script struct {
	clock   *steptest.Clock
	answers []answer
	at      []time.Time
	stop    context.CancelFunc // a run that calls 50 times is stuck: ended
}

func (s *script) call(context.Context) (string, error) {
	s.at = append(s.at, s.clock.Now())
	if len(s.at) >= 50 {
		s.stop()
	}
	a := s.answers[min(len(s.at), len(s.answers))-1]
	s.clock.Advance(time.Second)
	if a.err != nil {
		return "", failure.Classify(a.err, "UpdateService tsa-gallery-api")
	}
	return a.id, nil
}

func host(clock *steptest.Clock) (*step.Host, *steptest.Events) {
	events := &steptest.Events{}
	return &step.Host{Settings: settings.Settings{Poll: 2 * time.Second}, Clock: clock, Report: events}, events
}

// SendOnce sends the call that starts a deployment once: a lost answer is looked for, not sent
// again, until a look made UnknownWindow after the send shows it never landed.
func TestSendOnce(t *testing.T) {
	maybe := &step.ErrMaybeOurs{Msg: "the answer names a deployment this release cannot tell is its own"}
	cases := []struct {
		name        string
		sentBefore  time.Duration // a call of an earlier invocation whose outcome is unknown (0: none)
		send, find  []answer
		want        string
		wantLost    bool
		sends       int
		wantErr     error
		errContains string
	}{
		{name: "answered", send: []answer{ok("ecs-svc/7305418237069157375")}, want: "ecs-svc/7305418237069157375", sends: 1},
		{name: "answer lost, it landed", send: []answer{lost("UpdateService")}, find: []answer{ok(""), ok(""), ok("ecs-svc/7305418237069157375")},
			want: "ecs-svc/7305418237069157375", wantLost: true, sends: 1},
		{name: "5xx: unknown, it landed", send: []answer{status(503, "ServiceUnavailableException")}, find: []answer{ok("ecs-svc/7305418237069157375")},
			want: "ecs-svc/7305418237069157375", wantLost: true, sends: 1},
		{name: "answer lost, it never landed: sent again after the window", send: []answer{lost("UpdateService"), ok("ecs-svc/4478193215569034121")},
			find: []answer{ok("")}, want: "ecs-svc/4478193215569034121", sends: 2},
		{name: "a failing look is no evidence", send: []answer{lost("UpdateService"), ok("ecs-svc/4478193215569034121")},
			find: []answer{lost("DescribeServices"), lost("DescribeServices"), lost("DescribeServices"), lost("DescribeServices"), lost("DescribeServices"), lost("DescribeServices"), ok("")},
			want: "ecs-svc/4478193215569034121", sends: 2},
		{name: "throttled (4xx): nothing applied, sent again", send: []answer{status(400, "ThrottlingException"), ok("ecs-svc/7305418237069157375")},
			want: "ecs-svc/7305418237069157375", sends: 2},
		{name: "a final error is not sent again", send: []answer{status(400, "AccessDeniedException")}, sends: 1, wantErr: failure.ErrAccessDenied},
		{name: "an answer that may be ours, and is", send: []answer{fails(maybe)}, find: []answer{ok("ecs-svc/7305418237069157375")},
			want: "ecs-svc/7305418237069157375", wantLost: true, sends: 1},
		{name: "an answer that may be ours, and is not", send: []answer{fails(maybe)}, find: []answer{ok("")}, sends: 1,
			wantErr: failure.ErrFailed, errContains: maybe.Msg},
		{name: "a re-run finds what the run before sent", sentBefore: 3 * time.Second, send: []answer{ok("ecs-svc/1")},
			find: []answer{ok("ecs-svc/7305418237069157375")}, want: "ecs-svc/7305418237069157375", wantLost: true, sends: 0},
		{name: "a re-run within the window waits for it", sentBefore: 3 * time.Second, send: []answer{ok("ecs-svc/1")},
			find: []answer{ok(""), ok(""), ok("ecs-svc/7305418237069157375")}, want: "ecs-svc/7305418237069157375", wantLost: true, sends: 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := steptest.NewClock()
			h, _ := host(clock)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			send := &script{clock: clock, answers: c.send, stop: cancel}
			find := &script{clock: clock, answers: append(c.find, ok(""))[:max(len(c.find), 1)], stop: cancel}
			var sent time.Time
			if c.sentBefore > 0 {
				sent = clock.Now().Add(-c.sentBefore)
			}
			id, lostAnswer, err := h.SendOnce(ctx, "starting the deployment of tsa-gallery-api", &sent, send.call, find.call)
			if len(send.at) != c.sends {
				t.Fatalf("sent %d times, want %d (at %v)", len(send.at), c.sends, send.at)
			}
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) || !strings.Contains(fmt.Sprint(err), c.errContains) {
					t.Fatalf("err = %v, want %v with %q", err, c.wantErr, c.errContains)
				}
				return
			}
			if err != nil || id != c.want || lostAnswer != c.wantLost {
				t.Fatalf("SendOnce = %q, lost %v, %v; want %q, lost %v", id, lostAnswer, err, c.want, c.wantLost)
			}
			if !sent.IsZero() {
				t.Errorf("sent left at %v after the outcome is known", sent)
			}
			if c.sends == 2 {
				// Sent again only after a look that succeeded, made UnknownWindow after the first.
				var lastLook time.Time
				for _, at := range find.at {
					if at.Before(send.at[1]) {
						lastLook = at
					}
				}
				if gap := lastLook.Sub(send.at[0]); len(c.find) > 0 && gap < step.UnknownWindow {
					t.Errorf("sent again after a look %v after the first send; the window is %v", gap, step.UnknownWindow)
				}
				if n := len(c.find); n > 1 && len(find.at) < n {
					t.Errorf("sent again after %d looks; the script's %d looks failed or found nothing first", len(find.at), n)
				}
			}
		})
	}
}
