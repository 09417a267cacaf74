package step

import (
	"context"
	"errors"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/report"
)

// UnknownWindow is how long a call whose outcome is unknown may still land: AWS applies a
// request it received within seconds or not at all. Each unknown outcome (5xx, reset, cut-off)
// that did not land costs this much before the call is sent again.
const UnknownWindow = 8 * time.Second

// ErrMaybeOurs is what a send returns when AWS says a deployment is already active: an earlier
// call of this release may have started it, so it is looked for before the release fails.
type ErrMaybeOurs struct{ Msg string }

// Error is the message the release fails with when the call is not ours.
func (e *ErrMaybeOurs) Error() string { return e.Msg }

// Rejected reports whether err is an answer that says the call was not applied (HTTP 4xx, such
// as throttling or validation), as opposed to no answer or a 5xx, whose outcome is unknown.
func Rejected(err error) bool {
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() >= 400 && re.HTTPStatusCode() < 500
}

// SendOnce makes the call that starts something (a deployment, a task, a revision) exactly once.
// send makes it without the SDK's retries and returns what it started; find looks for one that an
// earlier call of this release started ("" when none). An answer that says nothing was applied
// (4xx) is tried again under the retry rule. An unknown outcome (no answer, a reset, a 5xx, a call
// cut off by the Lambda deadline) may still land: from then on find is asked, and the call is sent
// again only after a find made UnknownWindow after the send shows nothing (a failing find is no
// evidence). sent, kept in the release's state, is when a call whose outcome is unknown was sent.
// lost says it was found, not answered.
func (h *Host) SendOnce(ctx context.Context, what string, sent *time.Time, send, find func(context.Context) (string, error)) (id string, lost bool, err error) {
	err = h.Wait(ctx, what, report.Event{}, h.EveryPoll(), func(ctx context.Context) (bool, error) {
		if !sent.IsZero() {
			readAt := h.Now()
			found, err := find(ctx)
			switch {
			case err != nil:
				return false, err
			case found != "":
				id, lost, *sent = found, true, time.Time{}
				return true, nil
			case readAt.Sub(*sent) < UnknownWindow:
				return false, nil
			}
			*sent = time.Time{} // read after the window, and it never landed: send again
		}
		*sent = h.Now() // until an answer says otherwise
		started, err := send(ctx)
		var maybe *ErrMaybeOurs
		switch {
		case err == nil:
			id, *sent = started, time.Time{}
			return true, nil
		case errors.As(err, &maybe):
			*sent = time.Time{}
			found, ferr := find(ctx)
			if ferr == nil && found == "" {
				return false, failure.New(failure.ErrFailed, "%s", maybe.Msg)
			}
			id, lost = found, true
			return found != "", ferr
		case Rejected(err):
			*sent = time.Time{} // a 4xx answer: nothing was applied
		}
		return false, err
	})
	return id, lost, err
}
