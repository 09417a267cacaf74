package awsim_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
)

type clients struct {
	ecs *ecs.Client
	ecr *ecr.Client
	cf  *cloudfront.Client
	cp  *codepipeline.Client
}

func sdk(sim *awsim.Server, maxAttempts int) clients {
	cfg := sim.AWSConfig()
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = maxAttempts
			o.MaxBackoff = 50 * time.Millisecond
			o.RateLimiter = noLimit{}
		})
	}
	return clients{ecs.NewFromConfig(cfg), ecr.NewFromConfig(cfg), cloudfront.NewFromConfig(cfg), codepipeline.NewFromConfig(cfg)}
}

// noLimit lets the SDK retry as often as the test's fault rate needs.
type noLimit struct{}

func (noLimit) GetToken(context.Context, uint) (func() error, error) {
	return func() error { return nil }, nil
}
func (noLimit) AddTokens(uint) error { return nil }

func describe(t *testing.T, c clients) ecstypes.Service {
	t.Helper()
	out, err := c.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{
		Cluster: aws.String(demo.Cluster), Services: []string{demo.Service}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Services) != 1 {
		t.Fatalf("services = %d", len(out.Services))
	}
	return out.Services[0]
}

// demoImage is the demo tag as ECR describes it.
func demoImage(t *testing.T, c clients) *ecr.DescribeImagesOutput {
	t.Helper()
	img, err := c.ecr.DescribeImages(context.Background(), &ecr.DescribeImagesInput{RepositoryName: aws.String(demo.Repository),
		ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String(demo.Tag)}}})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestSDKDecodesEveryService(t *testing.T) {
	t.Parallel()
	sim := start(t, demo.Config(awsim.Success, 400*time.Millisecond, 300*time.Millisecond))
	c := sdk(sim, 1)
	img := demoImage(t, c)
	digest := aws.ToString(img.ImageDetails[0].ImageDigest)
	if !strings.HasPrefix(digest, "sha256:") || img.ImageDetails[0].ImagePushedAt == nil {
		t.Fatalf("image detail = %+v", img.ImageDetails[0])
	}

	sdkECS(t, c, digest)
	sdkCloudFront(t, sim, c)
	sdkCodePipeline(t, sim, c)
}

// sdkECS: a rollout as the SDK reads it, through the service deployments.
func sdkECS(t *testing.T, c clients, digest string) {
	ctx := context.Background()
	up, err := c.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(demo.Cluster),
		Service: aws.String(demo.Service), ForceNewDeployment: true})
	if err != nil {
		t.Fatal(err)
	}
	ours := up.Service.Deployments[0]
	if aws.ToString(ours.Status) != "PRIMARY" || ours.RolloutState != ecstypes.DeploymentRolloutStateInProgress ||
		ours.CreatedAt == nil || len(up.Service.Deployments) != 2 {
		t.Fatalf("after UpdateService: %+v", up.Service.Deployments)
	}
	if cb := up.Service.DeploymentConfiguration.DeploymentCircuitBreaker; cb == nil || !cb.Enable || !cb.Rollback {
		t.Fatalf("circuit breaker = %+v", cb)
	}
	if up.Service.DeploymentController.Type != ecstypes.DeploymentControllerTypeEcs {
		t.Fatalf("controller = %v", up.Service.DeploymentController.Type)
	}
	time.Sleep(500 * time.Millisecond)
	svc := describe(t, c)
	if len(svc.Deployments) != 1 || aws.ToString(svc.Deployments[0].Id) != aws.ToString(ours.Id) ||
		svc.Deployments[0].RolloutState != ecstypes.DeploymentRolloutStateCompleted || svc.RunningCount != 2 {
		t.Fatalf("after the rollout: %+v", svc.Deployments)
	}
	if !strings.Contains(aws.ToString(svc.Events[0].Message), "has reached a steady state") {
		t.Fatalf("newest event = %q", aws.ToString(svc.Events[0].Message))
	}
	tasks, err := c.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(demo.Cluster), StartedBy: ours.Id})
	if err != nil || len(tasks.TaskArns) != 2 {
		t.Fatalf("ListTasks: %v %v", err, tasks)
	}
	dt, err := c.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(demo.Cluster), Tasks: tasks.TaskArns})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range dt.Tasks {
		if aws.ToString(tk.Containers[0].ImageDigest) != digest || aws.ToString(tk.StartedBy) != aws.ToString(ours.Id) {
			t.Fatalf("task %+v runs %s, want %s", tk, aws.ToString(tk.Containers[0].ImageDigest), digest)
		}
	}
	if _, err := c.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{demo.Cluster}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: up.Service.TaskDefinition}); err != nil {
		t.Fatal(err)
	}
	// The service's history, newest first: ours, and the one it replaced.
	lsd, err := c.ecs.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String(demo.Cluster), Service: aws.String(demo.Service)})
	if err != nil || len(lsd.ServiceDeployments) != 2 || !strings.HasSuffix(aws.ToString(lsd.ServiceDeployments[0].TargetServiceRevisionArn), shortID(aws.ToString(up.Service.Deployments[0].Id))) {
		t.Fatalf("ListServiceDeployments: %v %+v", err, lsd)
	}
	dsd, err := c.ecs.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{
		ServiceDeploymentArns: []string{aws.ToString(lsd.ServiceDeployments[0].ServiceDeploymentArn)}})
	if err != nil || len(dsd.ServiceDeployments) != 1 || dsd.ServiceDeployments[0].Status != ecstypes.ServiceDeploymentStatusSuccessful {
		t.Fatalf("DescribeServiceDeployments: %v %+v", err, dsd)
	}

}

