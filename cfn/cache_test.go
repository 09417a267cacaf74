package cfn_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
	"github.com/deploystep/deploystep/internal/testtool"
)

// TestInfraWhatAReleaseInvalidates holds the stack to what a release of it invalidates: every
// variant passes INVALIDATION_PATHS=auto (the parameter's default) in its deploy path and gives
// the distribution CacheTagConfig Cache-Tag; and the distribution as rendered (its origins, its
// behaviours and their cache policies, translated into awsim's world: the ALB's DNS name is the
// service's load balancer, the bucket an S3 origin) is what the binary decides on: nothing to
// invalidate, because the API's behaviour uses Managed-CachingDisabled and /static/* is the
// bucket's. The release still proves the new version at the edge.
func TestInfraWhatAReleaseInvalidates(t *testing.T) {
	_, vs := renderAll(t)
	for _, v := range vs {
		if got := deployEnv(t, v)["INVALIDATION_PATHS"]; got != "auto" {
			t.Errorf("%s: INVALIDATION_PATHS = %q, want auto", v.Name, got)
		}
		if h := get(v.Doc, "Resources", "CFDistribution", "Properties", "DistributionConfig", "CacheTagConfig", "HeaderName"); h != demo.CacheTagHeader {
			t.Errorf("%s: CacheTagConfig.HeaderName = %v, want %s", v.Name, h, demo.CacheTagHeader)
		}
	}
	dc := get(vs[0].Doc, "Resources", "CFDistribution", "Properties", "DistributionConfig")
	spec := awsim.DistributionSpec{ID: demo.Distribution, InvalidationTime: awsim.Duration(500 * time.Millisecond),
		CacheTagHeader: fmt.Sprint(get(dc, "CacheTagConfig", "HeaderName")), Warm: append([]string{"/api/health"}, demo.StaticAssets...)}
	for _, o := range get(dc, "Origins").([]any) {
		domain := fmt.Sprint(get(o, "DomainName"))
		origin := awsim.OriginSpec{ID: fmt.Sprint(get(o, "Id"))}
		switch {
		case strings.Contains(domain, "APIALB") && strings.Contains(domain, "DNSName"):
			origin.Service = demo.Cluster + "/" + demo.Service
		case get(o, "S3OriginConfig") != nil:
			origin.S3 = true
		default:
			t.Fatalf("an origin this test cannot translate: %v", o)
		}
		spec.Origins = append(spec.Origins, origin)
	}
	behaviour := func(b any) awsim.BehaviorSpec {
		return awsim.BehaviorSpec{PathPattern: fmt.Sprint(get(b, "PathPattern")), Origin: fmt.Sprint(get(b, "TargetOriginId")), CachePolicy: fmt.Sprint(get(b, "CachePolicyId"))}
	}
	def := behaviour(get(dc, "DefaultCacheBehavior"))
	def.PathPattern = ""
	spec.Behaviors = []awsim.BehaviorSpec{def}
	for _, b := range get(dc, "CacheBehaviors").([]any) {
		spec.Behaviors = append(spec.Behaviors, behaviour(b))
	}
	cfg := demo.Config(awsim.Success, time.Second, 500*time.Millisecond)
	cfg.Distributions = []awsim.DistributionSpec{spec}
	sim := testtool.Sim(t, cfg)
	env := append(append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "POLL_INTERVAL=250ms",
		"INVALIDATION_PATHS=" + deployEnv(t, vs[0])["INVALIDATION_PATHS"], "VERIFY_URL=" + sim.EdgeURL(demo.Distribution) + "/api/health"},
		sim.Env()...), demo.Env()...)
	r := testtool.RunBinary(env)
	if r.Code != 0 || !strings.Contains(r.Stdout, "no invalidation (auto): nothing the release serves can be cached: the default behaviour (*) → api cannot cache (Managed-CachingDisabled, max TTL 0); "+
		"behaviour /static/* goes to an S3 origin (S3-Website)") || !strings.Contains(r.Stdout, "the edge serves version "+demo.Tag) {
		t.Fatalf("a release of the stack's distribution:\n%s", r)
	}
	if n := sim.Effects().Invalidations[demo.Distribution]; n != 0 {
		t.Errorf("%d invalidations", n)
	}
	for _, o := range sim.EdgeObjects(demo.Distribution) {
		if o.Origin == "S3-Website" && !o.Fresh {
			t.Errorf("the release evicted %s", o.Path)
		}
	}
}
