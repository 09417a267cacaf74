package settings

// IMAGE, parsed as ECR names images: once, in Validate, into Settings.ImageRef.

import (
	"fmt"
	"regexp"

	"github.com/deploystep/deploystep/deploy/failure"
)

// ImageRef is a parsed ECR image URI.
type ImageRef struct {
	Registry   string // account id
	Region     string
	Repository string
	Tag        string // one of Tag and Digest is set
	Digest     string
}

// RepositoryURI is the image's repository without tag or digest.
func (r ImageRef) RepositoryURI() string {
	return fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s", r.Registry, r.Region, r.Repository)
}

// String is the image as repository:tag, or repository@digest.
func (r ImageRef) String() string {
	s := r.RepositoryURI()
	if r.Digest != "" {
		return s + "@" + r.Digest
	}
	return s + ":" + r.Tag
}

var imageURI = regexp.MustCompile(`^([0-9]+)\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/` +
	`((?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)` +
	`(?::([A-Za-z0-9_][A-Za-z0-9_.-]*)|@(sha256:[a-f0-9]+))$`)

// ParseImage parses <account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag> or ...@sha256:<digest>.
func ParseImage(s string) (ImageRef, error) {
	m := imageURI.FindStringSubmatch(s)
	if len(s) > 1024 || m == nil || len(m[1]) != 12 || len(m[4]) > 128 || (m[5] != "" && len(m[5]) != 71) {
		return ImageRef{}, fmt.Errorf("%q is not an ECR image URI like 123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo:tag or ...@sha256:<64 hex>", failure.Clip(s))
	}
	return ImageRef{Registry: m[1], Region: m[2], Repository: m[3], Tag: m[4], Digest: m[5]}, nil
}
