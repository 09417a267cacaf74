package deploy

// The image step: IMAGE, parsed as ECR names images, resolved to its digest before anything
// changes; the new tasks must run that digest.

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/report"
	"github.com/deploystep/deploystep/deploy/settings"
	"github.com/deploystep/deploystep/deploy/state"
)

// checkImage is the image step: IMAGE's digest, read from ECR before anything changes.
func (e *Engine) checkImage(ctx context.Context, st *state.State) error {
	return e.Attempt(ctx, "checking the image", func(ctx context.Context) error {
		digest, err := e.resolveDigest(ctx)
		if err == nil {
			st.Digest = digest
			e.Emit(report.Event{Kind: report.KindImage, Message: fmt.Sprintf("%s is %s", e.Settings.Image, digest)})
		}
		return err
	})
}

// resolveDigest asks ECR once for the digest of IMAGE.
func (e *Engine) resolveDigest(ctx context.Context) (string, error) {
	ref := e.Settings.ImageRef
	if ref.Repository == "" {
		return "", failure.New(failure.ErrConfig, "IMAGE %q was not parsed (Settings.Validate parses it)", e.Settings.Image)
	}
	id := ecrtypes.ImageIdentifier{}
	if ref.Digest != "" {
		id.ImageDigest = aws.String(ref.Digest)
	} else {
		id.ImageTag = aws.String(ref.Tag)
	}
	out, err := e.ECR.DescribeImages(ctx, &ecr.DescribeImagesInput{RegistryId: aws.String(ref.Registry),
		RepositoryName: aws.String(ref.Repository), ImageIds: []ecrtypes.ImageIdentifier{id}})
	if err != nil {
		err = failure.Classify(err, "image "+ref.String())
		if failure.IsFinal(err) {
			err = failure.New(failure.ErrConfig, "%v%s", err, e.imageHint(ref, err))
		}
		return "", err
	}
	if len(out.ImageDetails) == 0 || aws.ToString(out.ImageDetails[0].ImageDigest) == "" {
		return "", failure.New(failure.ErrConfig, "image %s: ECR returned no digest", ref)
	}
	return aws.ToString(out.ImageDetails[0].ImageDigest), nil
}

// imageHint says where an image that ECR refuses was looked for, and the likely cause: a
// repository or tag that is not there, or an image in another account than the credentials'.
func (e *Engine) imageHint(ref settings.ImageRef, err error) string {
	var (
		rnf *ecrtypes.RepositoryNotFoundException
		inf *ecrtypes.ImageNotFoundException
	)
	at := fmt.Sprintf("registry %s in %s", ref.Registry, ref.Region)
	other := ""
	switch {
	case e.Caller().Account != "" && ref.Registry != e.Caller().Account:
		other = fmt.Sprintf("; IMAGE is account %s's, the credentials are account %s's: push to this account's registry, "+
			"or let this account read the repository (a repository policy allowing ecr:DescribeImages, and the task execution role ecr:BatchGetImage)",
			ref.Registry, e.Caller().Account)
	case e.Caller().Region != "" && ref.Region != e.Caller().Region:
		other = fmt.Sprintf("; IMAGE is in %s, the run acts in %s: is the image pushed there?", ref.Region, e.Caller().Region)
	}
	switch {
	case errors.As(err, &rnf):
		return fmt.Sprintf(" (looked in %s: no repository %s there%s)", at, ref.Repository, other)
	case errors.As(err, &inf):
		what := "tag " + ref.Tag
		if ref.Digest != "" {
			what = "digest " + ref.Digest
		}
		return fmt.Sprintf(" (looked in %s, repository %s: no image with %s; was it pushed, or expired by a lifecycle policy?%s)", at, ref.Repository, what, other)
	}
	return other
}
