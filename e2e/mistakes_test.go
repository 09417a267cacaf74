package e2e_test

// A user's first hour (issue 21): the mistakes real users make, each through the binary. A wrong
// environment is a configuration error in seconds that says what to set; every limit holds over
// a hook that forks; waits are visible; mistyped names get hints; not found says where; a
// failure stands out with its tasks and their logs.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
	"github.com/deploystep/deploystep/internal/testtool"
)

// Identities the mistake worlds know besides the demo account's CodeBuild role.
var (
	expiredSession = awsim.IdentitySpec{AccessKeyID: "ASIAEXPIRED0EXAMPLE", Account: "123456789012",
		ARN: "arn:aws:sts::123456789012:assumed-role/developer/alice@example.com", Expired: true}
	otherAccount = awsim.IdentitySpec{AccessKeyID: "AKIAOTHERACCOUNT0000", Account: "999999999999",
		ARN: "arn:aws:iam::999999999999:user/bob"}
)

func mistakeWorld(kind string) awsim.Config {
	cfg := world(kind, time.Second)
	cfg.Identities = []awsim.IdentitySpec{expiredSession, otherAccount}
	return cfg
}

// silentListener accepts connections and never answers, like an endpoint behind a firewall that
// drops replies; it closes with the test.
func silentListener(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for _, c := range held {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

func TestMistakeEnvironmentIsAConfigurationErrorInSeconds(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		extra  []string
		within time.Duration
		want   []string
	}{
		{"no credentials", []string{"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY="}, 5 * time.Second,
			[]string{"no AWS credentials found for us-east-1", "set AWS_PROFILE (a profile from aws configure or aws sso login) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"}},
		{"an access key AWS does not know", []string{"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE"}, 5 * time.Second,
			[]string{"STS refuses the AWS credentials in us-east-1 (InvalidClientTokenId: The security token included in the request is invalid.)"}},
		{"expired credentials", []string{"AWS_ACCESS_KEY_ID=" + expiredSession.AccessKeyID}, 5 * time.Second,
			[]string{"the AWS credentials have expired (ExpiredToken in us-east-1): get new ones (aws sso login, a new role session)"}},
		{"no region", []string{"AWS_REGION="}, 5 * time.Second, []string{"no AWS region: set AWS_REGION (or a profile with a region, AWS_PROFILE), like AWS_REGION=us-east-1"}},
		{"an endpoint that refuses", []string{"AWS_ENDPOINT_URL=http://127.0.0.1:1"}, 5 * time.Second,
			[]string{"cannot reach STS at http://127.0.0.1:1 in us-east-1: it refuses the connection; AWS_ENDPOINT_URL is http://127.0.0.1:1: is that endpoint running"}},
		{"an endpoint that never answers", []string{"AWS_ENDPOINT_URL=" + silentListener(t)}, 15 * time.Second,
			[]string{"cannot reach STS at http://127.0.0.1:", "it does not answer"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, mistakeWorld(awsim.Success))
			r := runBin(t, env(sim, c.extra...))
			wantOutput(t, r, 2, append(c.want, "ERROR configuration: ", "summary: configuration error")...)
			if r.Took() > c.within {
				t.Errorf("took %v; a wrong environment must be said within %v", r.Took(), c.within)
			}
			if n := sim.CountCalls("ECS", "") + sim.CountCalls("CloudFront", "") + sim.CountCalls("ECR", ""); n != 0 {
				t.Errorf("%d calls past the identity check", n)
			}
			if strings.Contains(r.Stdout, "trying again") {
				t.Errorf("a wrong environment was retried:\n%s", r)
			}
		})
	}
}

// The first line of every run, and of the dry run, says whom it acts as, and where.
func TestMistakeFirstLineSaysTheIdentity(t *testing.T) {
	t.Parallel()
	sim := startSim(t, mistakeWorld(awsim.Success))
	for _, args := range [][]string{nil, {"-dry-run"}} {
		r := runBin(t, env(sim), args...)
		first, _, _ := strings.Cut(r.Stdout, "\n")
		if want := "acting as " + awsim.PlaceholderRoleARN + " (account 123456789012) in us-east-1"; !strings.Contains(first, want) {
			t.Errorf("%v: first line %q lacks %q", args, first, want)
		}
	}
}

