// Command bench measures deploystep side by side with what users run today, on the same
// simulated timelines: (a) the seed's four AWS CLI v2 lines exactly as in the lab's buildspec,
// the bash loop included; (b) aws-sdk-go-v2's ServicesStable and InvalidationCompleted waiters
// with default options; (c) deploystep. It prints a Markdown table and writes it to
// bench/results.md.
//
// Every contender gets its own simulator, so the timelines are identical and the call logs
// separate. Overheads are read off the simulator: when the tool made its next move (its first
// CreateInvalidation, or its exit) minus when the simulated phase had really finished.
//
//	go run ./bench -deploystep bin/deploystep -aws /usr/bin/aws
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"deploystep/awsim"
)

var (
	deploystepBin = flag.String("deploystep", "bin/deploystep", "the deploystep binary")
	awsCLI        = flag.String("aws", "/usr/bin/aws", "the AWS CLI v2")
	rieBin        = flag.String("rie", "", "aws-lambda-rie (default: $(go env GOPATH)/bin/aws-lambda-rie)")
	out           = flag.String("o", "bench/results.md", "where to write the table")
	capCLI        = flag.Duration("cap", 120*time.Second, "cap on a contender that does not end by itself")
	only          = flag.String("only", "", "run only these scenarios, like 1,4 (the table is not written)")
)

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
	keys := make([]string, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, count[k]))
	}
	return strings.Join(parts, ", ")
}

type row struct {
	scenario, figure, cli, sdk, ds, target, pass string
}

func main() {
	flag.Parse()
	if *rieBin == "" {
		gopath, _ := exec.Command("go", "env", "GOPATH").Output()
		*rieBin = filepath.Join(strings.TrimSpace(string(gopath)), "bin", "aws-lambda-rie")
	}
	for _, p := range []string{*deploystepBin, *awsCLI, *rieBin} {
		if _, err := os.Stat(p); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s is missing (make build, make tools; apt-get install awscli)\n", p)
			os.Exit(2)
		}
	}
	began := time.Now()
	var mu sync.Mutex
	var rows []row
	add := func(rs ...row) {
		mu.Lock()
		rows = append(rows, rs...)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	want := func(n string) bool { return *only == "" || strings.Contains(","+*only+",", ","+n+",") }
	for i, sc := range []func() []row{scenarioSuccess, scenarioRollback, scenarioCrashLoop, scenarioFleet} {
		if !want(strconv.Itoa(i + 1)) {
			continue
		}
		wg.Add(1)
		go func(sc func() []row) {
			defer wg.Done()
			add(sc()...)
		}(sc)
	}
	wg.Wait()
	if want("5") {
		add(scenarioLambda()...)
	}
	if want("6") {
		add(goBenchmarks()...)
	}
	order := map[string]int{"1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "6": 6}
	sort.SliceStable(rows, func(i, j int) bool { return order[rows[i].scenario[:1]] < order[rows[j].scenario[:1]] })

	var b bytes.Buffer
	fmt.Fprintf(&b, "# deploystep benchmark\n\nMeasured %s on %s, in %.0f s. `make bench` regenerates this file.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), machine(), time.Since(began).Seconds())
	b.WriteString("Contenders on identical simulated timelines (each its own simulator): **CLI** = the seed's four AWS CLI v2 lines " +
		"verbatim, bash loop included; **SDK waiters** = aws-sdk-go-v2 `ServicesStable` + `InvalidationCompleted` with default " +
		"options; **deploystep** with its defaults (1 s poll). Overhead = when the tool moved on (its first CreateInvalidation, " +
		"or its exit) minus when the simulated phase had really finished. A contender that never ends is capped at " +
		fmt.Sprintf("%v.\n\n", *capCLI))
	b.WriteString("| scenario | figure | CLI | SDK waiters | deploystep | target (deploystep) | pass |\n|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", r.scenario, r.figure, r.cli, r.sdk, r.ds, r.target, r.pass)
	}
	fmt.Print(b.String())
	if *only != "" {
		return
	}
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	for _, r := range rows {
		if r.pass == "FAIL" {
			fmt.Fprintln(os.Stderr, "bench: a target was missed")
			os.Exit(1)
		}
	}
}

func machine() string {
	cpu := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	return fmt.Sprintf("%d cores (%s), %s/%s, %s", runtime.NumCPU(), cpu, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

func passFail(ok bool) string {
	if ok {
		return "pass"
	}
	return "FAIL"
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

// --- contenders ---

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
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(),
		"AWS_ENDPOINT_URL=" + sim.URL(), "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDBENCH", "AWS_SECRET_ACCESS_KEY=bench",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=",
		"CLUSTER=" + awsim.DemoCluster, "SERVICE=" + awsim.DemoService, "DISTRIBUTIONID=" + awsim.DemoDistribution}, extra...)
}

// execRun runs a command against sim, capped.
func execRun(name string, sim *awsim.Server, env []string, args ...string) run {
	r := run{contender: name, sim: sim, start: time.Now()}
	ctx, cancel := context.WithTimeout(context.Background(), *capCLI)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	r.exit, r.output = time.Now(), buf.String()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		r.code, r.verdict = -1, "capped"
	case err == nil:
		r.verdict = "success"
	case errors.As(err, &exit):
		r.code, r.verdict = exit.ExitCode(), "failure"
	default:
		r.code, r.verdict = -1, "error: "+err.Error()
	}
	return r
}

