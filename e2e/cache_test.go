package e2e_test

// What a release invalidates (#24), end to end: the binary against awsim's distributions (the
// lab's infra.yaml, and one whose API caches /api/photos*), its edge caching per behaviour and
// TTL, and its Elastic Load Balancing; in the command mode, the dry run, JSON and the Lambda mode.

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
)

// invalidated is the paths of the demo distribution's CreateInvalidation calls that made one.
func invalidated(sim *awsim.Server) []string {
	var out []string
	for _, c := range sim.Calls() {
		if c.Service == "CloudFront" && c.Op == "CreateInvalidation" && c.Error == "" {
			out = append(out, c.Params["paths"])
		}
	}
	return out
}

// staticFresh says whether every S3 object the world started with is still cached and fresh
// (the release evicted none of them).
func staticFresh(t *testing.T, sim *awsim.Server) {
	t.Helper()
	fresh := map[string]bool{}
	for _, o := range sim.EdgeObjects(demo.Distribution) {
		fresh[o.Path] = o.Fresh && o.Origin == "S3-Website"
	}
	for _, p := range demo.StaticAssets {
		if !fresh[p] {
			t.Errorf("the release evicted %s from the edge (objects: %+v)", p, sim.EdgeObjects(demo.Distribution))
		}
	}
}

func edgeURLs(sim *awsim.Server, paths ...string) string {
	var out []string
	for _, p := range paths {
		out = append(out, sim.EdgeURL(demo.Distribution)+p)
	}
	return strings.Join(out, ",")
}

// The lab's own stack: the API's behaviour uses Managed-CachingDisabled and /static/* is the
// bucket's, so there is nothing to invalidate: no invalidation, no wait, the static site stays
// cached, and the edge serves the new version.
func TestCacheAutoLabInvalidatesNothing(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(demo.LabCache, 500*time.Millisecond))
	r := runBin(t, env(sim, "VERIFY_URL="+edgeURLs(sim, "/api/health")))
	wantOutput(t, r, 0, "distribution E2DEMO0DIST0AB: no invalidation (auto): nothing the release serves can be cached: "+
		"the default behaviour (*) → api cannot cache (Managed-CachingDisabled, max TTL 0); behaviour /static/* goes to an S3 origin (S3-Website)",
		"no invalidation on E2DEMO0DIST0AB", "nothing to invalidate, the edge serves version "+demo.Tag,
		"invalidation:  E2DEMO0DIST0AB none (auto)")
	wantEffects(t, sim, 1, 0, r)
	if n := sim.CountCalls("CloudFront", "GetInvalidation"); n != 0 {
		t.Errorf("%d GetInvalidation calls with no invalidation", n)
	}
	staticFresh(t, sim)
	if strings.Contains(r.Stdout, "] wait ") {
		t.Errorf("a wait step with nothing to wait for:\n%s", r.Stdout)
	}

	// JSON: the decision in the summary, its paths empty.
	sim2 := startSim(t, world(demo.LabCache, 500*time.Millisecond))
	j := runBin(t, env(sim2, "OUTPUT=json"))
	wantOutput(t, j, 0, `"invalidationDecisions":{"E2DEMO0DIST0AB":{"mode":"auto","paths":[],"reason":"nothing the release serves can be cached`)

	// An explicit list keeps working as before: /* is sent.
	sim3 := startSim(t, world(demo.LabCache, 500*time.Millisecond))
	r = runBin(t, env(sim3, "INVALIDATION_PATHS=/*"))
	wantOutput(t, r, 0, "of /* is InProgress", "invalidation:  E2DEMO0DIST0AB I")
	if got := invalidated(sim3); len(got) != 1 || got[0] != "/*" {
		t.Errorf("INVALIDATION_PATHS=/* sent %v", got)
	}
}

