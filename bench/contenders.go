package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
	"github.com/deploystep/deploystep/internal/testtool"
)

// The contenders: the seed's AWS CLI lines, the SDK waiters and deploystep, each run against its
// own simulator, capped, and what it did read off the simulator's call log.

// run is what one contender did on one simulator.
type run struct {
	contender string
	sim       *awsim.Server
	start     time.Time
	exit      time.Time
	code      int    // exit code; -1 when capped
	verdict   string // success, failure, capped
	output    string
}

func (r run) calls(service, op string) []awsim.Call {
	var out []awsim.Call
	for _, c := range r.sim.Calls() {
		if (service == "" || c.Service == service) && (op == "" || c.Op == op) {
			out = append(out, c)
		}
	}
	return out
}

// first returns the time of the first call of op, or zero.
func (r run) first(service, op string) time.Time {
	if cs := r.calls(service, op); len(cs) > 0 {
		return cs[0].Time
	}
	return time.Time{}
}

func (r run) opCounts() string {
	count := map[string]int{}
	for _, c := range r.sim.Calls() {
		count[c.Op]++
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(count)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, count[k]))
	}
	return strings.Join(parts, ", ")
}

const seedScript = `set -e
aws ecs update-service --cluster $CLUSTER --service $SERVICE --force-new-deployment > /dev/null
while true; do aws ecs wait services-stable --cluster $CLUSTER --service $SERVICE > /dev/null && break; sleep 2; done
INVALIDATIONID=$(aws cloudfront create-invalidation --distribution-id $DISTRIBUTIONID --paths /\* --query Invalidation.Id --output text)
aws cloudfront wait invalidation-completed --distribution-id $DISTRIBUTIONID --id $INVALIDATIONID
`

func newSim(cfg awsim.Config) *awsim.Server {
	sim, err := awsim.Start(cfg, 0)
	if err != nil {
		panic(err)
	}
	return sim
}

func baseEnv(sim *awsim.Server, extra ...string) []string {
	env := append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "AWS_PAGER="}, sim.Env()...)
	return append(append(env, demo.Env("IMAGE=")...), extra...)
}

// execRun runs a command against sim, capped (testtool.Exec, as the tests run the binary).
func execRun(name string, sim *awsim.Server, env []string, args ...string) run {
	ctx, cancel := context.WithTimeout(context.Background(), *capCLI)
	defer cancel()
	res := testtool.Exec(ctx, env, args...)
	r := run{contender: name, sim: sim, start: res.Start, exit: res.End, output: res.Output, code: res.Code}
	switch {
	case res.Capped:
		r.verdict = "capped"
	case res.Err == nil:
		r.verdict = "success"
	case res.Code >= 0:
		r.verdict = "failure"
	default:
		r.verdict = "error: " + res.Err.Error()
	}
	return r
}

// runCLI runs script with "aws" on PATH the AWS CLI v2 pointed at sim.
func runCLI(sim *awsim.Server, script string, extra ...string) run {
	dir, _ := os.MkdirTemp("", "bench-aws")
	defer os.RemoveAll(dir)
	if _, err := sim.CLIShim(dir, *awsCLI); err != nil {
		return run{contender: "cli", sim: sim, verdict: "error: " + err.Error()}
	}
	env := baseEnv(sim, extra...)
	env[0] = "PATH=" + dir + ":" + os.Getenv("PATH")
	return execRun("cli", sim, env, "bash", "-c", script)
}

func runDeploystep(sim *awsim.Server, extra ...string) run {
	return execRun("deploystep", sim, baseEnv(sim, extra...), *deploystepBin)
}

// runSDKWaiters is UpdateService, ServicesStable, CreateInvalidation and InvalidationCompleted
// with the SDK's default waiter options, capped like the CLI.
func runSDKWaiters(sim *awsim.Server, cluster string, services []string, dist string) run {
	return runSDKWaitersWith(sim, sim.AWSConfig(), cluster, services, dist)
}

// runSDKWaitersWith is runSDKWaiters with the SDK configuration cfg (a role session's).
func runSDKWaitersWith(sim *awsim.Server, cfg aws.Config, cluster string, services []string, dist string) run {
	r := run{contender: "sdk", sim: sim, start: time.Now()}
	ec, cf := ecs.NewFromConfig(cfg), cloudfront.NewFromConfig(cfg)
	ctx := context.Background()
	err := func() error {
		for _, s := range services {
			if _, err := ec.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String(s), ForceNewDeployment: true}); err != nil {
				return err
			}
		}
		if err := ecs.NewServicesStableWaiter(ec).Wait(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: services}, *capCLI); err != nil {
			return err
		}
		if dist == "" {
			return nil
		}
		inv, err := cf.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{DistributionId: aws.String(dist),
			InvalidationBatch: &cftypes.InvalidationBatch{CallerReference: aws.String(fmt.Sprint(time.Now().UnixNano())),
				Paths: &cftypes.Paths{Quantity: aws.Int32(1), Items: []string{"/*"}}}})
		if err != nil {
			return err
		}
		return cloudfront.NewInvalidationCompletedWaiter(cf).Wait(ctx, &cloudfront.GetInvalidationInput{DistributionId: aws.String(dist), Id: inv.Invalidation.Id}, *capCLI)
	}()
	r.exit = time.Now()
	switch {
	case err == nil:
		r.verdict = "success"
	case strings.Contains(err.Error(), "exceeded max wait time"):
		r.code, r.verdict = -1, "capped"
	default:
		r.code, r.verdict, r.output = 1, "failure", err.Error()
	}
	return r
}

// three runs the contenders concurrently, each on its own simulator of cfg.
func three(cfg func() awsim.Config, services []string) (cli, sdk, ds run) {
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); cli = runCLI(newSim(cfg()), seedScript) }()
	go func() {
		defer wg.Done()
		sdk = runSDKWaiters(newSim(cfg()), demo.Cluster, services, demo.Distribution)
	}()
	go func() { defer wg.Done(); ds = runDeploystep(newSim(cfg())) }()
	wg.Wait()
	return
}

func verdictCell(r run, right string) string {
	v := r.verdict
	if v == "capped" {
		v = fmt.Sprintf("never ends (capped at %v)", *capCLI)
	}
	mark := "wrong"
	if r.verdict == right {
		mark = "right"
	}
	return fmt.Sprintf("%s after %s (%s)", v, secs(r.exit.Sub(r.start)), mark)
}
