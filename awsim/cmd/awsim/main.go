// Command awsim serves the local AWS simulator on 127.0.0.1 for the demo, the benchmark and
// manual runs with the AWS CLI. It stops by itself after -lifetime.
//
//	awsim [flags]              serve; print the environment to paste into a shell (the
//	                           endpoint, region, credentials and the demo's settings)
//	awsim [flags] -- CMD ARGS  serve, run CMD against it, print the effects, exit with CMD's code
//
// CMD gets AWS_ENDPOINT_URL, a region, placeholder credentials and, for the demo world, the
// lab's CLUSTER, SERVICE, DISTRIBUTIONID and IMAGE, unless they are set already.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
)

func main() {
	configPath := flag.String("config", "", "world as JSON (awsim.Config); default: the demo world")
	scenario := flag.String("scenario", awsim.Success, "scenario of the demo world: success, rollback, crashloop, never, wrongdigest, foreign; with a strategy that shifts traffic: bluegreen, linear, canary, paused, alarm-rollback; at the edge: stale-edge, origin-502; on the CODE_DEPLOY controller: codedeploy, codedeploy-rollback; the stack's first release: first-release; a pre-deploy migration: migrate, migrate-fails; what to invalidate: lab-cache, api-cache, proxy-origin; ECS's newest controls: lambda-hook, lambda-hook-fails, early-success, early-success-blocking, breaker-count-10, breaker-count-1")
	rollout := flag.Duration("rollout", 6*time.Second, "rollout duration of the demo world")
	invalidation := flag.Duration("invalidation", 3*time.Second, "invalidation duration of the demo world")
	port := flag.Int("port", 0, "port on 127.0.0.1 (0: a free one)")
	urlFile := flag.String("url-file", "", "write the endpoint URL to this file once serving")
	lifetime := flag.Duration("lifetime", time.Hour, "stop by itself after this long")
	effectsFile := flag.String("effects-file", "", "write the effect counters and call log here when stopping")
	var policies []json.RawMessage
	flag.Func("policy", "an identity-based policy (a JSON file) the placeholder identity acts under: every call is then authorized as IAM does; repeat for several", func(path string) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if _, err := awsim.ParsePolicy(b); err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
		policies = append(policies, b)
		return nil
	})
	flag.Parse()

	cfg := demo.Config(*scenario, *rollout, *invalidation)
	demoWorld := *configPath == ""
	if !demoWorld {
		b, err := os.ReadFile(*configPath)
		if err != nil {
			fail(err)
		}
		cfg = awsim.Config{}
		if err := json.Unmarshal(b, &cfg); err != nil {
			fail(fmt.Errorf("%s: %w", *configPath, err))
		}
	}
	cfg.Policies = append(cfg.Policies, policies...)
	sim, err := awsim.Start(cfg, *port)
	if err != nil {
		fail(err)
	}
	if *urlFile != "" {
		if err := os.WriteFile(*urlFile, []byte(sim.URL()+"\n"), 0o644); err != nil {
			fail(err)
		}
	}
	code := 0
	if args := flag.Args(); len(args) > 0 {
		fmt.Fprintf(os.Stderr, "awsim: serving %s (scenario %s) for: %v\n", sim.URL(), *scenario, args)
		code = run(sim, args, demoWorld, *scenario, *lifetime)
		printEffects(sim)
	} else {
		fmt.Print(pasteable(sim, demoWorld, *scenario, *lifetime))
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		select {
		case <-sig:
		case <-time.After(*lifetime):
		}
	}
	sim.Close()
	if *effectsFile != "" {
		b, _ := json.MarshalIndent(map[string]any{"effects": sim.Effects(), "calls": sim.Calls()}, "", "  ")
		if err := os.WriteFile(*effectsFile, b, 0o644); err != nil {
			fail(err)
		}
	}
	os.Exit(code)
}