// sdkCloudFront: an invalidation created, created again with its CallerReference, refused with
// other paths, completed.
func sdkCloudFront(t *testing.T, sim *awsim.Server, c clients) {
	ctx := context.Background()
	dist, err := c.cf.GetDistribution(ctx, &cloudfront.GetDistributionInput{Id: aws.String(demo.Distribution)})
	if err != nil || aws.ToString(dist.ETag) == "" || aws.ToString(dist.Distribution.Status) != "Deployed" {
		t.Fatalf("GetDistribution: %v %+v", err, dist)
	}
	batch := &cftypes.InvalidationBatch{CallerReference: aws.String("build-1"),
		Paths: &cftypes.Paths{Quantity: aws.Int32(1), Items: []string{"/*"}}}
	inv, err := c.cf.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{DistributionId: aws.String(demo.Distribution), InvalidationBatch: batch})
	if err != nil || aws.ToString(inv.Location) == "" || aws.ToString(inv.Invalidation.Status) != "InProgress" {
		t.Fatalf("CreateInvalidation: %v %+v", err, inv)
	}
	again, err := c.cf.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{DistributionId: aws.String(demo.Distribution), InvalidationBatch: batch})
	if err != nil || aws.ToString(again.Invalidation.Id) != aws.ToString(inv.Invalidation.Id) {
		t.Fatalf("same CallerReference and paths should return the same invalidation: %v", err)
	}
	_, err = c.cf.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{DistributionId: aws.String(demo.Distribution),
		InvalidationBatch: &cftypes.InvalidationBatch{CallerReference: aws.String("build-1"), Paths: &cftypes.Paths{Quantity: aws.Int32(1), Items: []string{"/index.html"}}}})
	// The SDK has no type for this code: it arrives as a generic API error.
	var exists smithy.APIError
	if !errors.As(err, &exists) || exists.ErrorCode() != "InvalidationBatchAlreadyExists" {
		t.Fatalf("same CallerReference, other paths: %v, want InvalidationBatchAlreadyExists", err)
	}
	time.Sleep(400 * time.Millisecond)
	got, err := c.cf.GetInvalidation(ctx, &cloudfront.GetInvalidationInput{DistributionId: aws.String(demo.Distribution), Id: inv.Invalidation.Id})
	if err != nil || aws.ToString(got.Invalidation.Status) != "Completed" {
		t.Fatalf("GetInvalidation: %v %+v", err, got)
	}
	if e := sim.Effects(); e.Invalidations[demo.Distribution] != 1 {
		t.Fatalf("invalidations = %v, want 1", e.Invalidations)
	}

}

