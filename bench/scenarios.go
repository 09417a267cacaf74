package main

import (
	"fmt"
	"math/rand"
	"sync"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
)

// The single-service scenarios: success, circuit-breaker rollback, crash loop.

const (
	rollout1      = 45 * time.Second
	invalidation1 = 25 * time.Second
)

// jitter is a seeded fraction of a second added to simulated durations: a rollout of exactly
// 45 s would line up with any poll that starts at UpdateService (a 1 s poll would always see it
// at the worst moment, a 15 s waiter at the best), which real rollouts never do.
var jitter = func() func() time.Duration {
	var mu sync.Mutex
	r := rand.New(rand.NewSource(2026))
	return func() time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return time.Duration(r.Int63n(int64(time.Second)))
	}
}()

const samples = 5

func scenarioSuccess() []row {
	type sample struct {
		run                   run
		rollout, invalidation time.Duration
	}
	var mu sync.Mutex
	got := map[string][]sample{}
	var wg sync.WaitGroup
	for i := 0; i < samples; i++ {
		ro, inv := rollout1+jitter(), invalidation1+jitter()
		cfg := func() awsim.Config { return demo.Config(awsim.Success, ro, inv) }
		wg.Add(1)
		go func() {
			defer wg.Done()
			cli, sdk, ds := three(cfg, []string{demo.Service})
			mu.Lock()
			defer mu.Unlock()
			for _, r := range []run{cli, sdk, ds} {
				got[r.contender] = append(got[r.contender], sample{r, ro, inv})
			}
		}()
	}
	wg.Wait()
	type figures struct {
		deploy, inv, wall time.Duration
		ok                bool
		calls             string
	}
	measure := func(name string) (f figures) {
		f.ok = true
		for _, smp := range got[name] {
			r := smp.run
			f.ok = f.ok && r.verdict == "success"
			f.deploy += r.first("CloudFront", "CreateInvalidation").Sub(r.first("ECS", "UpdateService").Add(smp.rollout))
			f.inv += r.exit.Sub(r.first("CloudFront", "CreateInvalidation").Add(smp.invalidation))
			f.wall += r.exit.Sub(r.start)
		}
		n := time.Duration(len(got[name]))
		f.deploy, f.inv, f.wall = f.deploy/n, f.inv/n, f.wall/n
		f.calls = got[name][0].run.opCounts()
		return f
	}
	cli, sdk, ds := measure("cli"), measure("sdk"), measure("deploystep")
	cell := func(f figures, d time.Duration) string {
		if !f.ok {
			return "a run failed"
		}
		return secs(d)
	}
	mean := (ds.deploy + ds.inv) / 2
	title := fmt.Sprintf("1. success (rollout 45 s, invalidation 25 s; mean of %d runs)", samples)
	return []row{
		{title, "overhead after the rollout completed", cell(cli, cli.deploy), cell(sdk, sdk.deploy), cell(ds, ds.deploy), "", ""},
		{"1. success", "overhead after the invalidation completed", cell(cli, cli.inv), cell(sdk, sdk.inv), cell(ds, ds.inv), "", ""},
		{"1. success", "mean overhead per phase", secs((cli.deploy + cli.inv) / 2), secs((sdk.deploy + sdk.inv) / 2), secs(mean),
			"≤ 1 s", passFail(ds.ok && mean <= time.Second)},
		{"1. success", "total wall time", secs(cli.wall), secs(sdk.wall), secs(ds.wall), "", ""},
		{"1. success", "API calls (one run)", cli.calls, sdk.calls, ds.calls, "", ""},
	}
}

func scenarioRollback() []row {
	const failAfter, every = 20 * time.Second, 8 * time.Second
	cfg := func() awsim.Config {
		c := demo.Config(awsim.Rollback, 20*time.Second, 10*time.Second)
		c.Clusters[0].Services[0].Scenario.FailAfter = awsim.Duration(failAfter)
		c.Clusters[0].Services[0].Scenario.TaskFailEvery = awsim.Duration(every)
		return c
	}
	cli, sdk, ds := three(cfg, []string{demo.Service})
	// The first conclusive evidence: the breaker marks the deployment FAILED (two failed tasks
	// before it stay under deploystep's threshold of 3).
	late := ds.exit.Sub(ds.first("ECS", "UpdateService").Add(failAfter))
	return []row{
		{"2. circuit-breaker rollback", "verdict (right: failure)", verdictCell(cli, "failure"), verdictCell(sdk, "failure"), verdictCell(ds, "failure"), "right verdict", passFail(ds.verdict == "failure" && ds.code == 1)},
		{"2. circuit-breaker rollback", "verdict after the first conclusive evidence (FAILED at 20 s)", "-", "-", secs(late), "≤ 1 poll interval (1 s)", passFail(late <= 1500*time.Millisecond)},
	}
}

