package cdn

// The invalidate and wait steps: one CloudFront invalidation per distribution, created once
// (the release's CallerReference makes CloudFront return the same invalidation when it is sent
// again), then waited for until Completed.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/smithy-go"

	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/report"
	"github.com/deploystep/deploystep/deploy/state"
	"github.com/deploystep/deploystep/deploy/step"
)

// Create creates one invalidation per distribution; a call that meets too many
// invalidations in progress is tried again with a backoff that doubles up to 30 s.
func Create(ctx context.Context, h *step.Host, st *state.State) error {
	if p := st.Paused(); len(p) > 0 {
		h.Once("paused: no invalidation", report.Event{Kind: report.KindInvalidation, Message: fmt.Sprintf(
			"no invalidation yet: %s paused at a PAUSE hook with production traffic not moved (WAIT_UNTIL=paused); the step that answers it (HOOK_ANSWER) invalidates", strings.Join(p, ", "))})
		return nil
	}
	for _, dist := range h.Settings.Distributions {
		if _, ok := st.Invalidations[dist]; ok {
			continue
		}
		dec := DecisionFor(h, st, dist)
		if len(dec.Paths) == 0 {
			h.Once("nothing to invalidate "+dist, report.Event{Kind: report.KindInvalidation, Distribution: dist, Message: fmt.Sprintf("no invalidation on %s: %s", dist, dec.Reason)})
			continue
		}
		paths := dec.Paths
		b := step.Backoff{First: h.Settings.Poll, Max: 30 * time.Second}
		err := h.Wait(ctx, "creating the invalidation", report.Event{Distribution: dist}, b, func(ctx context.Context) (bool, error) {
			out, err := h.CloudFront.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{
				DistributionId: aws.String(dist),
				InvalidationBatch: &cftypes.InvalidationBatch{CallerReference: aws.String(st.Run.CallerRef),
					Paths: &cftypes.Paths{Quantity: aws.Int32(int32(len(paths))), Items: paths}},
			})
			var api smithy.APIError
			switch {
			case err == nil && out.Invalidation != nil:
				id := aws.ToString(out.Invalidation.Id)
				st.Invalidations[dist] = id
				h.Emit(report.Event{Kind: report.KindInvalidation, Distribution: dist, Invalidation: id,
					Paths: paths, Message: fmt.Sprintf("invalidation %s of %s is %s (CallerReference %s)", id, strings.Join(paths, " "),
						aws.ToString(out.Invalidation.Status), st.Run.CallerRef)})
				return true, nil
			case errors.As(err, &api) && api.ErrorCode() == "InvalidationBatchAlreadyExists":
				return false, failure.New(failure.ErrConfig, "distribution %s: CallerReference %q was already used with other paths; "+
					"set CALLER_REFERENCE to a new value, or keep INVALIDATION_PATHS and INVALIDATION_TAGS (and, with auto, the distribution's cache behaviours) as they were", dist, st.Run.CallerRef)
			}
			return false, failure.Classify(err, "CreateInvalidation "+dist) // TooManyInvalidationsInProgress: wait and try again
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Wait polls each invalidation until it is Completed (a distribution with nothing
// to invalidate has none).
func Wait(ctx context.Context, h *step.Host, st *state.State) error {
	if len(st.Paused()) > 0 {
		return nil
	}
	done := map[string]bool{}
	return h.Wait(ctx, "reading the invalidation", report.Event{}, h.EveryPoll(), func(ctx context.Context) (bool, error) {
		for _, dist := range h.Settings.Distributions {
			id, made := st.Invalidations[dist]
			if !made { // nothing to invalidate there
				done[dist] = true
			}
			if done[dist] {
				continue
			}
			out, err := h.CloudFront.GetInvalidation(ctx, &cloudfront.GetInvalidationInput{DistributionId: aws.String(dist), Id: aws.String(id)})
			if err := h.Accept(ctx, failure.Classify(err, "GetInvalidation "+id), "reading the invalidation", report.Event{Distribution: dist}); err != nil {
				return false, err
			}
			if out != nil && out.Invalidation != nil {
				h.SetWaiting("invalidation "+dist, fmt.Sprintf("invalidation %s on %s (%s)", id, dist, aws.ToString(out.Invalidation.Status)))
			}
			// CloudFront says Completed; AWS documents no case rule, and emulators say COMPLETED.
			if out != nil && out.Invalidation != nil && strings.EqualFold(aws.ToString(out.Invalidation.Status), "Completed") {
				done[dist] = true
				h.SetWaiting("invalidation "+dist, "")
				h.Emit(report.Event{Kind: report.KindInvalidation, Distribution: dist, Invalidation: id, Message: fmt.Sprintf("invalidation %s completed", id)})
			}
		}
		return len(done) == len(h.Settings.Distributions), nil
	})
}
