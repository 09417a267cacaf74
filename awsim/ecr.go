package awsim

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ecrWorld holds repositories and their images. Every method runs under Server.mu.
type ecrWorld struct {
	s     *Server
	repos map[string][]ecrImage
}

type ecrImage struct {
	tags   []string
	digest string
	pushed time.Time
}

func newECR(s *Server, specs []RepositorySpec) *ecrWorld {
	w := &ecrWorld{s: s, repos: map[string][]ecrImage{}}
	now := time.Now()
	for _, r := range specs {
		imgs := []ecrImage{}
		for i, im := range r.Images {
			d := im.Digest
			if d == "" {
				d = fakeDigest(r.Name + ":" + strings.Join(im.Tags, ","))
			}
			imgs = append(imgs, ecrImage{tags: im.Tags, digest: d, pushed: now.Add(-time.Duration(len(r.Images)-i) * time.Minute)})
		}
		w.repos[r.Name] = imgs
	}
	return w
}

func fakeDigest(seed string) string {
	return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(seed)))
}

// digestOf resolves "repo:tag" to the digest of that image; salt makes a different, stable
// digest (the image that ran before the rollout). Unknown images get a stable made-up digest.
func (w *ecrWorld) digestOf(image, salt string) string {
	if image == "" {
		return ""
	}
	if salt != "" {
		return fakeDigest(salt + ":" + image)
	}
	repo, tag, _ := strings.Cut(image, ":")
	for _, im := range w.repos[repo] {
		for _, t := range im.tags {
			if t == tag {
				return im.digest
			}
		}
	}
	return fakeDigest("unknown:" + image)
}

// movingTag is "repo:latest" when the repository has a latest tag (the lab's task definition
// names it, and every build moves it), else image itself.
func (w *ecrWorld) movingTag(image string) string {
	repo, _, _ := strings.Cut(image, ":")
	for _, im := range w.repos[repo] {
		if slices.Contains(im.tags, "latest") {
			return repo + ":latest"
		}
	}
	return image
}

// imageURI is the full registry URI of "repo:tag".
func (w *ecrWorld) imageURI(image string) string {
	if image == "" {
		image = "app:latest"
	}
	return fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s", w.s.cfg.Account, w.s.cfg.Region, image)
}

func (w *ecrWorld) handle(op string, body []byte, call *Call) (any, *apiError) {
	if op != "DescribeImages" {
		return nil, errf(400, "UnknownOperationException", "awsim does not implement ECR %s", op)
	}
	var in struct {
		RegistryId, RepositoryName string
		ImageIds                   []struct{ ImageTag, ImageDigest string }
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	registry := in.RegistryId
	if registry == "" {
		registry = w.s.cfg.Account
	}
	call.Params = map[string]string{"repositoryName": in.RepositoryName}
	imgs, ok := w.repos[in.RepositoryName]
	if !ok || registry != w.s.cfg.Account {
		return nil, errf(400, "RepositoryNotFoundException",
			"The repository with name '%s' does not exist in the registry with id '%s'", in.RepositoryName, registry)
	}
	details := []any{}
	detail := func(im ecrImage) map[string]any {
		return map[string]any{"registryId": registry, "repositoryName": in.RepositoryName,
			"imageDigest": im.digest, "imageTags": im.tags, "imagePushedAt": epoch(im.pushed),
			"imageSizeInBytes": 52428800, "imageManifestMediaType": "application/vnd.docker.distribution.manifest.v2+json"}
	}
	if len(in.ImageIds) == 0 {
		for _, im := range imgs {
			details = append(details, detail(im))
		}
		return map[string]any{"imageDetails": details}, nil
	}
	for _, id := range in.ImageIds {
		call.Params["imageTag"], call.Params["imageDigest"] = id.ImageTag, id.ImageDigest
		found := false
		for _, im := range imgs {
			match := id.ImageDigest != "" && im.digest == id.ImageDigest
			for _, t := range im.tags {
				match = match || (id.ImageTag != "" && t == id.ImageTag)
			}
			if match {
				details = append(details, detail(im))
				found = true
				break
			}
		}
		if !found {
			dg, tg := "null", "null"
			if id.ImageDigest != "" {
				dg = "'" + id.ImageDigest + "'"
			}
			if id.ImageTag != "" {
				tg = "'" + id.ImageTag + "'"
			}
			return nil, errf(400, "ImageNotFoundException",
				"The image with imageId {imageDigest:%s, imageTag:%s} does not exist within the repository with name '%s' in the registry with id '%s'",
				dg, tg, in.RepositoryName, registry)
		}
	}
	return map[string]any{"imageDetails": details}, nil
}

// versionOf is what an application built from the image with this digest reports: the image's
// tag other than "latest", else a short form of the digest.
func (w *ecrWorld) versionOf(digest string) string {
	for _, imgs := range w.repos {
		for _, im := range imgs {
			if im.digest != digest {
				continue
			}
			for _, t := range im.tags {
				if t != "latest" {
					return t
				}
			}
		}
	}
	if len(digest) >= 19 {
		return "sha-" + digest[7:19]
	}
	return "unknown"
}