// cliShimDir holds an "aws" that is the AWS CLI v2 pointed at $AWSIM_URL (CLI 2.9 predates
// AWS_ENDPOINT_URL).
var cliShimDir = sync.OnceValue(func() string {
	dir, _ := os.MkdirTemp("", "bench-aws")
	os.WriteFile(filepath.Join(dir, "aws"), []byte("#!/bin/sh\nexec "+*awsCLI+" --endpoint-url \"$AWSIM_URL\" \"$@\"\n"), 0o755)
	return dir
})

func runCLI(sim *awsim.Server, script string, extra ...string) run {
	env := baseEnv(sim, append(extra, "AWSIM_URL="+sim.URL())...)
	env[0] = "PATH=" + cliShimDir() + ":" + os.Getenv("PATH")
	return execRun("cli", sim, env, "bash", "-c", script)
}

func runDeploystep(sim *awsim.Server, extra ...string) run {
	return execRun("deploystep", sim, baseEnv(sim, extra...), *deploystepBin)
}

// runSDKWaiters is UpdateService, ServicesStable, CreateInvalidation and InvalidationCompleted
// with the SDK's default waiter options, capped like the CLI.
func runSDKWaiters(sim *awsim.Server, cluster string, services []string, dist string) run {
	r := run{contender: "sdk", sim: sim, start: time.Now()}
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(sim.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDBENCH", "bench", "")}
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
		sdk = runSDKWaiters(newSim(cfg()), awsim.DemoCluster, services, awsim.DemoDistribution)
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

// --- scenarios ---

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
		cfg := func() awsim.Config { return awsim.DemoConfig(awsim.Success, ro, inv) }
		wg.Add(1)
		go func() {
			defer wg.Done()
			cli, sdk, ds := three(cfg, []string{awsim.DemoService})
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
		c := awsim.DemoConfig(awsim.Rollback, 20*time.Second, 10*time.Second)
		c.Clusters[0].Services[0].Scenario.FailAfter = awsim.Duration(failAfter)
		c.Clusters[0].Services[0].Scenario.TaskFailEvery = awsim.Duration(every)
		return c
	}
	cli, sdk, ds := three(cfg, []string{awsim.DemoService})
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
		c := awsim.DemoConfig(awsim.CrashLoop, 20*time.Second, 10*time.Second)
		c.Clusters[0].Services[0].CircuitBreaker = false
		c.Clusters[0].Services[0].Scenario.TaskFailEvery = awsim.Duration(every)
		return c
	}
	cli, sdk, ds := three(cfg, []string{awsim.DemoService})
	evidence := 3 * every // the third failed task reaches the threshold
	late := ds.exit.Sub(ds.first("ECS", "UpdateService").Add(evidence))
	return []row{
		{"3. crash loop, no breaker", "time to a failing exit (right: failure)", verdictCell(cli, "failure"), verdictCell(sdk, "failure"), verdictCell(ds, "failure"), "right verdict", passFail(ds.verdict == "failure")},
		{"3. crash loop, no breaker", "verdict after the first conclusive evidence (3rd failed task at 15 s)", "-", "-", secs(late), "≤ 1 poll interval (1 s)", passFail(late <= 1500*time.Millisecond)},
	}
}

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
		c := awsim.Config{Distributions: []awsim.DistributionSpec{{ID: awsim.DemoDistribution, InvalidationTime: awsim.Duration(5 * time.Second)}},
			Repositories: awsim.DemoConfig(awsim.Success, 0, 0).Repositories}
		for i := 0; i < clusters; i++ {
			cs := awsim.ClusterSpec{Name: fmt.Sprintf("cluster-%d", i)}
			for j := 0; j < perCluster; j++ {
				cs.Services = append(cs.Services, awsim.ServiceSpec{Name: fmt.Sprintf("svc-%d", j), Image: awsim.DemoRepository + ":" + awsim.DemoTag,
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
	// ECS reads per second per cluster, over each run; overhead after its last rollout completed.
	var minGap time.Duration
	measure := func(sim *awsim.Server, runs []run) (maxRate float64, overhead time.Duration, ok bool) {
		minGap = 0
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
		return maxRate, overhead / time.Duration(len(runs)), ok
	}
	cr, co, cok := measure(cliSim, cliRuns)
	sr, so, sok := measure(sdkSim, sdkRuns)
	dr, do, dok := measure(dsSim, dsRuns)
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

// --- Lambda ---

var initRE = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)`)

// lambdaFigures runs bootstrap under aws-lambda-rie, invokes it once with event, and returns the
// init time RIE reports and the peak resident memory of the function process.
func lambdaFigures(bootstrap string, sim *awsim.Server, event []byte) (initMS float64, peakKB int, err error) {
	p1, p2 := freePort(), freePort()
	cmd := exec.Command(*rieBin, "--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", p1),
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", p2), bootstrap)
	cmd.Env = append(baseEnv(sim), "AWS_LAMBDA_FUNCTION_TIMEOUT=30", "POLL_INTERVAL=250ms")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	url := fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", p1)
	d := &awsim.Driver{Sim: sim, InvokeURL: url}
	for i := 0; ; i++ {
		if _, err = d.Invoke(context.Background(), event); err == nil || i > 100 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return 0, 0, err
	}
	// The function process is RIE's child: read its high-water mark of resident memory.
	var children []string
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", cmd.Process.Pid))
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		children = append(children, strings.Fields(string(b))...)
	}
	for _, pid := range children {
		status, _ := os.ReadFile("/proc/" + pid + "/status")
		for _, line := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(line, "VmHWM:") {
				peakKB, _ = strconv.Atoi(strings.Fields(line)[1])
			}
		}
	}
	if m := initRE.FindStringSubmatch(logs.String()); m != nil {
		initMS, _ = strconv.ParseFloat(m[1], 64)
	} else {
		err = fmt.Errorf("no INIT REPORT in RIE's log:\n%s", logs.String())
	}
	return initMS, peakKB, err
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func scenarioLambda() []row {
	dir, _ := os.MkdirTemp("", "bench-lambda")
	defer os.RemoveAll(dir)
	build := func(pkg, name string) (string, int64, error) {
		bin := filepath.Join(dir, name)
		c := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags", "-s -w", "-o", bin, pkg)
		c.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := c.CombinedOutput(); err != nil {
			return "", 0, fmt.Errorf("%v: %s", err, out)
		}
		zip := bin + ".zip"
		if out, err := exec.Command("go", "run", "./internal/lambdazip", "-o", zip, bin).CombinedOutput(); err != nil {
			return "", 0, fmt.Errorf("%v: %s", err, out)
		}
		st, err := os.Stat(zip)
		if err != nil {
			return "", 0, err
		}
		return bin, st.Size(), nil
	}
	dsBin, dsZip, err1 := build(".", "deploystep")
	helloBin, helloZip, err2 := build("./bench/hello", "hello")
	if err := errors.Join(err1, err2); err != nil {
		return []row{{"5. Lambda", "build", "-", "-", err.Error(), "", "FAIL"}}
	}
	// Memory: one full deploy. Init: the median of cold starts (a fresh RIE each), alternating
	// the two functions so that machine noise hits both alike.
	sim := newSim(awsim.DemoConfig(awsim.Success, 2*time.Second, time.Second))
	job := sim.NewJob()
	event := awsim.Event(job, awsim.JobInput{UserParameters: `{"CLUSTER":"` + awsim.DemoCluster + `","SERVICE":"` + awsim.DemoService +
		`","DISTRIBUTIONID":"` + awsim.DemoDistribution + `"}`}, "")
	_, dsMem, err1 := lambdaFigures(dsBin, sim, event)
	_, helloMem, err2 := lambdaFigures(helloBin, newSim(awsim.Config{}), []byte(`{}`))
	var dsInits, helloInits []float64
	for i := 0; i < 7 && err1 == nil && err2 == nil; i++ {
		quick := newSim(awsim.Config{})
		var d, h float64
		d, _, err1 = lambdaFigures(dsBin, quick, awsim.Event(quick.NewJob(), awsim.JobInput{UserParameters: "{}"}, ""))
		h, _, err2 = lambdaFigures(helloBin, quick, []byte(`{}`))
		dsInits, helloInits = append(dsInits, d), append(helloInits, h)
	}
	if err := errors.Join(err1, err2); err != nil {
		return []row{{"5. Lambda", "aws-lambda-rie", "-", "-", err.Error(), "", "FAIL"}}
	}
	median := func(v []float64) float64 { sort.Float64s(v); return v[len(v)/2] }
	dsInit, helloInit := median(dsInits), median(helloInits)
	j, _ := sim.Job(job)
	done := len(j.Results) == 1 && j.Results[0].Success
	return []row{
		{"5. Lambda under aws-lambda-rie", "init time, median of 7 cold starts (hello-world aws-lambda-go beside it)", "-", fmt.Sprintf("hello %.1f ms", helloInit), fmt.Sprintf("%.1f ms", dsInit),
			fmt.Sprintf("≤ 1.5 × hello (%.1f ms)", 1.5*helloInit), passFail(dsInit <= 1.5*helloInit)},
		{"5. Lambda", "peak memory of the function process (VmHWM; RIE's REPORT prints the configured size)", "-", fmt.Sprintf("hello %.1f MB", float64(helloMem)/1024),
			fmt.Sprintf("%.1f MB (a full deploy: %v)", float64(dsMem)/1024, done), "", ""},
		{"5. Lambda", "zip size", "-", fmt.Sprintf("hello %.1f MB", float64(helloZip)/1e6), fmt.Sprintf("%.1f MB", float64(dsZip)/1e6), "≤ 10 MB", passFail(dsZip <= 10e6)},
	}
}

// --- Go benchmarks of the hot pure functions ---

var benchRE = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+\d+\s+([0-9.]+) ns/op\s+([0-9.]+) B/op\s+([0-9.]+) allocs/op`)

func goBenchmarks() []row {
	out, err := exec.Command("go", "test", "-run", "^$", "-bench", "Decide|Token", "-benchmem", "-benchtime", "20000x", "./deploy").CombinedOutput()
	if err != nil {
		return []row{{"6. go test -bench", "deploy", "-", "-", strings.TrimSpace(string(out)), "", "FAIL"}}
	}
	var rows []row
	for _, line := range strings.Split(string(out), "\n") {
		if m := benchRE.FindStringSubmatch(line); m != nil {
			ns, _ := strconv.ParseFloat(m[3], 64)
			target, ok := "< 10 µs", ns < 10_000
			if strings.Contains(m[1], "Token") {
				target, ok = "< 1 ms", ns < 1_000_000
			}
			rows = append(rows, row{"6. go test -bench", m[1], "-", "-", fmt.Sprintf("%.0f ns/op, %s B/op, %s allocs/op", ns, m[4], m[5]), target, passFail(ok)})
		}
	}
	return rows
}
