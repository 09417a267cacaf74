package awsim_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
)

type edgeAnswer struct {
	status          int
	body, xcache    string
	age, via, cfPop string
}

func getEdge(t *testing.T, url string) edgeAnswer {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return edgeAnswer{resp.StatusCode, string(b), resp.Header.Get("X-Cache"), resp.Header.Get("Age"), resp.Header.Get("Via"), resp.Header.Get("X-Amz-Cf-Pop")}
}

// The edge model: cached per path, an invalidation drops exactly the paths it covers once it
// completes, errors are cached for the error TTL, and the origin serves the version of the
// deployment that takes the traffic.
func TestEdgeModel(t *testing.T) {
	t.Parallel()
	cfg := demo.Config(awsim.Success, time.Second, 500*time.Millisecond)
	cfg.Distributions[0].Warm = []string{"/api/health", "/static/app.js"}
	sim := start(t, cfg)
	base := sim.EdgeURL(demo.Distribution)
	old := getEdge(t, base+"/api/health")
	if old.status != 200 || old.xcache != "Hit from cloudfront" || old.age == "" || !strings.Contains(old.body, `"version":"sha-`) ||
		!strings.HasSuffix(old.via, ".cloudfront.net (CloudFront)") || old.cfPop == "" {
		t.Fatalf("warm path: %+v", old)
	}
	if a := getEdge(t, base+"/api/other"); a.xcache != "Miss from cloudfront" {
		t.Fatalf("cold path: %+v", a)
	}
	if resp, _ := http.Post(base+"/api/health", "application/json", nil); resp == nil || resp.StatusCode != 403 {
		t.Fatalf("POST answered %v", resp)
	}

	// Deploy (the SDK as the client), then invalidate /api/* only.
	ctx := context.Background()
	cf := cloudfront.NewFromConfig(sim.AWSConfig())
	runDeployment(t, sim)
	if a := getEdge(t, base+"/api/health"); !strings.Contains(a.body, `"version":"sha-`) || a.xcache != "Hit from cloudfront" {
		t.Fatalf("before the invalidation the cached copy stays: %+v", a)
	}
	out, err := cf.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{DistributionId: aws.String(demo.Distribution),
		InvalidationBatch: &cftypes.InvalidationBatch{CallerReference: aws.String("edge-model-1"),
			Paths: &cftypes.Paths{Quantity: aws.Int32(1), Items: []string{"/api/*"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if a := getEdge(t, base+"/api/health"); a.xcache != "Hit from cloudfront" {
		t.Fatalf("an InProgress invalidation dropped the copy: %+v", a)
	}
	waitInvalidation(t, cf, *out.Invalidation.Id)
	if a := getEdge(t, base+"/api/health"); a.xcache != "Miss from cloudfront" || !strings.Contains(a.body, `"version":"`+demo.Tag+`"`) {
		t.Fatalf("after the invalidation: %+v", a)
	}
	if a := getEdge(t, base+"/static/app.js"); a.xcache != "Hit from cloudfront" || !strings.Contains(a.body, "build sha-") {
		t.Fatalf("a path the invalidation does not cover: %+v", a)
	}
}

func TestEdgeCachesErrorsForTheErrorTTL(t *testing.T) {
	t.Parallel()
	cfg := demo.Config(demo.Origin502, time.Second, 300*time.Millisecond)
	cfg.Distributions[0].ErrorTTL = awsim.Duration(1500 * time.Millisecond)
	cfg.Distributions[0].CacheTTL, cfg.Distributions[0].Warm = 0, nil // 2xx not cached
	sim := start(t, cfg)
	base := sim.EdgeURL(demo.Distribution)
	if a := getEdge(t, base+"/api/health"); a.status != 200 {
		t.Fatalf("before the release: %+v", a)
	}
	runDeployment(t, sim)
	a := getEdge(t, base+"/api/health")
	b := getEdge(t, base+"/api/health")
	if a.status != 502 || a.xcache != "Error from cloudfront" || b.status != 502 || b.age == "" {
		t.Fatalf("502 then a cached 502: %+v %+v", a, b)
	}
	if hits := sim.EdgeHits(); len(hits) != 3 {
		t.Errorf("edge log %+v", hits)
	}
}

// runDeployment starts a deployment with the SDK and polls until the service has one COMPLETED deployment.
func runDeployment(t *testing.T, sim *awsim.Server) {
	t.Helper()
	ctx := context.Background()
	c := ecs.NewFromConfig(sim.AWSConfig())
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(demo.Cluster), Service: aws.String(demo.Service),
		ForceNewDeployment: true}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(demo.Cluster), Services: []string{demo.Service}})
		if err != nil {
			t.Fatal(err)
		}
		if d := out.Services[0].Deployments; len(d) == 1 && d[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("the deployment did not complete")
}

func waitInvalidation(t *testing.T, cf *cloudfront.Client, id string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		out, err := cf.GetInvalidation(context.Background(), &cloudfront.GetInvalidationInput{DistributionId: aws.String(demo.Distribution), Id: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.Invalidation.Status) == "Completed" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the invalidation did not complete")
}

// Cache behaviours: each path goes to the behaviour its pattern matches and is cached for its
// policy's TTL (Managed-CachingDisabled: never; the bucket's and /api/photos*: hits); the API's
// answers under /api/photos carry their cache tags in the CacheTagConfig header; a legacy
// behaviour caches for its own TTLs.
func TestEdgeBehaviours(t *testing.T) {
	cfg := demo.Config(demo.APICache, time.Second, 300*time.Millisecond)
	cfg.Distributions[0].Behaviors = append(cfg.Distributions[0].Behaviors,
		awsim.BehaviorSpec{PathPattern: "/legacy/*.json", Origin: "Fargate-Endpoint", Legacy: &awsim.LegacyTTL{MinTTL: 0, DefaultTTL: 60, MaxTTL: 120}})
	sim := start(t, cfg)
	base := sim.EdgeURL(demo.Distribution)
	for _, c := range []struct{ path, first, second string }{
		{"/api/health", "Miss from cloudfront", "Miss from cloudfront"},
		{"/static/app.js", "Hit from cloudfront", "Hit from cloudfront"},
		{"/api/photos/42", "Hit from cloudfront", "Hit from cloudfront"},
		{"/api/albums", "Miss from cloudfront", "Miss from cloudfront"},
		{"/legacy/a/b.json", "Miss from cloudfront", "Hit from cloudfront"},
		{"/legacy/a/b.txt", "Miss from cloudfront", "Miss from cloudfront"},
	} {
		a, b := getEdge(t, base+c.path), getEdge(t, base+c.path)
		if a.xcache != c.first || b.xcache != c.second {
			t.Errorf("%s: %s then %s, want %s then %s", c.path, a.xcache, b.xcache, c.first, c.second)
		}
	}
	resp, err := http.Get(base + "/api/photos")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get(demo.CacheTagHeader); got != "photos, api" {
		t.Errorf("Cache-Tag = %q", got)
	}
	origins := map[string]string{}
	for _, o := range sim.EdgeObjects(demo.Distribution) {
		origins[o.Path] = o.Origin
	}
	if origins["/static/app.js"] != "S3-Website" || origins["/api/photos/42"] != "Fargate-Endpoint" || origins["/api/health"] != "" {
		t.Errorf("edge objects by origin: %v", origins)
	}
}
