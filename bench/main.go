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
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

var (
	deploystepBin = flag.String("deploystep", "bin/deploystep", "the deploystep binary")
	awsCLI        = flag.String("aws", "/usr/bin/aws", "the AWS CLI v2")
	rieBin        = flag.String("rie", "", "aws-lambda-rie (default: $(go env GOPATH)/bin/aws-lambda-rie)")
	out           = flag.String("o", "bench/results.md", "where to write the table")
	capCLI        = flag.Duration("cap", 120*time.Second, "cap on a contender that does not end by itself")
	only          = flag.String("only", "", "run only these scenarios, like 1,4 (the table is not written)")
)

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
	// One scenario after another: on 2 cores, scenarios running side by side would measure each
	// other's CPU load, not the contenders' overheads against a 1 s target.
	var rows []row
	want := func(n string) bool { return *only == "" || strings.Contains(","+*only+",", ","+n+",") }
	for i, sc := range []func() []row{scenarioSuccess, scenarioRollback, scenarioCrashLoop, scenarioFleet, scenarioLambda, goBenchmarks, scenarioBlueGreen, scenarioEdge, scenarioRegister, scenarioPredeploy, scenarioCache, scenarioEarlySuccess, scenarioRole} {
		if want(strconv.Itoa(i + 1)) {
			fmt.Fprintf(os.Stderr, "bench: scenario %d...\n", i+1)
			rows = append(rows, sc()...)
		}
	}

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