// An API that caches /api/photos*: only that path is invalidated; the bucket's objects stay.
func TestCacheAutoInvalidatesTheCachedAPIPaths(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(demo.APICache, 500*time.Millisecond))
	r := runBin(t, env(sim, "VERIFY_URL="+edgeURLs(sim, "/api/health", "/api/photos", "/api/photos/42")))
	wantOutput(t, r, 0, "distribution E2DEMO0DIST0AB: invalidating /api/photos* (auto): the behaviours that serve the release and can cache: "+
		"behaviour /api/photos* → api's load balancer (tsa-gallery-api-photos, max TTL 86400)",
		"of /api/photos* is InProgress", "verified: "+edgeURLs(sim, "/api/photos/42")+" served 200 with version "+demo.Tag)
	wantEffects(t, sim, 1, 1, r)
	if got := invalidated(sim); len(got) != 1 || got[0] != "/api/photos*" {
		t.Errorf("invalidated %v, want [/api/photos*]", got)
	}
	staticFresh(t, sim)
	// The reads auto made: the configuration, the custom policy (the managed ones by id), the chain
	// from the service's target group to its load balancer; once each.
	for op, want := range map[string]int{"CloudFront.GetDistributionConfig": 1, "CloudFront.GetCachePolicy": 1,
		"ELB.DescribeTargetGroups": 1, "ELB.DescribeLoadBalancers": 1} {
		svc, name, _ := strings.Cut(op, ".")
		if n := sim.CountCalls(svc, name); n != want {
			t.Errorf("%s called %d times, want %d", op, n, want)
		}
	}

	// The same behaviour behind a VPC origin to the service's load balancer: GetVpcOrigin tells.
	cfg := world(demo.APICache, 500*time.Millisecond)
	d := &cfg.Distributions[0]
	d.Origins = append(d.Origins, awsim.OriginSpec{ID: "API-VPC", Service: demo.Cluster + "/" + demo.Service, VPC: true})
	d.Behaviors[2].Origin = "API-VPC"
	vsim := startSim(t, cfg)
	r = runBin(t, env(vsim, "VERIFY_URL="+edgeURLs(vsim, "/api/photos")))
	wantOutput(t, r, 0, "invalidating /api/photos* (auto)", "behaviour /api/photos* → api's load balancer")
	if n := vsim.CountCalls("CloudFront", "GetVpcOrigin"); n != 1 {
		t.Errorf("GetVpcOrigin called %d times", n)
	}
}

// Cache tags: #photos is invalidated, the tagged objects go, the rest stay; a distribution
// without CacheTagConfig ends the run before anything changes.
func TestCacheTags(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(demo.APICache, 500*time.Millisecond))
	r := runBin(t, env(sim, "INVALIDATION_TAGS=#photos", "VERIFY_URL="+edgeURLs(sim, "/api/photos", "/api/photos/42")))
	wantOutput(t, r, 0, "invalidating #photos (tags): INVALIDATION_TAGS, tagged by the origin in Cache-Tag", "of #photos is InProgress",
		"invalidation:  E2DEMO0DIST0AB I")
	if got := invalidated(sim); len(got) != 1 || got[0] != "#photos" {
		t.Errorf("invalidated %v, want [#photos]", got)
	}
	staticFresh(t, sim)

	// A tag the origin does not put on /api/photos: the edge proof fails and says what served it.
	sim2 := startSim(t, world(demo.APICache, 500*time.Millisecond))
	r = runBin(t, env(sim2, "INVALIDATION_TAGS=albums", "VERIFY_URL="+edgeURLs(sim2, "/api/photos"), "VERIFY_TIMEOUT=2s"))
	wantOutput(t, r, 1, "X-Cache: Hit from cloudfront", "on E2DEMO0DIST0AB, tags invalidated #albums, and /api/photos is served by behaviour /api/photos* "+
		"(origin Fargate-Endpoint, cache policy tsa-gallery-api-photos, max TTL 86400): does its origin tag /api/photos with #albums in Cache-Tag?")

	// The demo distribution has no CacheTagConfig: exit 2, nothing registered, deployed or invalidated.
	plain := startSim(t, world(awsim.Success, 500*time.Millisecond))
	r = runBin(t, env(plain, "INVALIDATION_TAGS=photos"))
	wantOutput(t, r, 2, "distribution E2DEMO0DIST0AB has no CacheTagConfig, so it keeps no cache tags and INVALIDATION_TAGS would invalidate nothing: add CacheTagConfig")
	wantEffects(t, plain, 0, 0, r)
	if n := revisions(plain); n != 0 {
		t.Errorf("%d revisions registered before the preflight failed", n)
	}

	// Both, or a bad tag: settings errors, exit 2, before any call.
	r = runBin(t, env(plain, "INVALIDATION_TAGS=photos", "INVALIDATION_PATHS=/api/*"))
	wantOutput(t, r, 2, "INVALIDATION_PATHS and INVALIDATION_TAGS are both set")
	r = runBin(t, env(plain, "INVALIDATION_TAGS=photos*"))
	wantOutput(t, r, 2, `INVALIDATION_TAGS: tag "photos*" has a *: tag invalidations take no wildcard`)
	r = runBin(t, env(plain, "INVALIDATION_PATHS=auto,/api/*"))
	wantOutput(t, r, 2, "auto stands alone")
}

