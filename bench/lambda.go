package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
	"github.com/deploystep/deploystep/internal/release"
	"github.com/deploystep/deploystep/internal/testtool"
)

// The Lambda figures: zip size, init time and peak memory under aws-lambda-rie, beside a
// hello-world aws-lambda-go function.

var initRE = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)`)

// lambdaFigures runs bootstrap under aws-lambda-rie, invokes it once with event, and returns the
// init time RIE reports and the peak resident memory of the function process.
func lambdaFigures(bootstrap string, sim *awsim.Server, event []byte) (initMS float64, peakKB int, err error) {
	rie, err := testtool.LaunchRIE(*rieBin, bootstrap, sim, 30, "POLL_INTERVAL=250ms")
	if err != nil {
		return 0, 0, err
	}
	defer rie.Stop()
	cmd, logs, d := rie.Cmd, rie.Logs, rie.Driver
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
		if err := release.WriteLambdaZip(zip, bin, time.Unix(1, 0)); err != nil {
			return "", 0, err
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
	sim := newSim(demo.Config(awsim.Success, 2*time.Second, time.Second))
	job := sim.NewJob()
	event := awsim.Event(job, awsim.JobInput{UserParameters: `{"CLUSTER":"` + demo.Cluster + `","SERVICE":"` + demo.Service +
		`","DISTRIBUTIONID":"` + demo.Distribution + `"}`}, "")
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
		// Measured, with no target: a millisecond of init is invisible for an action invoked once
		// per release (README, Measured).
		{"5. Lambda under aws-lambda-rie", "init time, median of 7 cold starts (hello-world aws-lambda-go beside it)", "-", fmt.Sprintf("hello %.1f ms", helloInit), fmt.Sprintf("%.1f ms", dsInit), "", ""},
		{"5. Lambda", "peak memory of the function process (VmHWM; RIE's REPORT prints the configured size)", "-", fmt.Sprintf("hello %.1f MB", float64(helloMem)/1024),
			fmt.Sprintf("%.1f MB (a full deploy: %v)", float64(dsMem)/1024, done), "", ""},
		{"5. Lambda", "zip size", "-", fmt.Sprintf("hello %.1f MB", float64(helloZip)/1e6), fmt.Sprintf("%.1f MB", float64(dsZip)/1e6), "≤ 10 MB", passFail(dsZip <= 10e6)},
	}
}