// Another region, another account: the commonest real mistakes.
func TestMistakeAnotherRegionOrAccount(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		extra []string
		want  []string
	}{
		{"the credentials' region is not the cluster's", []string{"AWS_REGION=us-west-2"},
			[]string{"acting as " + awsim.PlaceholderRoleARN + " (account 123456789012) in us-west-2",
				"cluster tsa-gallery: not found in us-west-2, account 123456789012: CLUSTER names no cluster there (clusters are regional"}},
		{"IMAGE in another region", []string{"IMAGE=123456789012.dkr.ecr.eu-west-1.amazonaws.com/tsa/gallery:3f2c1ab"},
			[]string{"RepositoryNotFoundException", "(looked in registry 123456789012 in eu-west-1: no repository tsa/gallery there; IMAGE is in eu-west-1, the run acts in us-east-1: is the image pushed there?)"}},
		{"IMAGE in another account", []string{"IMAGE=999999999999.dkr.ecr.us-east-1.amazonaws.com/tsa/gallery:3f2c1ab"},
			[]string{"image 999999999999.dkr.ecr.us-east-1.amazonaws.com/tsa/gallery:3f2c1ab: access denied: " + awsim.PlaceholderRoleARN + " may not ecr:DescribeImages on arn:aws:ecr:us-east-1:999999999999:repository/tsa/gallery; no resource-based policy allows it",
				"IMAGE is account 999999999999's, the credentials are account 123456789012's: push to this account's registry, or let this account read the repository"}},
		{"credentials of another account", []string{"AWS_ACCESS_KEY_ID=" + otherAccount.AccessKeyID},
			[]string{"acting as arn:aws:iam::999999999999:user/bob (account 999999999999) in us-east-1",
				"cluster tsa-gallery: not found in us-east-1, account 999999999999",
				"distribution " + demo.Distribution + ": not found in account 999999999999 (CloudFront is global, so the region does not matter"}},
		{"a CloudFront domain as DISTRIBUTIONID", []string{"DISTRIBUTIONID=d111111abcdef8.cloudfront.net"},
			[]string{`DISTRIBUTIONID "d111111abcdef8.cloudfront.net" is a domain name, not the distribution's id (like E2QWRUHAPOMQZL); aws cloudfront list-distributions --query`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, mistakeWorld(awsim.Success))
			r := runBin(t, env(sim, c.extra...))
			wantOutput(t, r, 2, append(c.want, "summary: configuration error")...)
			wantEffects(t, sim, 0, 0, r)
			if r.Took() > 5*time.Second {
				t.Errorf("took %v", r.Took())
			}
		})
	}
}

// Mistyped names and values: hints, all problems at once, in text and JSON; a bad flag is a line.
func TestMistakeSettingsHints(t *testing.T) {
	t.Parallel()
	sim := startSim(t, mistakeWorld(awsim.Success))
	r := runBin(t, env(sim, "DISTRIBUTIONID=", "DISTRIBUTION_ID="+demo.Distribution, "SERVICE=", "SERVICES=api"))
	wantOutput(t, r, 2, "missing SERVICE (like SERVICE=api), DISTRIBUTIONID (like DISTRIBUTIONID=E2QWRUHAPOMQZL; or SKIP_INVALIDATION=true, -skip-invalidation, to invalidate nothing)",
		"DISTRIBUTION_ID is set, but deploystep reads DISTRIBUTIONID: did you mean DISTRIBUTIONID?", "SERVICES is set, but deploystep reads SERVICE: did you mean SERVICE?")

	// Three values that do not parse and a missing setting: one error naming each, with an example.
	bad := []string{"POLL_INTERVAL=5", "DEPLOY_TIMEOUT=1h30", "DRY_RUN=yes", "CLUSTER="}
	want := []string{`POLL_INTERVAL=\"5\" is not a duration with its unit, like POLL_INTERVAL=2s`, `DEPLOY_TIMEOUT=\"1h30\" is not a duration with its unit, like DEPLOY_TIMEOUT=30m`,
		`DRY_RUN=\"yes\" is not true or false, like DRY_RUN=true`, "missing CLUSTER (like CLUSTER=tsa-gallery)"}
	j := runBin(t, env(sim, append(bad, "OUTPUT=json")...))
	wantOutput(t, j, 2, append(want, `"level":"error"`, `"kind":"result"`, `"exitCode":2`)...)
	var ev struct{ Level, Kind, Message string }
	if err := json.Unmarshal([]byte(strings.TrimSpace(j.Stdout)), &ev); err != nil || ev.Kind != "result" {
		t.Errorf("JSON output is not one result line (%v):\n%s", err, j.Stdout)
	}
	text := runBin(t, env(sim, bad...))
	for i := range want {
		want[i] = strings.ReplaceAll(want[i], `\"`, `"`)
	}
	wantOutput(t, text, 2, append(want, "ERROR configuration: ")...)

	flagged := runBin(t, env(sim), "-poll-interval", "2s")
	wantOutput(t, flagged, 2, "flag provided but not defined: -poll-interval", "deploystep: run deploystep -h for the settings and flags")
	if n := strings.Count(strings.TrimSpace(flagged.Stdout+flagged.Stderr), "\n"); n > 1 {
		t.Errorf("a bad flag printed %d lines:\n%s", n+1, flagged)
	}
	if n := sim.CountCalls("", ""); n != 0 {
		t.Errorf("%d calls with bad settings", n)
	}
}

