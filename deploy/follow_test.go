package deploy

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/deploystep/deploystep/deploy/awsapi"
	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/report"
	"github.com/deploystep/deploystep/deploy/settings"
	"github.com/deploystep/deploystep/deploy/state"
	"github.com/deploystep/deploystep/deploy/step"
	"github.com/deploystep/deploystep/deploy/step/steptest"
)

const (
	testCluster = "tsa-gallery"
	testService = "tsa-gallery-api"
	ourDeploy   = "ecs-svc/7305418237069157375"
	testSD      = "arn:aws:ecs:us-east-1:123456789012:service-deployment/tsa-gallery/tsa-gallery-api/NcJtaH1B2Ex9kM4VqL0sZ"
)

// fakeECS answers the ECS reads of the follow step and the rollback from scripts: each call
// takes the next snapshot (the last one repeats). A call a test does not script panics (the
// embedded interface is nil).
type fakeECS struct {
	awsapi.ECSAPI
	mu        sync.Mutex
	services  []ecstypes.Service           // DescribeServices' answers
	sds       []ecstypes.ServiceDeployment // DescribeServiceDeployments' answers
	stopErrs  []error                      // StopServiceDeployment's answers (then success)
	describes int
	sdReads   int
	stops     int
	endAfter  int // reads of the service deployment after which the test's ctx ends (0: never)
	end       context.CancelFunc
}

func (f *fakeECS) DescribeServices(_ context.Context, in *ecs.DescribeServicesInput, _ ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.services[min(f.describes, len(f.services)-1)]
	f.describes++
	return &ecs.DescribeServicesOutput{Services: []ecstypes.Service{s}}, nil
}

func (f *fakeECS) DescribeServiceDeployments(_ context.Context, in *ecs.DescribeServiceDeploymentsInput, _ ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sd := f.sds[min(f.sdReads, len(f.sds)-1)]
	f.sdReads++
	if f.endAfter > 0 && f.sdReads >= f.endAfter {
		f.end()
	}
	return &ecs.DescribeServiceDeploymentsOutput{ServiceDeployments: []ecstypes.ServiceDeployment{sd}}, nil
}

func (f *fakeECS) StopServiceDeployment(_ context.Context, in *ecs.StopServiceDeploymentInput, _ ...func(*ecs.Options)) (*ecs.StopServiceDeploymentOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stops++
	if f.stops <= len(f.stopErrs) {
		return nil, f.stopErrs[f.stops-1]
	}
	return &ecs.StopServiceDeploymentOutput{ServiceDeploymentArn: in.ServiceDeploymentArn}, nil
}

// ListTasks and DescribeTasks: no tasks (the stopped reasons of a failure are none).
func (f *fakeECS) ListTasks(context.Context, *ecs.ListTasksInput, ...func(*ecs.Options)) (*ecs.ListTasksOutput, error) {
	return &ecs.ListTasksOutput{}, nil
}

func (f *fakeECS) DescribeTasks(context.Context, *ecs.DescribeTasksInput, ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	return &ecs.DescribeTasksOutput{}, nil
}

// deployment is one of a rolling service's deployments[].
func deployment(id, status, taskDef string, created time.Time, rollout ecstypes.DeploymentRolloutState, running, desired int32) ecstypes.Deployment {
	return ecstypes.Deployment{Id: aws.String(id), Status: aws.String(status), RolloutState: rollout, CreatedAt: aws.Time(created),
		TaskDefinition: aws.String("arn:aws:ecs:us-east-1:123456789012:task-definition/" + taskDef), RunningCount: running, DesiredCount: desired}
}

func rollingService(deployments ...ecstypes.Deployment) ecstypes.Service {
	return ecstypes.Service{ServiceName: aws.String(testService), Status: aws.String("ACTIVE"), DesiredCount: 2, Deployments: deployments,
		ServiceArn: aws.String("arn:aws:ecs:us-east-1:123456789012:service/tsa-gallery/tsa-gallery-api")}
}

// testEngine is an engine on fake ECS and a fake clock, following the release's deployment of
// one service (ourDeploy, started a minute ago).
func testEngine(fake *fakeECS, clock *steptest.Clock) (*Engine, *state.State, *steptest.Events) {
	events := &steptest.Events{}
	s := settings.Settings{Cluster: testCluster, Services: []string{testService}, Poll: 5 * time.Second, Timeout: 30 * time.Minute}
	e := &Engine{Host: &step.Host{Settings: s, Clock: clock, Report: events, Clients: awsapi.Clients{ECS: fake}, Limit: 30 * time.Minute}}
	st := &state.State{Phase: state.PhaseFollow, Started: clock.Now().Add(-time.Minute)}
	st.Init(s.Services)
	svc := st.Services[testService]
	svc.Controller, svc.Deployment, svc.Before, svc.NoSD = state.ControllerECS, ourDeploy, "ecs-svc/1186094327412771512", true
	e.Begin(st)
	return e, st, events
}

// follow follows the deployment the release started, and no other: one that replaced it (a
// newer PRIMARY of another revision) fails the release with what replaced it, whether it is
// there at the first poll or comes mid-way.
func TestFollowRejectsAReplacedDeployment(t *testing.T) {
	clock := steptest.NewClock()
	t0 := clock.Now().Add(-time.Minute)
	ours := func(rollout ecstypes.DeploymentRolloutState, running int32, status string) ecstypes.Deployment {
		return deployment(ourDeploy, status, "tsa-gallery-api:42", t0, rollout, running, 2)
	}
	other := deployment("ecs-svc/4478193215569034121", "PRIMARY", "tsa-gallery-api:43", t0.Add(40*time.Second), ecstypes.DeploymentRolloutStateInProgress, 0, 2)
	cases := []struct {
		name      string
		polls     []ecstypes.Service
		wantErr   string // "" : done
		describes int
	}{
		{"completes", []ecstypes.Service{
			rollingService(ours(ecstypes.DeploymentRolloutStateInProgress, 1, "PRIMARY")),
			rollingService(ours(ecstypes.DeploymentRolloutStateCompleted, 2, "PRIMARY"))}, "", 2},
		{"replaced before the first poll", []ecstypes.Service{
			rollingService(other, ours(ecstypes.DeploymentRolloutStateInProgress, 1, "ACTIVE"))}, "replaced by another deployment, task definition tsa-gallery-api:43", 1},
		{"replaced mid-way", []ecstypes.Service{
			rollingService(ours(ecstypes.DeploymentRolloutStateInProgress, 1, "PRIMARY")),
			rollingService(ours(ecstypes.DeploymentRolloutStateInProgress, 1, "PRIMARY")),
			rollingService(other, ours(ecstypes.DeploymentRolloutStateInProgress, 1, "ACTIVE"))}, "replaced by another deployment", 3},
		{"replaced, and ours gone", []ecstypes.Service{
			rollingService(ours(ecstypes.DeploymentRolloutStateInProgress, 1, "PRIMARY")),
			rollingService(other)}, "is gone: the service now runs ecs-svc/4478193215569034121", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake := &fakeECS{services: c.polls}
			e, st, _ := testEngine(fake, clock)
			err := e.follow(context.Background(), st)
			if c.wantErr == "" {
				if err != nil || !st.Services[testService].Finished {
					t.Fatalf("follow = %v, finished %v; want done", err, st.Services[testService].Finished)
				}
			} else if !errors.Is(err, failure.ErrFailed) || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("follow = %v; want ErrFailed saying %q", err, c.wantErr)
			}
			if fake.describes != c.describes {
				t.Errorf("%d reads of the service, want %d (one a poll until the verdict)", fake.describes, c.describes)
			}
		})
	}
}

// rollBack stops the deployment with a rollback once a release (a re-run of the failure does
// not send it again), follows the rollback to its end, and says how it ended; a rollback still
// going when the run must end is said to go on without deploystep.
func TestRollBack(t *testing.T) {
	sd := func(status ecstypes.ServiceDeploymentStatus) ecstypes.ServiceDeployment {
		return ecstypes.ServiceDeployment{ServiceDeploymentArn: aws.String(testSD), Status: status}
	}
	cases := []struct {
		name     string
		pinned   bool
		stopped  bool // a run before sent the stop
		stopErrs []error
		sds      []ecstypes.ServiceDeployment
		endAfter int
		stops    int
		want     string
	}{
		{"stopped and rolled back", true, false, nil,
			[]ecstypes.ServiceDeployment{sd("ROLLBACK_REQUESTED"), sd("ROLLBACK_IN_PROGRESS"), sd("ROLLBACK_SUCCESSFUL")}, 0, 1,
			"tsa-gallery-api rollback ROLLBACK_SUCCESSFUL"},
		{"a re-run does not stop it again", true, true, nil,
			[]ecstypes.ServiceDeployment{sd("ROLLBACK_IN_PROGRESS"), sd("ROLLBACK_FAILED")}, 0, 0, "tsa-gallery-api rollback ROLLBACK_FAILED"},
		{"already stopping: one rollback", true, false,
			[]error{steptest.Answer("StopServiceDeployment", 400, &ecstypes.ConflictException{Message: aws.String("The service deployment is already being stopped.")})},
			[]ecstypes.ServiceDeployment{sd("ROLLBACK_SUCCESSFUL")}, 0, 1, "tsa-gallery-api rollback ROLLBACK_SUCCESSFUL"},
		{"refused", true, false,
			[]error{steptest.APIError("StopServiceDeployment", 400, "AccessDeniedException", "User: arn:aws:sts::123456789012:assumed-role/deploystep/1733563800 is not authorized to perform: ecs:StopServiceDeployment")},
			nil, 0, 1, "tsa-gallery-api: StopServiceDeployment failed: "},
		{"no service deployment: nothing to stop, and said", false, false, nil, nil, 0, 0,
			"tsa-gallery-api not rolled back: StopServiceDeployment needs its service deployment, which is not known"},
		{"still rolling back when the run ends", true, false, nil,
			[]ecstypes.ServiceDeployment{sd("ROLLBACK_IN_PROGRESS")}, 4, 1, "tsa-gallery-api rollback not finished when the run had to end (ECS goes on with it)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			fake := &fakeECS{sds: c.sds, stopErrs: c.stopErrs, endAfter: c.endAfter, end: cancel}
			if c.endAfter == 0 {
				fake.endAfter, fake.end = 30, cancel // a rollback followed 30 reads is stuck
			}
			e, st, _ := testEngine(fake, steptest.NewClock())
			svc := st.Services[testService]
			svc.Stopped, svc.NoSD = c.stopped, false
			if c.pinned {
				svc.SD = testSD
			}
			got := e.rollBack(ctx, st)
			if !strings.HasPrefix(got, c.want) {
				t.Fatalf("rollBack = %q, want %q", got, c.want)
			}
			if fake.stops != c.stops {
				t.Errorf("StopServiceDeployment sent %d times, want %d", fake.stops, c.stops)
			}
			if c.pinned && c.want != "" && !strings.Contains(c.want, "failed") && !svc.Stopped {
				t.Error("the stop is not kept as sent: a re-run would send it again")
			}
		})
	}
}

// The first read of a service deployment says where it stands, its stage and what the stage
// means for traffic: a BLUE_GREEN deployment first read in POST_TEST_TRAFFIC_SHIFT says that
// test traffic has shifted, though the run never saw TEST_TRAFFIC_SHIFT.
func TestFirstReadOfAServiceDeploymentSaysItsStage(t *testing.T) {
	clock := steptest.NewClock()
	t0 := clock.Now().Add(-time.Minute)
	service := rollingService(deployment(ourDeploy, "PRIMARY", "tsa-gallery-api:42", t0, ecstypes.DeploymentRolloutStateInProgress, 2, 2))
	service.DeploymentConfiguration = &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyBlueGreen}
	sd := func(status ecstypes.ServiceDeploymentStatus, stage ecstypes.ServiceDeploymentLifecycleStage) ecstypes.ServiceDeployment {
		return ecstypes.ServiceDeployment{ServiceDeploymentArn: aws.String(testSD), Status: status, LifecycleStage: stage,
			DeploymentConfiguration: &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyBlueGreen}}
	}
	fake := &fakeECS{services: []ecstypes.Service{service}, sds: []ecstypes.ServiceDeployment{
		sd(ecstypes.ServiceDeploymentStatusInProgress, ecstypes.ServiceDeploymentLifecycleStagePostTestTrafficShift),
		sd(ecstypes.ServiceDeploymentStatusInProgress, ecstypes.ServiceDeploymentLifecycleStageProductionTrafficShift),
		sd(ecstypes.ServiceDeploymentStatusSuccessful, "")}}
	e, st, events := testEngine(fake, clock)
	svc := st.Services[testService]
	svc.SD, svc.NoSD = testSD, false
	if err := e.follow(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	progress := strings.Join(events.Messages(report.KindProgress), "\n")
	for _, want := range []string{
		"service deployment NcJtaH1B2Ex9kM4VqL0sZ: IN_PROGRESS at POST_TEST_TRAFFIC_SHIFT (test traffic has shifted: the new revision takes all test traffic",
		"PRODUCTION_TRAFFIC_SHIFT",
	} {
		if !strings.Contains(progress, want) {
			t.Errorf("progress does not say %q:\n%s", want, progress)
		}
	}
	if n := strings.Count(progress, "service deployment NcJtaH1B2Ex9kM4VqL0sZ: "); n != 1 {
		t.Errorf("the first read said %d times", n)
	}
}
