package e2e_test

// Edge verification end to end: the binary against the simulator's edge (a caching listener in
// front of the ECS service), in the command mode, JSON output, dry run and the Lambda mode.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
)

func edgeURL(sim *awsim.Server) string { return sim.EdgeURL(demo.Distribution) + "/api/health" }

func TestEdgeServesTheNewVersion(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(awsim.Success, time.Second))
	r := runBin(t, env(sim, "VERIFY_URL="+edgeURL(sim)))
	wantOutput(t, r, 0, "verified: "+edgeURL(sim)+" served 200 with version "+demo.Tag+" (X-Cache: Miss from cloudfront",
		"the edge serves version "+demo.Tag, "edge serves:   "+demo.Tag)
	wantEffects(t, sim, 1, 1, r)
	// Before the invalidation completed the edge served the previous release from its cache; the
	// run read the edge only after it (one read, a miss).
	if hits := sim.EdgeHits(); len(hits) != 1 || hits[0].XCache != "Miss from cloudfront" {
		t.Errorf("edge hits %+v", hits)
	}

	// JSON output carries the version in the summary.
	sim2 := startSim(t, world(awsim.Success, 500*time.Millisecond))
	j := runBin(t, env(sim2, "VERIFY_URL="+edgeURL(sim2), "OUTPUT=json"))
	wantOutput(t, j, 0, `"phase":"verify"`, `"verifiedVersion":"`+demo.Tag+`"`)
}

func TestEdgeFailures(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, scenario string
		extra          []string
		want           []string
	}{
		{"stale edge", demo.StaleEdge, []string{"INVALIDATION_PATHS=/static/*"},
			[]string{"served 200 with version sha-", "X-Cache: Hit from cloudfront, Age: ", "Via: 1.1 ", ".cloudfront.net (CloudFront)",
				"INVALIDATION_PATHS (/static/*) does not cover /api/health"}},
		{"origin 502", demo.Origin502, nil,
			[]string{"served 502 with no version seen (X-Cache: Error from cloudfront", "the origin behind the edge answered 502"}},
		{"expected version from VERIFY_EXPECT", awsim.Success, []string{"VERIFY_EXPECT=v2.0.0"},
			[]string{"not status 2xx with version v2.0.0", "served 200 with version " + demo.Tag}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, world(c.scenario, 500*time.Millisecond))
			r := runBin(t, env(sim, append([]string{"VERIFY_URL=" + edgeURL(sim), "VERIFY_TIMEOUT=3s"}, c.extra...)...))
			wantOutput(t, r, 1, append([]string{"edge verification: not status 2xx", "within VERIFY_TIMEOUT (3s)", "summary: failed"}, c.want...)...)
			wantEffects(t, sim, 1, 1, r)
			if n := len(sim.EdgeHits()); n < 2 || n > 4 {
				t.Errorf("%d edge reads in 3 s (backoff 1 s, 2 s)", n)
			}
		})
	}
}

func TestEdgeDryRunReadsOnce(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(awsim.Success, time.Second))
	r := runBin(t, env(sim, "VERIFY_URL="+edgeURL(sim)+"?token=s3cr3t"), "-dry-run")
	wantOutput(t, r, 0, "dry run: "+sim.EdgeURL(demo.Distribution)+"/api/health?… served 200 with version sha-",
		"(X-Cache: Hit from cloudfront", "after the release it must serve version "+demo.Tag,
		"6. verify:          GET "+sim.EdgeURL(demo.Distribution)+"/api/health?… until status 2xx with version "+demo.Tag)
	if strings.Contains(r.Stdout+r.Stderr, "s3cr3t") {
		t.Errorf("the query string was printed:\n%s", r)
	}
	if n := len(sim.EdgeHits()); n != 1 {
		t.Errorf("dry run read the edge %d times, want 1", n)
	}
	wantEffects(t, sim, 0, 0, r)
}

func TestEdgeRefusesBadURLs(t *testing.T) {
	t.Parallel()
	sim := startSim(t, world(awsim.Success, time.Second))
	r := runBin(t, env(sim, "VERIFY_URL=file:///etc/passwd,http://169.254.169.254/latest/meta-data/,https://ci:hunter2@d111111abcdef8.cloudfront.net/"))
	wantOutput(t, r, 2, "only http and https", "link-local or instance metadata", "user info")
	if strings.Contains(r.Stdout+r.Stderr, "hunter2") || len(sim.Calls()) != 0 {
		t.Errorf("printed a password or called AWS:\n%s", r)
	}
}

// The Lambda mode: verification continues across invocations (the edge's cached copy outlives
// the first invocations) and ends with the VerifiedVersion output variable.
func TestLambdaEdgeVerification(t *testing.T) {
	t.Parallel()
	cfg := demo.Config(awsim.Success, 2*time.Second, time.Second)
	cfg.Distributions[0].CacheTTL = awsim.Duration(25 * time.Second) // outlives several 4 s invocations, even on a slow machine
	sim := startSim(t, cfg)
	d, logs := startRIE(t, sim, 4)
	x, err := d.Run(context.Background(), jobInput(userParameters(map[string]any{
		"VERIFY_URL": edgeURL(sim), "VERIFY_TIMEOUT": "40s", "INVALIDATION_PATHS": "/static/*"})))
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, results(x), logs)
	}
	final, ok := x.Final()
	if !ok || !final.Success || final.OutputVariables["VerifiedVersion"] != demo.Tag {
		t.Fatalf("no final success with VerifiedVersion:\n%s\n%s", results(x), logs)
	}
	verifying := 0
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, " verify ") && strings.Contains(line, "waiting for status 2xx") {
			verifying++
		}
	}
	if verifying < 2 {
		t.Errorf("verification was reported waiting in %d invocation(s); the cached copy outlives one\n%s", verifying, logs)
	}
	wantEffects(t, sim, 1, 1, logs)
	noSecrets(t, "the function's log", logs.String())
}
