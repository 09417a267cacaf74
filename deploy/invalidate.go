package deploy

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
)

// createInvalidations creates one invalidation per distribution. The CallerReference is the
// release's (Identity), so sending it again returns the same invalidation instead of making a
// second one; TooManyInvalidationsInProgress is waited out.
func (e *Engine) createInvalidations(ctx context.Context, st *State) error {
	for _, dist := range e.Settings.Distributions {
		if _, ok := st.Invalidations[dist]; ok {
			continue
		}
		backoff := e.Settings.Poll
		for {
			out, err := e.CloudFront.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{
				DistributionId: aws.String(dist),
				InvalidationBatch: &cftypes.InvalidationBatch{CallerReference: aws.String(st.Run.CallerRef),
					Paths: &cftypes.Paths{Quantity: aws.Int32(int32(len(e.Settings.Paths))), Items: e.Settings.Paths}},
			})
			if err == nil && out.Invalidation != nil {
				id := aws.ToString(out.Invalidation.Id)
				st.Invalidations[dist] = id
				e.emit(Event{Kind: KindInvalidation, Distribution: dist, Invalidation: id,
					Message: fmt.Sprintf("invalidation %s of %d path(s) is %s (CallerReference %s)", id, len(e.Settings.Paths),
						aws.ToString(out.Invalidation.Status), st.Run.CallerRef)})
				break
			}
			var tooMany *cftypes.TooManyInvalidationsInProgress
			var api smithy.APIError
			switch {
			case errors.As(err, &tooMany):
				e.emit(Event{Kind: KindWarning, Distribution: dist,
					Message: fmt.Sprintf("too many invalidations in progress; trying again in %v", backoff)})
				if err := sleep(ctx, backoff); err != nil {
					return err
				}
				backoff = min(backoff*2, 30*time.Second)
				continue
			case errors.As(err, &api) && api.ErrorCode() == "InvalidationBatchAlreadyExists":
				return newError(ErrConfig, "distribution %s: CallerReference %q was already used with other paths; "+
					"set CALLER_REFERENCE to a new value or keep INVALIDATION_PATHS as they were", dist, st.Run.CallerRef)
			}
			if err := e.check(ctx, classify(err, "CreateInvalidation "+dist), "creating the invalidation", Event{Distribution: dist}); err != nil {
				return err
			}
			if err := sleep(ctx, e.Settings.Poll); err != nil {
				return err
			}
		}
	}
	return nil
}

// waitInvalidations polls each invalidation until it is Completed.
func (e *Engine) waitInvalidations(ctx context.Context, st *State) error {
	done := map[string]bool{}
	for {
		tick := e.now()
		for _, dist := range e.Settings.Distributions {
			if done[dist] {
				continue
			}
			id := st.Invalidations[dist]
			out, err := e.CloudFront.GetInvalidation(ctx, &cloudfront.GetInvalidationInput{DistributionId: aws.String(dist), Id: aws.String(id)})
			if err != nil {
				if err := e.check(ctx, classify(err, "GetInvalidation "+id), "reading the invalidation", Event{Distribution: dist}); err != nil {
					return err
				}
				continue
			}
			// CloudFront says Completed; AWS documents no case rule, and emulators say COMPLETED.
			if status := aws.ToString(out.Invalidation.Status); strings.EqualFold(status, "Completed") {
				done[dist] = true
				e.emit(Event{Kind: KindInvalidation, Distribution: dist, Invalidation: id, Message: fmt.Sprintf("invalidation %s completed", id)})
			}
		}
		if len(done) == len(e.Settings.Distributions) {
			return nil
		}
		if err := sleep(ctx, e.Settings.Poll-e.now().Sub(tick)); err != nil {
			return err
		}
	}
}