// A read auto needs that IAM refuses ends the run before anything changes, naming the statement to
// add or INVALIDATION_PATHS=/* (issue #32: no denial is downgraded, not even to the safe /*).
func TestCacheAutoReadDenied(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		kind, action, resource string
	}{
		{demo.LabCache, "cloudfront:GetDistributionConfig", "arn:aws:cloudfront::123456789012:distribution/" + demo.Distribution},
		{demo.APICache, "elasticloadbalancing:DescribeTargetGroups", "*"},
		{demo.APICache, "elasticloadbalancing:DescribeLoadBalancers", "*"},
		{demo.APICache, "cloudfront:GetCachePolicy", "arn:aws:cloudfront::123456789012:cache-policy/" + demo.PhotosPolicy.ID},
	} {
		t.Run(c.action, func(t *testing.T) {
			t.Parallel()
			cfg := world(c.kind, 500*time.Millisecond)
			cfg.Policies = []json.RawMessage{allowAllBut(c.action)}
			sim := startSim(t, cfg)
			r := runBin(t, env(sim, "VERIFY_URL="+edgeURLs(sim, "/api/health")))
			wantOutput(t, r, 2, "INVALIDATION_PATHS=auto reads the distribution's configuration and the services' load balancers to decide what to invalidate",
				"may not "+c.action+" on "+c.resource, `{"Effect": "Allow", "Action": "`+c.action+`", "Resource": "`+c.resource+`"}`,
				"or set INVALIDATION_PATHS=/* (or the paths), which reads nothing")
			wantEffects(t, sim, 0, 0, r)
			if n := revisions(sim); n != 0 {
				t.Errorf("%d revisions registered before the preflight failed", n)
			}
		})
	}
}

// What auto cannot tell gives /*, said with why: never fewer paths than could be stale.
func TestCacheAutoFallsBackToEverything(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		cfg  func() awsim.Config
		why  string
	}{
		{"service without a load balancer", func() awsim.Config {
			c := world(demo.APICache, 500*time.Millisecond)
			c.Clusters[0].Services[0].NoLoadBalancer = true
			return c
		}, "/* because service api has no load balancer, so no origin can be told to be its, and behaviour /api/photos* can cache"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, c.cfg())
			r := runBin(t, env(sim, "VERIFY_URL="+edgeURLs(sim, "/api/health")))
			wantOutput(t, r, 0, "invalidating /* (auto): "+c.why, "of /* is InProgress")
			wantEffects(t, sim, 1, 1, r)
		})
	}
}

// A behaviour auto counts as not the release's (another load balancer's domain) that does
// serve it through a proxy: the edge proof catches the stale copy and names the behaviour.
func TestCacheAutoEdgeProofNamesTheBehaviour(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(demo.ProxyOrigin, 500*time.Millisecond))
	r := runBin(t, env(sim, "VERIFY_URL="+edgeURLs(sim, "/api/health", "/api/photos"), "VERIFY_TIMEOUT=2s"))
	wantOutput(t, r, 1, "behaviour /api/photos* goes to another load balancer, photos-proxy-1234567890.us-east-1.elb.amazonaws.com, not the release's",
		"edge verification: not status 2xx with version "+demo.Tag,
		"the edge serves a cached copy: on E2DEMO0DIST0AB, auto invalidated nothing, and /api/photos is served by behaviour /api/photos* "+
			"(origin Photos-Proxy, cache policy tsa-gallery-api-photos, max TTL 86400), which auto did not count as the release's: if it is, set INVALIDATION_PATHS to include /api/photos*")
	wantEffects(t, sim, 1, 0, r)
}

