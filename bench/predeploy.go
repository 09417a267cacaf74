package main

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
)

// runTaskScript is the hand-written migration step: aws ecs run-task with the command override
// on the service's network, then aws ecs wait tasks-stopped (DescribeTasks every 6 s until the
// task is STOPPED, whatever its containers' exit codes).
var runTaskScript = `set -e
TASK=$(aws ecs run-task --cluster $CLUSTER --task-definition api --launch-type FARGATE \
  --network-configuration 'awsvpcConfiguration={subnets=[` + strings.Join(awsim.Subnets, ",") + `],securityGroups=[` + awsim.SecurityGroup + `],assignPublicIp=DISABLED}' \
  --overrides '{"containerOverrides":[{"name":"api","command":["sh","-c","npm run migrate"]}]}' \
  --query 'tasks[0].taskArn' --output text)
aws ecs wait tasks-stopped --cluster $CLUSTER --tasks $TASK
`

// scenarioPredeploy: a migration before the services move, succeeding and failing (the
// container exits 1). The figure is the time from the task's STOPPED (the simulator's clock)
// to the verdict: the CLI script's exit; deploystep's UpdateService after a passed migration,
// its exit after a failed one.
func scenarioPredeploy() []row {
	const n = 3
	const runtime = 8 * time.Second
	type sample struct{ cli, ds time.Duration }
	var rows []row
	for _, kind := range []string{demo.Migrate, demo.MigrateFails} {
		var mu sync.Mutex
		var got []sample
		cliVerdicts, dsVerdicts := map[string]int{}, map[string]int{}
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cfg := func() awsim.Config {
					c := demo.Config(kind, 2*time.Second, time.Second)
					c.RunTasks.Runtime = awsim.Duration(runtime + jitter())
					return c
				}
				simC, simD := newSim(cfg()), newSim(cfg())
				defer simC.Close()
				defer simD.Close()
				cli := runCLI(simC, runTaskScript)
				ds := runDeploystep(simD, "IMAGE="+demo.Image, "SKIP_INVALIDATION=true", "PREDEPLOY_COMMAND="+demo.Migration)
				s := sample{cli: cli.exit.Sub(stoppedAt(simC))}
				if up := ds.first("ECS", "UpdateService"); !up.IsZero() {
					s.ds = up.Sub(stoppedAt(simD))
				} else {
					s.ds = ds.exit.Sub(stoppedAt(simD))
				}
				mu.Lock()
				got = append(got, s)
				cliVerdicts[cli.verdict]++
				dsVerdicts[ds.verdict]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		var cliSum, dsSum, dsWorst time.Duration
		for _, s := range got {
			cliSum, dsSum, dsWorst = cliSum+s.cli, dsSum+s.ds, max(dsWorst, s.ds)
		}
		right := "success"
		what := "migration exits 0"
		if kind == demo.MigrateFails {
			right, what = "failure", "migration exits 1"
		}
		ok := dsVerdicts[right] == n && dsSum/n <= 2*time.Second
		rows = append(rows, row{fmt.Sprintf("10. pre-deploy task, %s (mean of %d)", what, n),
			"from the task's STOPPED to the verdict (CLI: aws ecs run-task + aws ecs wait tasks-stopped; deploystep: its UpdateService, or its exit)",
			fmt.Sprintf("%s, says %s", secs(cliSum/n), verdicts(cliVerdicts, right)), "-",
			fmt.Sprintf("%s (worst %s), says %s", secs(dsSum/n), secs(dsWorst), verdicts(dsVerdicts, right)), "≤ 2 s, right", passFail(ok)})
	}
	return rows
}

// stoppedAt is when the world's standalone task stopped.
func stoppedAt(sim *awsim.Server) time.Time {
	for _, t := range sim.StandaloneTasks() {
		if !t.Stopped.IsZero() {
			return t.Stopped
		}
	}
	return time.Time{}
}

func verdicts(m map[string]int, right string) string {
	var parts []string
	for v, k := range m {
		mark := "wrong"
		if v == right {
			mark = "right"
		}
		parts = append(parts, fmt.Sprintf("%s ×%d (%s)", v, k, mark))
	}
	return strings.Join(parts, ", ")
}
