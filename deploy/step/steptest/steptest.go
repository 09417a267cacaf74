// Package steptest holds what the step packages' unit tests share: a Clock that only moves when
// a run sleeps on it, a Reporter that keeps the events, and the AWS errors the retry rule and
// send-once tell apart, built as the SDK builds them from an HTTP answer (or its absence).
package steptest

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/deploystep/deploystep/deploy/report"
)

// Clock starts at a fixed time and moves only when a run sleeps on it; Slept lists each sleep.
type Clock struct {
	mu    sync.Mutex
	now   time.Time
	Slept []time.Duration
}

// NewClock is a Clock at 2026-12-07 09:30 UTC.
func NewClock() *Clock { return &Clock{now: time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC)} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock by d, as a call that takes d would.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Sleep moves the clock by d (at once), or returns ctx's error when ctx has ended.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Slept = append(c.Slept, d)
	if d > 0 {
		c.now = c.now.Add(d)
	}
	return nil
}

// Events is a Reporter that keeps what it is told.
type Events struct {
	mu  sync.Mutex
	All []report.Event
}

// Report keeps ev.
func (e *Events) Report(ev report.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.All = append(e.All, ev)
}

// Messages is the messages of the events of kind (every kind: "").
func (e *Events) Messages(kind string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.All {
		if kind == "" || ev.Kind == kind {
			out = append(out, ev.Message)
		}
	}
	return out
}

// APIError is the error the SDK returns for an HTTP answer with status and an AWS error code
// (operation names the call).
func APIError(operation string, status int, code, message string) error {
	return Answer(operation, status, &smithy.GenericAPIError{Code: code, Message: message})
}

// Answer is err (an SDK type, like *ecstypes.ServiceNotFoundException) as the SDK returns it for
// an HTTP answer with status.
func Answer(operation string, status int, err error) error {
	return &smithy.OperationError{ServiceID: "ECS", OperationName: operation, Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err}}}
}

// NoAnswer is the error the SDK returns when the connection is reset before an answer: the
// call's outcome is unknown.
func NoAnswer(operation string) error {
	return &smithy.OperationError{ServiceID: "ECS", OperationName: operation, Err: &smithyhttp.RequestSendError{
		Err: errors.New("read tcp 127.0.0.1:52514->127.0.0.1:4566: read: connection reset by peer")}}
}