// sdkCodePipeline: job results, a second final result, an unknown job.
func sdkCodePipeline(t *testing.T, sim *awsim.Server, c clients) {
	ctx := context.Background()
	job := sim.NewJob()
	if _, err := c.cp.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{JobId: aws.String(sim.NewJob()),
		ContinuationToken: aws.String("v1.abc"), ExecutionDetails: &cptypes.ExecutionDetails{Summary: aws.String("half"), PercentComplete: aws.Int32(50)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.cp.PutJobFailureResult(ctx, &codepipeline.PutJobFailureResultInput{JobId: aws.String(job),
		FailureDetails: &cptypes.FailureDetails{Type: cptypes.FailureTypeJobFailed, Message: aws.String("boom")}}); err != nil {
		t.Fatal(err)
	}
	_, err := c.cp.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{JobId: aws.String(job)})
	var state *cptypes.InvalidJobStateException
	if !errors.As(err, &state) {
		t.Fatalf("second final result: %v, want InvalidJobStateException", err)
	}
	_, err = c.cp.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{JobId: aws.String("00000000-0000-4000-8000-000000000000")}) // well-formed, unknown
	var nojob *cptypes.JobNotFoundException
	if !errors.As(err, &nojob) {
		t.Fatalf("unknown job: %v, want JobNotFoundException", err)
	}
}

func TestSDKTypedErrors(t *testing.T) {
	t.Parallel()
	cfg := demo.Config(awsim.Success, time.Second, time.Second)
	cfg.Clusters[0].Services = append(cfg.Clusters[0].Services, awsim.ServiceSpec{Name: "blue-green", Controller: "CODE_DEPLOY"})
	sim := start(t, cfg)
	c := sdk(sim, 1)
	ctx := context.Background()
	_, err := c.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(demo.Cluster), Service: aws.String("nope"), ForceNewDeployment: true})
	var snf *ecstypes.ServiceNotFoundException
	if !errors.As(err, &snf) {
		t.Errorf("unknown service: %v", err)
	}
	_, err = c.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("nope"), Services: []string{"api"}})
	var cnf *ecstypes.ClusterNotFoundException
	if !errors.As(err, &cnf) {
		t.Errorf("unknown cluster: %v", err)
	}
	_, err = c.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(demo.Cluster), Service: aws.String("blue-green"), ForceNewDeployment: true})
	var ipe *ecstypes.InvalidParameterException
	if !errors.As(err, &ipe) {
		t.Errorf("CODE_DEPLOY controller: %v", err)
	}
	_, err = c.ecr.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(demo.Repository),
		ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("nope")}}})
	var inf *ecrtypes.ImageNotFoundException
	if !errors.As(err, &inf) {
		t.Errorf("unknown tag: %v", err)
	}
	_, err = c.ecr.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("nope")})
	var rnf *ecrtypes.RepositoryNotFoundException
	if !errors.As(err, &rnf) {
		t.Errorf("unknown repository: %v", err)
	}
	_, err = c.cf.GetDistribution(ctx, &cloudfront.GetDistributionInput{Id: aws.String("ENOPE")})
	var nsd *cftypes.NoSuchDistribution
	if !errors.As(err, &nsd) {
		t.Errorf("unknown distribution: %v", err)
	}
	_, err = c.cf.GetInvalidation(ctx, &cloudfront.GetInvalidationInput{DistributionId: aws.String(demo.Distribution), Id: aws.String("INOPE")})
	var nsi *cftypes.NoSuchInvalidation
	if !errors.As(err, &nsi) {
		t.Errorf("unknown invalidation: %v", err)
	}
	var paths []string
	for i := 0; i < 16; i++ {
		paths = append(paths, "/p"+string(rune('a'+i))+"/*")
	}
	_, err = c.cf.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{DistributionId: aws.String(demo.Distribution),
		InvalidationBatch: &cftypes.InvalidationBatch{CallerReference: aws.String("wild"), Paths: &cftypes.Paths{Quantity: aws.Int32(16), Items: paths}}})
	var tooMany *cftypes.TooManyInvalidationsInProgress
	if !errors.As(err, &tooMany) {
		t.Errorf("16 wildcard paths: %v", err)
	}
}

