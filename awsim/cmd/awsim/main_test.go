package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deploystep/deploystep/internal/testtool"
)

// awsim served alone prints the environment to paste into a shell, and a release run in that
// environment, and nothing else, releases the demo world end to end (the edge proof included).
func TestServeAlonePrintsAPasteableEnvironment(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "awsim")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-rollout", "2s", "-invalidation", "1s", "-lifetime", "90s")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "# The AWS CLI") {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "export "); ok {
			for _, kv := range strings.Fields(rest) {
				env = append(env, strings.ReplaceAll(kv, "'", ""))
			}
		}
	}
	got := strings.Join(env, " ")
	for _, want := range []string{"AWS_ENDPOINT_URL=http://127.0.0.1:", "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=", "AWS_EC2_METADATA_DISABLED=true",
		"CLUSTER=tsa-gallery", "SERVICE=api", "DISTRIBUTIONID=E2DEMO0DIST0AB", "IMAGE=123456789012.dkr.ecr.us-east-1.amazonaws.com/tsa/gallery:3f2c1ab", "VERIFY_URL=http://127.0.0.1:"} {
		if !strings.Contains(got, want) {
			t.Fatalf("the pasteable environment lacks %s: %s", want, got)
		}
	}
	r := testtool.RunBinary(append(env, "POLL_INTERVAL=250ms"))
	if r.Code != 0 || !strings.Contains(r.Stdout, "summary: succeeded") || !strings.Contains(r.Stdout, "the edge serves version 3f2c1ab") {
		t.Fatalf("deploystep in the pasted environment: %s", r)
	}
}
