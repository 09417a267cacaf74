package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
)

// The fleet scenario: 50 services over 5 clusters, the read budget and the overhead.

func scenarioFleet() []row {
	const clusters, perCluster = 5, 10
	const rollout = 30 * time.Second
	// Rollouts end at different times, 30 s to 40 s, each cluster with its own fractions so the
	// five clusters are five independent samples of the poll phase.
	rollouts := make([][]time.Duration, clusters)
	for i := range rollouts {
		for j := 0; j < perCluster; j++ {
			rollouts[i] = append(rollouts[i], rollout+time.Duration(j)*time.Second+jitter())
		}
	}
	cfg := func() awsim.Config {
		c := awsim.Config{Distributions: []awsim.DistributionSpec{{ID: demo.Distribution, InvalidationTime: awsim.Duration(5 * time.Second)}},
			Repositories: demo.Config(awsim.Success, 0, 0).Repositories}
		for i := 0; i < clusters; i++ {
			cs := awsim.ClusterSpec{Name: fmt.Sprintf("cluster-%d", i)}
			for j := 0; j < perCluster; j++ {
				cs.Services = append(cs.Services, awsim.ServiceSpec{Name: fmt.Sprintf("svc-%d", j), Image: demo.Repository + ":" + demo.Tag,
					Scenario: awsim.Scenario{Kind: awsim.Success, Rollout: awsim.Duration(rollouts[i][j])}})
			}
			c.Clusters = append(c.Clusters, cs)
		}
		return c
	}
	names := make([]string, perCluster)
	for j := range names {
		names[j] = fmt.Sprintf("svc-%d", j)
	}
	// Each contender deploys the 5 clusters at once: 5 processes (CLI, deploystep) or 5 waiters.
	fleet := func(one func(sim *awsim.Server, cluster string) run) (sim *awsim.Server, runs []run) {
		sim = newSim(cfg())
		runs = make([]run, clusters)
		var wg sync.WaitGroup
		for i := 0; i < clusters; i++ {
			wg.Add(1)
			go func(i int) { defer wg.Done(); runs[i] = one(sim, fmt.Sprintf("cluster-%d", i)) }(i)
		}
		wg.Wait()
		return sim, runs
	}
	cliScript := `set -e
for s in $(echo $SERVICE | tr , ' '); do aws ecs update-service --cluster $CLUSTER --service $s --force-new-deployment > /dev/null; done
while true; do aws ecs wait services-stable --cluster $CLUSTER --services $(echo $SERVICE | tr , ' ') > /dev/null && break; sleep 2; done
`
	list := strings.Join(names, ",")
	var wg sync.WaitGroup
	var cliSim, sdkSim, dsSim *awsim.Server
	var cliRuns, sdkRuns, dsRuns []run
	wg.Add(3)
	go func() {
		defer wg.Done()
		cliSim, cliRuns = fleet(func(sim *awsim.Server, c string) run { return runCLI(sim, cliScript, "CLUSTER="+c, "SERVICE="+list) })
	}()
	go func() {
		defer wg.Done()
		sdkSim, sdkRuns = fleet(func(sim *awsim.Server, c string) run { return runSDKWaiters(sim, c, names, "") })
	}()
	go func() {
		defer wg.Done()
		dsSim, dsRuns = fleet(func(sim *awsim.Server, c string) run {
			return runDeploystep(sim, "CLUSTER="+c, "SERVICE="+list, "SKIP_INVALIDATION=true")
		})
	}()
	wg.Wait()
	cr, co, cok, _ := fleetFigures(cliSim, cliRuns, rollouts)
	sr, so, sok, _ := fleetFigures(sdkSim, sdkRuns, rollouts)
	dr, do, dok, minGap := fleetFigures(dsSim, dsRuns, rollouts)
	fmt.Fprintf(os.Stderr, "bench: deploystep's shortest interval between two reads of a cluster: %v\n", minGap)
	cell := func(v string, ok bool) string {
		if !ok {
			return v + " (some runs failed)"
		}
		return v
	}
	return []row{
		{"4. 50 services over 5 clusters", "ECS read calls per second per cluster (highest)", cell(fmt.Sprintf("%.3f", cr), cok), cell(fmt.Sprintf("%.3f", sr), sok), cell(fmt.Sprintf("%.3f", dr), dok), "≤ 1", passFail(dok && dr <= 1.0)},
		{"4. 50 services over 5 clusters", "overhead after the cluster's last rollout (mean of 5)", secs(co), secs(so), secs(do), "≤ 1 s", passFail(dok && do <= time.Second)},
	}
}

// fleetFigures reads one contender's fleet runs off its simulator: the highest rate of ECS reads
// per second on a cluster, the mean overhead after a cluster's last rollout completed, whether
// every run succeeded, and the shortest interval between two reads of a cluster.
func fleetFigures(sim *awsim.Server, runs []run, rollouts [][]time.Duration) (maxRate float64, overhead time.Duration, ok bool, minGap time.Duration) {
	ok = true
	for _, r := range runs {
		if r.verdict != "success" {
			ok = false
		}
	}
	for i, r := range runs {
		cluster := fmt.Sprintf("cluster-%d", i)
		var reads []time.Time
		var lastDone time.Time
		for _, c := range sim.Calls() {
			if c.Service != "ECS" || c.Params["cluster"] != cluster {
				continue
			}
			if c.Op == "UpdateService" {
				var j int
				fmt.Sscanf(c.Params["service"], "svc-%d", &j)
				if done := c.Time.Add(rollouts[i][j]); done.After(lastDone) {
					lastDone = done
				}
			}
			if c.Op != "UpdateService" && c.Op != "TagResource" {
				reads = append(reads, c.Time)
			}
		}
		// The rate between the first and the last read: n reads make n-1 intervals.
		sort.Slice(reads, func(a, b int) bool { return reads[a].Before(reads[b]) })
		if len(reads) > 1 {
			maxRate = max(maxRate, float64(len(reads)-1)/reads[len(reads)-1].Sub(reads[0]).Seconds())
		}
		for k := 1; k < len(reads); k++ {
			if gap := reads[k].Sub(reads[k-1]); minGap == 0 || gap < minGap {
				minGap = gap
			}
		}
		overhead += r.exit.Sub(lastDone)
	}
	return maxRate, overhead / time.Duration(len(runs)), ok, minGap
}