// TestScenarios follows each scenario's timeline through DescribeServices and DescribeTasks.
func TestScenarios(t *testing.T) {
	t.Parallel()
	rollout := 800 * time.Millisecond
	type check func(t *testing.T, ours string, svc ecstypes.Service, stopped []ecstypes.Task)
	cases := []struct {
		kind  string
		after time.Duration
		check check
	}{
		{awsim.Rollback, rollout + rollout/2 + 200*time.Millisecond, func(t *testing.T, ours string, svc ecstypes.Service, stopped []ecstypes.Task) {
			if len(svc.Deployments) != 1 || aws.ToString(svc.Deployments[0].Id) == ours || svc.RunningCount != svc.DesiredCount {
				t.Fatalf("rollback should leave one other deployment at running == desired: %+v", svc.Deployments)
			}
			if len(stopped) == 0 || aws.ToString(stopped[0].StoppedReason) != "Essential container in task exited" {
				t.Fatalf("stopped tasks = %+v", stopped)
			}
		}},
		{awsim.CrashLoop, rollout, func(t *testing.T, ours string, svc ecstypes.Service, stopped []ecstypes.Task) {
			d := svc.Deployments[0]
			if aws.ToString(d.Id) != ours || d.FailedTasks < 3 || d.RolloutState != ecstypes.DeploymentRolloutStateInProgress {
				t.Fatalf("crash loop: %+v", d)
			}
			if len(stopped) < 3 || !strings.HasPrefix(aws.ToString(stopped[0].StoppedReason), "CannotPullContainerError:") ||
				aws.ToString((*string)(&stopped[0].StopCode)) != "TaskFailedToStart" {
				t.Fatalf("stopped tasks = %+v", stopped)
			}
		}},
		{awsim.NeverFinish, rollout * 2, func(t *testing.T, ours string, svc ecstypes.Service, stopped []ecstypes.Task) {
			d := svc.Deployments[0]
			if aws.ToString(d.Id) != ours || d.RunningCount != 0 || d.PendingCount != 2 || len(stopped) != 0 {
				t.Fatalf("never: %+v", d)
			}
		}},
		{awsim.Foreign, rollout/2 + 100*time.Millisecond, func(t *testing.T, ours string, svc ecstypes.Service, stopped []ecstypes.Task) {
			if aws.ToString(svc.Deployments[0].Id) == ours || aws.ToString(svc.Deployments[1].Id) != ours ||
				aws.ToString(svc.Deployments[1].Status) != "ACTIVE" {
				t.Fatalf("foreign: %+v", svc.Deployments)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			t.Parallel()
			sim := start(t, demo.Config(c.kind, rollout, time.Second))
			cl := sdk(sim, 1)
			ctx := context.Background()
			up, err := cl.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(demo.Cluster),
				Service: aws.String(demo.Service), ForceNewDeployment: true})
			if err != nil {
				t.Fatal(err)
			}
			ours := aws.ToString(up.Service.Deployments[0].Id)
			time.Sleep(c.after)
			svc := describe(t, cl)
			// startedBy must be the only filter (ListTasks reference): the service's stopped
			// tasks, then ours by startedBy.
			lt, err := cl.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(demo.Cluster),
				ServiceName: aws.String(demo.Service), DesiredStatus: ecstypes.DesiredStatusStopped})
			if err != nil {
				t.Fatal(err)
			}
			var stopped []ecstypes.Task
			if len(lt.TaskArns) > 0 {
				dt, err := cl.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(demo.Cluster), Tasks: lt.TaskArns})
				if err != nil {
					t.Fatal(err)
				}
				for _, task := range dt.Tasks {
					if aws.ToString(task.StartedBy) == ours {
						stopped = append(stopped, task)
					}
				}
			}
			c.check(t, ours, svc, stopped)
		})
	}
}