// stamps are the elapsed times of a text run's lines.
var stamp = regexp.MustCompile(`(?m)^\[\s*([0-9.]+)s\]`)

// Nothing changes for a whole DEPLOY_TIMEOUT: a heartbeat says so, at most every HEARTBEAT.
func TestMistakeLongSilenceHasAHeartbeat(t *testing.T) {
	t.Parallel()
	sim := startSim(t, mistakeWorld(awsim.NeverFinish))
	r := runBin(t, env(sim, "HEARTBEAT=1s", "DEPLOY_TIMEOUT=6s"))
	wantOutput(t, r, 3, "still waiting (", "s of 6s): api: ", "new tasks running", "timed out after 6s during follow")
	if n := strings.Count(r.Stdout, "still waiting ("); n < 3 {
		t.Errorf("%d heartbeats in 6 s of silence at HEARTBEAT=1s, want at least 3:\n%s", n, r)
	}
	last := 0.0
	for _, m := range stamp.FindAllStringSubmatch(r.Stdout, -1) {
		at, _ := strconv.ParseFloat(m[1], 64)
		if gap := at - last; gap > 2.5 {
			t.Errorf("%.1f s without a line (HEARTBEAT=1s, POLL_INTERVAL 250ms)", gap)
		}
		last = at
	}
}

// running is the binary started in the background, its output read as it comes.
type running struct {
	cmd   *exec.Cmd
	out   testtool.SyncBuffer
	lines chan string
}

func startBin(t *testing.T, environ []string, args ...string) *running {
	t.Helper()
	r := &running{cmd: exec.Command(testtool.Binary(t), args...), lines: make(chan string, 1000)}
	r.cmd.Env = environ
	pipe, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r.cmd.Stderr = &r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			r.out.Write([]byte(sc.Text() + "\n"))
			r.lines <- sc.Text()
		}
		close(r.lines)
	}()
	t.Cleanup(func() { r.cmd.Process.Kill() })
	return r
}

// waitFor returns the first line with marker (the run fails the test without one in 30 s).
func (r *running) waitFor(t *testing.T, marker string) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-r.lines:
			if !ok {
				t.Fatalf("the run ended without %q:\n%s", marker, r.out.String())
			}
			if strings.Contains(l, marker) {
				return l
			}
		case <-timeout:
			t.Fatalf("no %q in 30 s:\n%s", marker, r.out.String())
		}
	}
}

// exit waits for the run's end (30 s at most) and returns its exit code.
func (r *running) exit(t *testing.T) int {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		for range r.lines { // drain, so the reader reaches EOF
		}
		done <- r.cmd.Wait()
	}()
	select {
	case err := <-done:
		if exit, ok := err.(*exec.ExitError); ok {
			return exit.ExitCode()
		}
		return 0
	case <-time.After(30 * time.Second):
		t.Fatalf("the run did not end in 30 s:\n%s", r.out.String())
		return -1
	}
}

// A deployment paused with no HOOK_COMMAND: the run prints the command that answers it, and that
// command, run as the AWS CLI maps it (botocore's model, a boto3 client), continues it.
func TestMistakePausedWithoutHookCommandPrintsTheAnswer(t *testing.T) {
	t.Parallel()
	py := testtool.Python(t, "boto3")
	sim := startSim(t, strategyWorld(awsim.Paused, 2*time.Second, nil))
	r := startBin(t, env(sim, "DEPLOY_TIMEOUT=1m"))
	line := r.waitFor(t, "no HOOK_COMMAND is set: answer it with: ")
	_, command, _ := strings.Cut(line, "answer it with: ")
	command, _, _ = strings.Cut(command, " (or --action ROLLBACK)")
	if !strings.Contains(line, "unanswered, ECS takes the hook's timeout action, ") {
		t.Errorf("the line does not say what ECS does with an unanswered hook: %s", line)
	}
	var res struct{ Operation, Error string }
	out := testtool.PythonScript(t, py, "testdata/cli_command.py", map[string]string{"command": command, "endpoint": sim.URL(),
		"region": "us-east-1", "key": awsim.AccessKeyID, "secret": awsim.SecretAccessKey})
	if err := json.Unmarshal(out, &res); err != nil || res.Operation != "ContinueServiceDeployment" {
		t.Fatalf("the printed command %q did not run as the CLI would: %s %v", command, out, err)
	}
	if code := r.exit(t); code != 0 {
		t.Fatalf("exit %d after the hook was answered by hand:\n%s", code, r.out.String())
	}
	if !strings.Contains(r.out.String(), "summary: succeeded") || sim.CountCalls("ECS", "ContinueServiceDeployment") != 1 {
		t.Errorf("want success with the one ContinueServiceDeployment made by hand:\n%s", r.out.String())
	}
}