// pasteable is what serving alone prints: the environment that points a shell at the
// simulator, for deploystep and the AWS CLI, and for the demo world the release's settings.
func pasteable(sim *awsim.Server, demoWorld bool, scenario string, lifetime time.Duration) string {
	var b strings.Builder
	what := "the world of -config"
	if demoWorld {
		what = "the demo world (scenario " + scenario + ")"
	}
	fmt.Fprintf(&b, "# awsim: %s at %s, until Ctrl-C or %v.\n", what, sim.URL(), lifetime)
	b.WriteString("# Paste into another shell, then run bin/deploystep (or -dry-run, or -print-policy):\n")
	b.WriteString("export")
	for _, kv := range sim.Env() {
		b.WriteString(" " + shellQuote(kv))
	}
	b.WriteString("\n")
	if demoWorld {
		b.WriteString("export")
		for _, kv := range demo.Env("VERIFY_URL=" + sim.EdgeURL(demo.Distribution) + "/api/health") {
			b.WriteString(" " + shellQuote(kv))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "# The AWS CLI v2 takes the endpoint as a flag: aws --endpoint-url %s ecs describe-services --cluster %s --services %s\n", sim.URL(), demo.Cluster, demo.Service)
	return b.String()
}

// shellQuote quotes NAME=value for a POSIX shell when the value needs it.
func shellQuote(kv string) string {
	name, v, _ := strings.Cut(kv, "=")
	if strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@,") == "" {
		return kv
	}
	return name + "='" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

func run(sim *awsim.Server, args []string, demoWorld bool, scenario string, lifetime time.Duration) int {
	env := map[string]string{}
	for _, kv := range sim.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	if demoWorld {
		maps.Copy(env, demo.Settings())
		// The release ends with the edge proof: the distribution's edge must serve the image's tag.
		env["VERIFY_URL"] = sim.EdgeURL(demo.Distribution) + "/api/health"
		switch scenario {
		case demo.StaleEdge:
			env["INVALIDATION_PATHS"], env["VERIFY_TIMEOUT"] = "/static/*", "10s"
		case demo.Origin502:
			env["VERIFY_TIMEOUT"] = "10s"
		case demo.FirstRelease:
			env["DESIRED_COUNT"] = "2" // the stack's TaskCount
		case demo.Migrate, demo.MigrateFails:
			env["PREDEPLOY_COMMAND"] = demo.Migration
		case demo.APICache, demo.ProxyOrigin:
			env["VERIFY_URL"] += "," + sim.EdgeURL(demo.Distribution) + "/api/photos"
			env["VERIFY_TIMEOUT"] = "10s"
		}
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = os.Environ()
	// The simulator takes placeholder credentials: a profile of the developer's would only fail
	// to load against the empty config file.
	env["AWS_PROFILE"] = ""
	for k, v := range env {
		if k == "AWS_ENDPOINT_URL" || k == "AWS_PROFILE" || os.Getenv(k) == "" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	if err := cmd.Start(); err != nil {
		fail(err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case s := <-sig:
			cmd.Process.Signal(s) //nolint:errcheck
		case <-time.After(lifetime):
			cmd.Process.Kill() //nolint:errcheck
		}
	}()
	err := cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		fail(err)
	}
	return 0
}

func printEffects(sim *awsim.Server) {
	e := sim.Effects()
	ops := map[string]int{}
	for _, c := range sim.Calls() {
		ops[c.Service+"."+c.Op]++
	}
	fmt.Fprintf(os.Stderr, "awsim: effects: deployments %v, invalidations %v", e.Deployments, e.Invalidations)
	if len(e.Registrations) > 0 {
		fmt.Fprintf(os.Stderr, ", task-definition revisions registered %v", e.Registrations)
	}
	if len(e.RunTasks) > 0 {
		fmt.Fprintf(os.Stderr, ", pre-deploy tasks started %v", e.RunTasks)
	}
	if len(e.CodeDeployments) > 0 {
		fmt.Fprintf(os.Stderr, ", CodeDeploy deployments %v", e.CodeDeployments)
	}
	fmt.Fprintf(os.Stderr, "\nawsim: calls:")
	for _, k := range slices.Sorted(maps.Keys(ops)) {
		fmt.Fprintf(os.Stderr, " %s=%d", k, ops[k])
	}
	fmt.Fprintln(os.Stderr)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "awsim:", err)
	os.Exit(2)
}
