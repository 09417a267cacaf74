package main

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/deploystep/deploystep/awsim/demo"
)

// scenarioCache measures what a release invalidates (#24), on the lab's stack (the API not
// cached, /static/* from the bucket) and on one whose API caches /api/photos* for an hour: the
// paths sent, the bucket's objects the release evicted from the edge, and the time from the
// rollout's end to the edge's first answer with the new version at the verified URL. Contenders:
// the seed's lines (/*) with the scenario-8 curl loop, and deploystep with INVALIDATION_PATHS=/*
// (what it sent before), auto (its default) and INVALIDATION_TAGS=photos.
func scenarioCache() []row {
	const rollout, invalidation = 3 * time.Second, 10 * time.Second
	const curlLoop = seedScript + `until curl -fsS --max-time 10 "$VERIFY_URL" | grep -q "$EXPECT"; do sleep 5; done
`
	type contender struct {
		name  string
		extra []string
	}
	type measured struct {
		paths    string
		evicted  int
		verified time.Duration
		ok       bool
	}
	worlds := []struct {
		kind, path string
		who        []contender
	}{
		{demo.LabCache, "/api/health", []contender{{"cli", nil}, {"/*", []string{"INVALIDATION_PATHS=/*"}}, {"auto", nil}}},
		{demo.APICache, "/api/photos", []contender{{"cli", nil}, {"/*", []string{"INVALIDATION_PATHS=/*"}}, {"auto", nil}, {"tags", []string{"INVALIDATION_TAGS=photos"}}}},
	}
	var rows []row
	for _, w := range worlds {
		got := make([]measured, len(w.who))
		var wg sync.WaitGroup
		for i, c := range w.who {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sim := newSim(demo.Config(w.kind, rollout, invalidation))
				defer sim.Close()
				url := sim.EdgeURL(demo.Distribution) + w.path
				var r run
				if c.name == "cli" {
					r = runCLI(sim, curlLoop, "VERIFY_URL="+url, "EXPECT="+demo.Tag)
				} else {
					r = runDeploystep(sim, append(c.extra, "VERIFY_URL="+url, "IMAGE="+demo.Image)...)
				}
				m := measured{paths: "none", ok: r.verdict == "success"}
				var sent []string
				for _, call := range r.calls("CloudFront", "CreateInvalidation") {
					if call.Error == "" {
						sent = append(sent, call.Params["paths"])
					}
				}
				if len(sent) > 0 {
					m.paths = strings.Join(sent, " ")
				}
				fresh := map[string]bool{}
				for _, o := range sim.EdgeObjects(demo.Distribution) {
					fresh[o.Path] = o.Fresh
				}
				for _, p := range demo.StaticAssets {
					if !fresh[p] {
						m.evicted++
					}
				}
				// The rollout ends rollout after the UpdateService that started it.
				end := r.first("ECS", "UpdateService").Add(rollout)
				for _, h := range sim.EdgeHits() {
					if h.Path == w.path && h.Version == demo.Tag {
						m.verified = h.Time.Sub(end)
						break
					}
				}
				m.ok = m.ok && m.verified > 0
				got[i] = m
			}()
		}
		wg.Wait()
		say := func(m measured) string {
			return fmt.Sprintf("%s; %d of %d evicted; %s", m.paths, m.evicted, len(demo.StaticAssets), secs(m.verified))
		}
		var ds []string
		for i, c := range w.who[1:] {
			ds = append(ds, c.name+": "+say(got[i+1]))
		}
		auto := got[2]
		var target string
		var pass bool
		switch w.kind {
		case demo.LabCache:
			target = "auto: none; 0 evicted; ≤ 2 s"
			pass = auto.paths == "none" && auto.evicted == 0 && auto.verified <= 2*time.Second
		default:
			target = "auto: /api/photos* only; 0 evicted; ≤ invalidation + 2 s"
			pass = auto.paths == "/api/photos*" && auto.evicted == 0 && auto.verified <= invalidation+2*time.Second &&
				got[3].paths == "#photos" && got[3].evicted == 0
		}
		for _, m := range got {
			pass = pass && m.ok
		}
		name := "the lab's stack (API: Managed-CachingDisabled; /static/*: the bucket)"
		if w.kind == demo.APICache {
			name = "an API that caches /api/photos* (1 h) beside the lab's bucket"
		}
		rows = append(rows, row{fmt.Sprintf("11. what a release invalidates: %s (rollout 3 s, invalidation 10 s)", name),
			"paths sent; the bucket's 3 cached objects evicted; rollout end → " + w.path + " verified at the edge",
			say(got[0]), "-", strings.Join(ds, "<br>"), target, passFail(pass)})
	}
	return rows
}
