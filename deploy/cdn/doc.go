// Package cdn is the release's CloudFront: what it invalidates (Decide, in the preflight: the
// paths of the cache behaviours that serve the released services and can cache, tags, or the
// list given; cache.go), the invalidations themselves, created once and waited for (Create,
// Wait; invalidate.go), and the proof through the edge that users get the new version (Verify;
// edgeproof.go). Every step is a function of the Host.
package cdn
