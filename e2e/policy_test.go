package e2e_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
)

// -print-policy prints the policy the release its settings describe needs, and that release
// runs under it, evaluated as IAM does (awsim's IAM, held to the Service Authorization
// Reference): for a rolling release with IMAGE, a migration and auto's reads; a blue/green one
// with hooks and ROLLBACK; a CodeDeploy one. Each statement is needed: without it the same
// release is refused, naming the action.
func TestPrintedPolicyIsTheRelease(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, scenario string
		extra          []string
		want           []string // in the policy
	}{
		{"IMAGE, migration, auto", demo.APICache, []string{"PREDEPLOY_COMMAND=" + demo.Migration},
			[]string{"ecs:RegisterTaskDefinition", "ecs:RunTask", "logs:GetLogEvents", "cloudfront:GetCachePolicy", "iam:PassRole", "elasticloadbalancing:DescribeLoadBalancers"}},
		{"blue/green, a hook, rollback", awsim.Paused, []string{`HOOK_COMMAND=echo smoke test passed`, "ROLLBACK=on-failure", "INVALIDATION_PATHS=/*"},
			[]string{"ecs:ContinueServiceDeployment", "ecs:StopServiceDeployment"}},
		{"CodeDeploy", demo.CodeDeployBG, nil, []string{"codedeploy:CreateDeployment", "codedeploy:ListApplications"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := demo.Config(c.scenario, 2*time.Second, 500*time.Millisecond)
			printed := runBin(t, env(startSim(t, cfg), c.extra...), "-print-policy")
			if printed.Code != 0 {
				t.Fatalf("-print-policy: %s", printed)
			}
			var doc struct {
				Version   string
				Statement []map[string]any
			}
			if err := json.Unmarshal([]byte(printed.Stdout), &doc); err != nil || doc.Version != "2012-10-17" {
				t.Fatalf("not a policy document: %v\n%s", err, printed.Stdout)
			}
			for _, w := range c.want {
				if !strings.Contains(printed.Stdout, `"`+w+`"`) {
					t.Errorf("the policy lacks %s", w)
				}
			}
			release := func(policy []byte) (result, *awsim.Server) {
				cfg := demo.Config(c.scenario, 2*time.Second, 500*time.Millisecond)
				cfg.Policies = []json.RawMessage{policy}
				sim := startSim(t, cfg)
				return runBin(t, env(sim, c.extra...)), sim
			}
			if r, sim := release([]byte(printed.Stdout)); r.Code != 0 {
				t.Fatalf("the release under its printed policy: %s\n%v", r, sim.Calls())
			}
			// Without each statement the release, or its dry run, is refused (exit 2) naming an
			// action of it; a statement of what only a failure calls (a rollback, stopping a
			// pre-deploy task that outlives its limit) is not needed by a release that succeeds.
			failureOnly := map[string]bool{"ecs:StopServiceDeployment": true, "ecs:StopTask": true, "codedeploy:StopDeployment": true}
			for i, st := range doc.Statement {
				less := doc
				less.Statement = append(append([]map[string]any{}, doc.Statement[:i]...), doc.Statement[i+1:]...)
				b, _ := json.Marshal(less)
				r, _ := release(b)
				if r.Code == 0 {
					cfg := demo.Config(c.scenario, 2*time.Second, 500*time.Millisecond)
					cfg.Policies = []json.RawMessage{b}
					r = runBin(t, env(startSim(t, cfg), c.extra...), "-dry-run")
				}
				refused := r.Code == 2 && strings.Contains(r.Stdout, "access denied")
				var actions []string
				for _, a := range st["Action"].([]any) {
					actions = append(actions, a.(string))
				}
				onlyOnFailure := !slices.ContainsFunc(actions, func(a string) bool { return !failureOnly[a] })
				if !refused && !onlyOnFailure {
					t.Errorf("without statement %v (%v) neither the release nor its dry run is refused (exit %d):\n%s", st["Sid"], actions, r.Code, r.Stdout)
				}
			}
		})
	}
}
