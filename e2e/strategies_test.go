package e2e_test

// ECS deployment strategies end to end (issue 12): the binary follows the service deployment
// that its UpdateService started, names stages, traffic and bake time, answers PAUSE hooks with
// HOOK_COMMAND, and rolls back (ROLLBACK=on-failure) once.

import (
	"strings"
	"testing"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
)

func strategyWorld(kind string, rollout time.Duration, tweak func(*awsim.ServiceSpec)) awsim.Config {
	cfg := world(kind, rollout)
	if tweak != nil {
		tweak(&cfg.Clusters[0].Services[0])
	}
	return cfg
}

func TestStrategies(t *testing.T) {
	t.Parallel()
	bake := func(d time.Duration) func(*awsim.ServiceSpec) {
		return func(s *awsim.ServiceSpec) { s.BakeTime = awsim.Duration(d) }
	}
	cases := []struct {
		name   string
		cfg    awsim.Config
		extra  []string
		code   int
		want   []string
		absent []string
		stops  int
	}{
		// Stage windows are short in scaled time: assert the long ones (bake time, canary's share).
		{"blue/green", strategyWorld(awsim.BlueGreen, 6*time.Second, bake(5*time.Second)), nil, 0,
			[]string{"service deployment ", ": IN_PROGRESS at ", "% of production traffic on the new revision", "BAKE_TIME: ", "left",
				"completed: 2 of 2 tasks running", "summary: succeeded"}, nil, 0},
		{"linear", strategyWorld(awsim.Linear, 8*time.Second, bake(time.Second)), nil, 0,
			[]string{"% of production traffic on the new revision", "summary: succeeded"}, nil, 0},
		{"canary", strategyWorld(awsim.Canary, 16*time.Second, bake(time.Second)), nil, 0,
			[]string{"PRODUCTION_TRAFFIC_SHIFT: 10% of production traffic", "summary: succeeded"}, nil, 0},
		{"WAIT_UNTIL=traffic-shifted ends in bake time", strategyWorld(awsim.BlueGreen, 2*time.Second, bake(time.Minute)), []string{"WAIT_UNTIL=traffic-shifted"}, 0,
			[]string{"all production traffic is on the new revision", "ECS finishes the bake time and clean-up alone", "summary: succeeded"}, nil, 0},
		{"alarm rollback during bake", strategyWorld(awsim.AlarmRollback, 2*time.Second, bake(2*time.Second)), nil, 1,
			[]string{"ROLLBACK_IN_PROGRESS: CloudWatch alarm api-target-5xx went into ALARM during BAKE_TIME", "alarms in ALARM: api-target-5xx", "summary: failed"}, nil, 0},
		{"circuit-breaker rollback during bake", strategyWorld(awsim.Rollback, 2*time.Second, func(s *awsim.ServiceSpec) {
			s.Strategy = "BLUE_GREEN"
			s.BakeTime = awsim.Duration(4 * time.Second)
			s.Scenario.TaskFailEvery = awsim.Duration(1500 * time.Millisecond)
		}), nil, 1, []string{"BAKE_TIME", "ECS deployment circuit breaker: tasks failed to start.", "Essential container in task exited", "summary: failed"},
			[]string{"ROLLBACK=on-failure", "tasks failed (threshold"}, 0},
		{"paused, HOOK_COMMAND passes", strategyWorld(awsim.Paused, 2*time.Second, bake(time.Second)),
			[]string{`HOOK_COMMAND=echo "smoke test of $SERVICE at $DEPLOY_STAGE via $TEST_LISTENER_URL"`, "TEST_LISTENER_URL=http://tsa-gallery-alb-1234567890.us-east-1.elb.amazonaws.com:8080"}, 0,
			[]string{"paused at POST_TEST_TRAFFIC_SHIFT: running HOOK_COMMAND", "smoke test of api at POST_TEST_TRAFFIC_SHIFT via http://tsa-gallery-alb-1234567890.us-east-1.elb.amazonaws.com:8080",
				"ContinueServiceDeployment CONTINUE", "summary: succeeded"}, nil, 0},
		{"paused, HOOK_COMMAND fails", strategyWorld(awsim.Paused, 2*time.Second, bake(time.Second)), []string{"HOOK_COMMAND=echo 502 from green; exit 3"}, 1,
			[]string{"502 from green", "HOOK_COMMAND failed: exit status 3: ContinueServiceDeployment ROLLBACK", "rolled back at the PAUSE hook of POST_TEST_TRAFFIC_SHIFT"}, nil, 0},
		{"paused without HOOK_COMMAND waits, bounded", strategyWorld(awsim.Paused, 2*time.Second, nil), []string{"DEPLOY_TIMEOUT=4s"}, 3,
			[]string{"paused at POST_TEST_TRAFFIC_SHIFT (PAUSE hook ", "paused at POST_TEST_TRAFFIC_SHIFT, unanswered: answer it with: aws ecs continue-service-deployment"}, nil, 0},
		{"ROLLBACK=on-failure after a crash loop", strategyWorld(awsim.CrashLoop, 2*time.Second, func(s *awsim.ServiceSpec) {
			s.CircuitBreaker = false
			s.Scenario.TaskFailEvery = awsim.Duration(300 * time.Millisecond)
		}), []string{"ROLLBACK=on-failure"}, 1, []string{"3 tasks failed (threshold 3: deploystep's max(3, desired/2): the service's circuit breaker is off)", "StopServiceDeployment ROLLBACK sent", "ROLLBACK=on-failure: api rollback ROLLBACK_SUCCESSFUL"}, nil, 1},
		{"ROLLBACK=on-failure after a timeout", strategyWorld(awsim.NeverFinish, 2*time.Second, nil), []string{"ROLLBACK=on-failure", "DEPLOY_TIMEOUT=3s"}, 3,
			[]string{"timed out after 3s during follow", "ROLLBACK=on-failure: api rollback ROLLBACK_SUCCESSFUL"}, nil, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, c.cfg)
			r := runBin(t, env(sim, append([]string{"IMAGE="}, c.extra...)...))
			wantOutput(t, r, c.code, c.want...)
			for _, a := range c.absent {
				if strings.Contains(r.Stdout, a) {
					t.Errorf("output has %q\n%s", a, r)
				}
			}
			if got := sim.Effects().Stops[demo.Cluster+"/"+demo.Service]; got != c.stops {
				t.Errorf("StopServiceDeployment started %d rollbacks, want %d\n%s", got, c.stops, r)
			}
			if n := sim.Effects().Deployments[demo.Cluster+"/"+demo.Service]; n != 1 {
				t.Errorf("%d deployments, want 1", n)
			}
		})
	}
}

// A re-run of the same release after ROLLBACK=on-failure does not stop the deployment again.
func TestRollbackOnceAcrossReRuns(t *testing.T) {
	t.Parallel()
	sim := startSim(t, strategyWorld(awsim.CrashLoop, 2*time.Second, func(s *awsim.ServiceSpec) {
		s.CircuitBreaker = false
		s.Scenario.TaskFailEvery = awsim.Duration(300 * time.Millisecond)
	}))
	e := env(sim, "IMAGE=", "ROLLBACK=on-failure", "CODEBUILD_BUILD_ID="+build)
	first := runBin(t, e)
	wantOutput(t, first, 1, "StopServiceDeployment ROLLBACK sent")
	second := runBin(t, e)
	wantOutput(t, second, 1, "resuming: deployment")
	if got := sim.Effects().Stops[demo.Cluster+"/"+demo.Service]; got != 1 {
		t.Fatalf("%d rollbacks started over two runs, want 1\n%s\n%s", got, first, second)
	}
}