// left reports whether a process whose command line has marker still runs.
func left(marker string) bool {
	return exec.Command("pgrep", "-f", marker).Run() == nil
}

// A hook that forks holds every limit: HOOK_TIMEOUT, the run's DEPLOY_TIMEOUT, SIGTERM. The
// child it started dies with it.
func TestMistakeHookThatForksHoldsEveryLimit(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("pgrep"); err != nil {
		testtool.Missing(t, "pgrep", "apt-get install -y procps")
	}
	hook := func(marker string) string {
		return fmt.Sprintf("HOOK_COMMAND=sleep %s & echo started child; sleep %s; echo done", marker, marker)
	}
	cases := []struct {
		name, marker string
		extra        []string
		code         int
		within       time.Duration // from the hook's start to the end of the run
		want         []string
	}{
		{"HOOK_TIMEOUT", "31.4101", []string{"HOOK_TIMEOUT=2s"}, 1, 9 * time.Second,
			[]string{"HOOK_COMMAND did not finish within HOOK_TIMEOUT (2s): ContinueServiceDeployment ROLLBACK", "started child"}},
		{"DEPLOY_TIMEOUT", "31.4102", []string{"HOOK_TIMEOUT=1m", "DEPLOY_TIMEOUT=8s"}, 3, 10 * time.Second,
			[]string{"timed out after 8s during follow: api deployment ", "paused at POST_TEST_TRAFFIC_SHIFT, unanswered: answer it with: aws ecs continue-service-deployment"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, strategyWorld(awsim.Paused, 2*time.Second, nil))
			r := startBin(t, env(sim, append(c.extra, hook(c.marker))...))
			r.waitFor(t, "running HOOK_COMMAND")
			began := time.Now()
			code := r.exit(t)
			if took := time.Since(began); code != c.code || took > c.within {
				t.Errorf("exit %d after %v from the hook's start; want %d within %v:\n%s", code, took, c.code, c.within, r.out.String())
			}
			for _, w := range c.want {
				if !strings.Contains(r.out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, r.out.String())
				}
			}
			if left(c.marker) {
				t.Errorf("the hook's child (sleep %s) outlived the run", c.marker)
			}
		})
	}
	t.Run("SIGTERM", func(t *testing.T) {
		t.Parallel()
		const marker = "31.4103"
		sim := startSim(t, strategyWorld(awsim.Paused, 2*time.Second, nil))
		r := startBin(t, env(sim, "HOOK_TIMEOUT=1m", hook(marker)))
		r.waitFor(t, "running HOOK_COMMAND")
		time.Sleep(500 * time.Millisecond)
		sent := time.Now()
		r.cmd.Process.Signal(syscall.SIGTERM)
		code := r.exit(t)
		if took := time.Since(sent); code != 130 || took > 2*time.Second {
			t.Errorf("exit %d %v after SIGTERM; want 130 within 2s:\n%s", code, took, r.out.String())
		}
		if left(marker) {
			t.Errorf("the hook's child (sleep %s) outlived the run", marker)
		}
	})
}

// A failure stands out: marked in text and JSON, with each failed task's id and its logs.
func TestMistakeFailureStandsOut(t *testing.T) {
	t.Parallel()
	sim := startSim(t, mistakeWorld(awsim.Rollback))
	r := runBin(t, env(sim))
	task := regexp.MustCompile(`(?m)^\[\s*[0-9.]+s\] follow\s+ERROR api: task ([0-9a-f]{32}) stopped: Essential container in task exited \(api: exit code 1\); its logs: log group /ecs/tsa-gallery/APITask, stream ecs/api/([0-9a-f]{32})$`)
	m := task.FindStringSubmatch(r.Stdout)
	if m == nil || m[1] != m[2] {
		t.Errorf("no failure line naming a task and its log stream:\n%s", r)
	}
	wantOutput(t, r, 1, "ERROR service api: ", "summary: failed")

	j := runBin(t, env(sim, "OUTPUT=json"))
	var failures, errors int
	for _, l := range strings.Split(strings.TrimSpace(j.Stdout), "\n") {
		var ev struct{ Kind, Level, Message string }
		json.Unmarshal([]byte(l), &ev) //nolint:errcheck // a bad line counts for nothing
		if ev.Kind == "failure" && ev.Level == "error" && strings.Contains(ev.Message, "its logs: log group /ecs/tsa-gallery/APITask") {
			failures++
		}
		if ev.Level == "error" {
			errors++
		}
	}
	if failures == 0 || errors < failures+1 {
		t.Errorf("JSON: %d failure lines, %d error lines; want failures and the result at level error:\n%s", failures, errors, j.Stdout)
	}
}