func scenarioCrashLoop() []row {
	const every = 5 * time.Second
	cfg := func() awsim.Config {
		c := demo.Config(awsim.CrashLoop, 20*time.Second, 10*time.Second)
		c.Clusters[0].Services[0].CircuitBreaker = false
		c.Clusters[0].Services[0].Scenario.TaskFailEvery = awsim.Duration(every)
		return c
	}
	cli, sdk, ds := three(cfg, []string{demo.Service})
	evidence := 3 * every // the third failed task reaches the threshold
	late := ds.exit.Sub(ds.first("ECS", "UpdateService").Add(evidence))
	return []row{
		{"3. crash loop, no breaker", "time to a failing exit (right: failure)", verdictCell(cli, "failure"), verdictCell(sdk, "failure"), verdictCell(ds, "failure"), "right verdict", passFail(ds.verdict == "failure")},
		{"3. crash loop, no breaker", "verdict after the first conclusive evidence (3rd failed task at 15 s)", "-", "-", secs(late), "≤ 1 poll interval (1 s)", passFail(late <= 1500*time.Millisecond)},
	}
}

// scenarioBlueGreen: a BLUE_GREEN service (rollout 30 s, bake time 2 min). deploystep's time to
// its verdict after the service deployment is SUCCESSFUL, and with WAIT_UNTIL=traffic-shifted
// after BAKE_TIME began; the CLI lines and the ServicesStable waiter beside it.
func scenarioBlueGreen() []row {
	const rollout, bake = 30 * time.Second, 2 * time.Minute
	ro := rollout + jitter()
	// The contenders need rollout and bake time and more: cap them well after that.
	saved := *capCLI
	*capCLI = max(saved, ro+bake+time.Minute)
	defer func() { *capCLI = saved }()
	cfg := func() awsim.Config {
		c := demo.Config(awsim.BlueGreen, ro, 5*time.Second)
		c.Clusters[0].Services[0].BakeTime = awsim.Duration(bake)
		return c
	}
	cli, sdk, ds := three(cfg, []string{demo.Service})
	shifted := runDeploystep(newSim(cfg()), "WAIT_UNTIL=traffic-shifted", "SKIP_INVALIDATION=true")
	// When the contender moved on: its first CreateInvalidation, or its exit.
	moved := func(r run) time.Time {
		if t := r.first("CloudFront", "CreateInvalidation"); !t.IsZero() {
			return t
		}
		return r.exit
	}
	after := func(r run, d time.Duration) string {
		if r.verdict != "success" {
			return verdictCell(r, "success")
		}
		return secs(moved(r).Sub(r.first("ECS", "UpdateService").Add(d)))
	}
	success := ro + bake // SUCCESSFUL at the end of the bake time (CLEAN_UP)
	lateDS := moved(ds).Sub(ds.first("ECS", "UpdateService").Add(success))
	lateShift := moved(shifted).Sub(shifted.first("ECS", "UpdateService").Add(awsim.ProductionShifted(ro)))
	dsCell, shiftCell := secs(lateDS), secs(lateShift)
	if ds.verdict != "success" {
		dsCell = verdictCell(ds, "success")
	}
	if shifted.verdict != "success" {
		shiftCell = verdictCell(shifted, "success")
	}
	return []row{
		{"7. BLUE_GREEN (rollout 30 s, bake time 2 min)", "verdict after the service deployment is SUCCESSFUL", after(cli, success), after(sdk, success), dsCell,
			"≤ 2 polls (2 s)", passFail(ds.verdict == "success" && lateDS >= 0 && lateDS <= 2500*time.Millisecond)},
		{"7. BLUE_GREEN", "WAIT_UNTIL=traffic-shifted: verdict after the production traffic shift completed (bake time still ahead)", "-", "-", shiftCell,
			"≤ 2 polls (2 s)", passFail(shifted.verdict == "success" && lateShift >= 0 && lateShift <= 2500*time.Millisecond)},
	}
}
