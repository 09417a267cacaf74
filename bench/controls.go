package main

import (
	"fmt"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
)

// scenarioEarlySuccess measures a rolling deployment with early success criteria (#25;
// healthyPercent 50, DEFERRED, 4 tasks): ECS marks the service deployment SUCCESSFUL at half the
// rollout, with 2 new tasks, and removes the old tasks at its end. The figure is the time from
// SUCCESSFUL to the contender's verdict (its CreateInvalidation): the seed's lines and the SDK's
// ServicesStable wait for one deployment with running == desired, that is for the old tasks.
func scenarioEarlySuccess() []row {
	const rollout, invalidation = 30 * time.Second, 5 * time.Second
	ro := rollout + jitter()
	cfg := func() awsim.Config { return demo.Config(demo.EarlyDeferred, ro, invalidation) }
	cli, sdk, ds := three(cfg, []string{demo.Service})
	after := func(r run) (time.Duration, string) {
		success := r.first("ECS", "UpdateService").Add(ro / 2)
		verdict := r.first("CloudFront", "CreateInvalidation")
		if verdict.IsZero() || r.verdict != "success" {
			return 0, "no verdict (" + r.verdict + ")"
		}
		return verdict.Sub(success), secs(verdict.Sub(success))
	}
	c, cs := after(cli)
	s, ss := after(sdk)
	d, dsCell := after(ds)
	ok := d > 0 && d <= 2*time.Second && c > ro/2 && s > ro/2
	return []row{{"12. early success DEFERRED (4 tasks, healthyPercent 50; rollout 30 s, SUCCESSFUL at 15 s)",
		"from the service deployment SUCCESSFUL to the tool's verdict (its CreateInvalidation)", cs, ss,
		dsCell, fmt.Sprintf("≤ 2 s (the others wait for the old tasks, %s)", secs(ro/2)), passFail(ok)}}
}
