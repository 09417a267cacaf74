package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
)

// scenarioEdge measures the proof through the edge: the time from the invalidation's completion
// to the first answer of the edge that carries the new version, as the verifying tool saw it.
// The hand-written step teams put in their buildspecs is the seed's four lines followed by a curl
// loop with a 5 s sleep; deploystep verifies VERIFY_URL itself (backoff 1 s to 10 s).
func scenarioEdge() []row {
	const rollout, invalidation, n = 5 * time.Second, 12 * time.Second, 3
	const curlLoop = seedScript + `until curl -fsS --max-time 10 "$VERIFY_URL" | grep -q "$EXPECT"; do sleep 5; done
`
	type sample struct {
		cli, ds time.Duration
		ok      bool
	}
	var mu sync.Mutex
	var got []sample
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		inv := invalidation + jitter()
		cfg := func() awsim.Config { return demo.Config(awsim.Success, rollout+jitter(), inv) }
		wg.Add(1)
		go func() {
			defer wg.Done()
			simC, simD := newSim(cfg()), newSim(cfg())
			defer simC.Close()
			defer simD.Close()
			url := func(s *awsim.Server) string { return s.EdgeURL(demo.Distribution) + "/api/health" }
			cli := runCLI(simC, curlLoop, "VERIFY_URL="+url(simC), "EXPECT="+demo.Tag)
			ds := runDeploystep(simD, "VERIFY_URL="+url(simD), "IMAGE="+demo.Image)
			late := func(r run) (time.Duration, bool) {
				created := r.first("CloudFront", "CreateInvalidation")
				for _, h := range r.sim.EdgeHits() {
					if h.Version == demo.Tag && !created.IsZero() {
						return h.Time.Sub(created.Add(inv)), r.verdict == "success"
					}
				}
				return 0, false
			}
			c, okC := late(cli)
			d, okD := late(ds)
			mu.Lock()
			got = append(got, sample{c, d, okC && okD})
			mu.Unlock()
		}()
	}
	wg.Wait()
	var sumC, sumD, maxD time.Duration
	ok := len(got) == n
	for _, s := range got {
		sumC, sumD, maxD = sumC+s.cli, sumD+s.ds, max(maxD, s.ds)
		ok = ok && s.ok
	}
	return []row{
		{fmt.Sprintf("8. edge proof (rollout 5 s, invalidation 12 s; mean of %d)", n),
			"from invalidation Completed to the edge's first answer with the new version (CLI: the seed's lines + curl loop, sleep 5)",
			secs(sumC / n), "-", fmt.Sprintf("%s (worst %s)", secs(sumD/n), secs(maxD)), "≤ 2 s", passFail(ok && maxD <= 2*time.Second)},
	}
}