func TestWrongDigestScenario(t *testing.T) {
	t.Parallel()
	sim := start(t, demo.Config(awsim.WrongDigest, 300*time.Millisecond, time.Second))
	c := sdk(sim, 1)
	ctx := context.Background()
	img := demoImage(t, c)
	if _, err := c.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(demo.Cluster),
		Service: aws.String(demo.Service), ForceNewDeployment: true}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	lt, err := c.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(demo.Cluster), ServiceName: aws.String(demo.Service)})
	if err != nil {
		t.Fatal(err)
	}
	dt, err := c.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(demo.Cluster), Tasks: lt.TaskArns})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range dt.Tasks {
		if got := aws.ToString(tk.Containers[0].ImageDigest); got == "" || got == aws.ToString(img.ImageDetails[0].ImageDigest) {
			t.Fatalf("task digest %q should differ from the tag's %q", got, aws.ToString(img.ImageDetails[0].ImageDigest))
		}
	}
}

// TestFaultsSeeded: faults fire at about the configured rate, the same seed replays the same
// faults, and the SDK's retries carry every call through.
func TestFaultsSeeded(t *testing.T) {
	t.Parallel()
	run := func() []string {
		cfg := demo.Config(awsim.Success, time.Second, time.Second)
		cfg.Seed = 42
		cfg.Faults = map[string]awsim.Fault{"ECS.DescribeServices": {Throttle: 0.3, ServerError: 0.2, Reset: 0.1}}
		sim := start(t, cfg)
		c := sdk(sim, 20)
		for i := 0; i < 100; i++ {
			describe(t, c) // fails the test if retries did not carry the call through
		}
		var faults []string
		for _, call := range sim.Calls() {
			faults = append(faults, call.Error)
		}
		return faults
	}
	a, b := run(), run()
	if strings.Join(a, ",") != strings.Join(b, ",") {
		t.Fatal("the same seed gave different fault sequences")
	}
	count := map[string]int{}
	for _, f := range a {
		switch {
		case f == "":
			count["ok"]++
		case strings.HasPrefix(f, "fault:ThrottlingException"):
			count["throttle"]++
		case f == "fault:500" || f == "fault:503":
			count["5xx"]++
		case f == "fault:reset":
			count["reset"]++
		}
	}
	total := len(a)
	if count["ok"] != 100 {
		t.Fatalf("successful calls = %d, want 100 (%v)", count["ok"], count)
	}
	// Faults are drawn in order reset, throttle, 5xx... per request; check each rate loosely.
	rate := func(k string) float64 { return float64(count[k]) / float64(total) }
	if r := rate("reset"); r < 0.04 || r > 0.16 {
		t.Errorf("reset rate %.2f, configured 0.1 (%v)", r, count)
	}
	if r := rate("throttle"); r < 0.15 || r > 0.4 {
		t.Errorf("throttle rate %.2f, configured 0.3 minus resets (%v)", r, count)
	}
	if r := rate("5xx"); r < 0.05 || r > 0.3 {
		t.Errorf("5xx rate %.2f (%v)", r, count)
	}
}

func TestLatencyFault(t *testing.T) {
	t.Parallel()
	cfg := demo.Config(awsim.Success, time.Second, time.Second)
	cfg.Faults = map[string]awsim.Fault{"ECS.*": {Latency: 1, Delay: awsim.Duration(300 * time.Millisecond)}}
	sim := start(t, cfg)
	start := time.Now()
	describe(t, sdk(sim, 1))
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("call took %v, want at least the 300ms latency", d)
	}
}

// A request held by a latency fault ends when the server closes, instead of outliving it.
func TestLatencyEndsOnClose(t *testing.T) {
	t.Parallel()
	cfg := demo.Config(awsim.Success, time.Second, time.Second)
	cfg.Faults = map[string]awsim.Fault{"ECS.*": {Latency: 1, Delay: awsim.Duration(time.Minute)}}
	sim, err := awsim.Start(cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := sdk(sim, 1).ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{
			Cluster: aws.String(demo.Cluster), Services: []string{demo.Service}})
		done <- err
	}()
	time.Sleep(200 * time.Millisecond) // the request is held
	start := time.Now()
	sim.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the held request was answered as if nothing happened")
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("the held request ended %v after Close", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a request held by a one-minute latency outlived Close by 10s")
	}
}