// The dry run reads everything auto needs and says the decision; it changes nothing.
func TestCacheDryRunSaysTheDecision(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(demo.APICache, 500*time.Millisecond))
	r := runBin(t, env(sim), "-dry-run")
	wantOutput(t, r, 0, "distribution E2DEMO0DIST0AB: invalidating /api/photos* (auto)", "/api/photos* on E2DEMO0DIST0AB (auto), CallerReference ")
	wantEffects(t, sim, 0, 0, r)
	lab := startSim(t, world(demo.LabCache, 500*time.Millisecond))
	r = runBin(t, env(lab), "-dry-run")
	wantOutput(t, r, 0, "none on E2DEMO0DIST0AB (auto): nothing the release serves can be cached")
	wantEffects(t, lab, 0, 0, r)
}

// The Lambda mode: the decision is made in the first invocation and carried in the token;
// InvalidationIds is empty when nothing was invalidated, and the summary says why.
func TestCacheLambda(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		kind, ids, summary string
		invalidations      int
	}{
		{demo.LabCache, "", "no invalidation on E2DEMO0DIST0AB: nothing the release serves can be cached", 0},
		{demo.APICache, demo.Distribution + "=I", "invalidations E2DEMO0DIST0AB=I", 1},
	} {
		t.Run(c.kind, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, demo.Config(c.kind, 6*time.Second, 2*time.Second))
			d, logs := startRIE(t, sim, 4)
			x, err := d.Run(context.Background(), jobInput(userParameters(map[string]any{"VERIFY_URL": edgeURLs(sim, "/api/health")})))
			if err != nil {
				t.Fatalf("%v\n%s\n%s", err, results(x), logs)
			}
			final, ok := x.Final()
			if !ok || !final.Success || len(x.Invocations) < 2 {
				t.Fatalf("no final success after several invocations:\n%s\n%s", results(x), logs)
			}
			ids, present := final.OutputVariables["InvalidationIds"]
			if !present || !strings.HasPrefix(ids, c.ids) || c.ids == "" && ids != "" {
				t.Errorf("InvalidationIds = %q (present %v), want %q...", ids, present, c.ids)
			}
			if !strings.Contains(final.Summary, c.summary) {
				t.Errorf("summary %q lacks %q", final.Summary, c.summary)
			}
			wantEffects(t, sim, 1, c.invalidations, logs)
			if n := sim.CountCalls("CloudFront", "GetDistributionConfig"); n != 1 {
				t.Errorf("GetDistributionConfig called %d times over %d invocations: the decision is made once", n, len(x.Invocations))
			}
			staticFresh(t, sim)
		})
	}
}

// The summary's decision as JSON is the documented shape.
func TestCacheJSONDecision(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(demo.APICache, 500*time.Millisecond))
	r := runBin(t, env(sim, "OUTPUT=json"))
	wantOutput(t, r, 0)
	var sum struct {
		Summary struct {
			Invalidations         map[string]string
			InvalidationDecisions map[string]struct {
				Mode   string
				Paths  []string
				Reason string
			}
		}
	}
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatalf("%v: %s", err, lines[len(lines)-1])
	}
	d := sum.Summary.InvalidationDecisions[demo.Distribution]
	if d.Mode != "auto" || strings.Join(d.Paths, " ") != "/api/photos*" || !strings.Contains(d.Reason, "tsa-gallery-api-photos") ||
		!strings.HasPrefix(sum.Summary.Invalidations[demo.Distribution], "I") {
		t.Errorf("summary %+v", sum.Summary)
	}
}