// TestDriverFollowsContinuations plays CodePipeline against a function that asks for two
// continuations before it reports success.
func TestDriverFollowsContinuations(t *testing.T) {
	t.Parallel()
	sim := start(t, awsim.Config{})
	c := sdk(sim, 1)
	fn := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Job struct {
				ID   string `json:"id"`
				Data struct {
					ContinuationToken string `json:"continuationToken"`
				} `json:"data"`
			} `json:"CodePipeline.job"`
		}
		if err := jsonDecode(r, &ev); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		next := map[string]string{"": "one", "one": "two", "two": ""}[ev.Job.Data.ContinuationToken]
		in := &codepipeline.PutJobSuccessResultInput{JobId: aws.String(ev.Job.ID)}
		if next != "" {
			in.ContinuationToken = aws.String(next)
		}
		if _, err := c.cp.PutJobSuccessResult(r.Context(), in); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Write([]byte("null"))
	}))
	fn.Listener.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fn.Listener = ln
	fn.Start()
	defer fn.Close()
	d := &awsim.Driver{Sim: sim, InvokeURL: fn.URL}
	x, err := d.Run(context.Background(), awsim.JobInput{UserParameters: "{}"})
	if err != nil {
		t.Fatal(err)
	}
	invs := x.Invocations
	if len(invs) != 3 || invs[1].Token != "one" || invs[2].Token != "two" || len(x.Jobs) != 3 {
		t.Fatalf("invocations %+v", invs)
	}
	if invs[0].Job == invs[1].Job || invs[1].Job == invs[2].Job {
		t.Fatalf("each continuation must come as a new job: %+v", invs)
	}
	final, ok := x.Final()
	if !ok || !final.Success || x.Jobs[2].Status != "Succeeded" || x.Jobs[0].Status != "Succeeded" {
		t.Fatalf("jobs %+v", x.Jobs)
	}
	e := sim.Effects()
	if e.JobResults[x.Jobs[2].ID] != 1 || e.Continuations[x.Jobs[0].ID] != 1 || e.Continuations[x.Jobs[1].ID] != 1 {
		t.Fatalf("effects %+v", e)
	}
}

func jsonDecode(r *http.Request, v any) error { return json.NewDecoder(r.Body).Decode(v) }

// The inspection endpoints serve the call log (with the key parameters) and the effects.
func TestInspectionEndpoints(t *testing.T) {
	t.Parallel()
	sim := start(t, demo.Config(awsim.Success, time.Second, time.Second))
	c := sdk(sim, 1)
	ctx := context.Background()
	if _, err := c.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(demo.Cluster),
		Service: aws.String(demo.Service), ForceNewDeployment: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.cf.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{DistributionId: aws.String(demo.Distribution),
		InvalidationBatch: &cftypes.InvalidationBatch{CallerReference: aws.String("ref-9"), Paths: &cftypes.Paths{Quantity: aws.Int32(1), Items: []string{"/a"}}}}); err != nil {
		t.Fatal(err)
	}
	var calls []awsim.Call
	var effects awsim.Effects
	for path, v := range map[string]any{"/_awsim/calls": &calls, "/_awsim/effects": &effects} {
		resp, err := http.Get(sim.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if len(calls) != 2 || calls[0].Params["forceNewDeployment"] != "true" || calls[1].Params["callerReference"] != "ref-9" || calls[1].Params["paths"] != "/a" {
		t.Fatalf("calls %+v", calls)
	}
	if effects.Deployments[demo.Cluster+"/"+demo.Service] != 1 || effects.Invalidations[demo.Distribution] != 1 {
		t.Fatalf("effects %+v", effects)
	}
}

func shortID(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }
