package e2e_test

// The GitHub Action (action.yml) run as a runner runs a composite action: each step's env with
// its expressions evaluated, its script run by bash the way `shell: bash` does, the runner's
// environment files (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, ...) and variables (RUNNER_OS,
// RUNNER_ARCH, RUNNER_TEMP), the action's outputs read from its steps'. The release's assets are
// make dist's (package release), served on 127.0.0.1; the release runs against awsim.

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
	"github.com/deploystep/deploystep/deploy/settings"
	"github.com/deploystep/deploystep/internal/release"
)

// actionFile is action.yml as the runner reads it.
type actionFile struct {
	Name   string
	Inputs map[string]struct {
		Description, Default string
		Required             bool
	}
	Outputs map[string]struct{ Description, Value string }
	Runs    struct {
		Using string
		Steps []struct {
			ID    string
			Shell string
			Env   map[string]string
			Run   string
			Uses  string
		}
	}
}

func readAction(t *testing.T) actionFile {
	t.Helper()
	b, err := os.ReadFile("../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a actionFile
	if err := yaml.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// actionOnly are the settings the action sets itself, so they are not inputs: the record goes
// to the job summary, the outputs to the step's; CODEBUILD_BUILD_ID and ACTION_TIMEOUT are
// CodeBuild's and the Lambda mode's.
var actionOnly = map[string]bool{"SUMMARY_FILE": true, "OUTPUTS_FILE": true, "CODEBUILD_BUILD_ID": true, "ACTION_TIMEOUT": true}

// inputName is a setting's input: its name lower-case, _ as -.
func inputName(env string) string { return strings.ToLower(strings.ReplaceAll(env, "_", "-")) }

// One input per setting, described by the settings table, each reaching the release step's env
// as its variable and only there; no ${{ }} inside a script; run steps only.
func TestActionInputsAreTheSettings(t *testing.T) {
	a := readAction(t)
	if a.Runs.Using != "composite" {
		t.Fatalf("runs.using %q", a.Runs.Using)
	}
	var want strings.Builder // the block to paste when the table changed
	release := a.Runs.Steps[len(a.Runs.Steps)-1]
	seen := map[string]bool{"version": true, "release-url": true}
	for _, r := range settings.Rows() {
		if actionOnly[r.Env] {
			continue
		}
		n := inputName(r.Env)
		seen[n] = true
		fmt.Fprintf(&want, "  %s:\n    description: %q\n", n, r.Help)
		if strings.HasSuffix(r.Help, "(required)") {
			want.WriteString("    required: true\n")
		}
		in, ok := a.Inputs[n]
		if !ok || in.Description != r.Help || in.Required != (strings.HasSuffix(r.Help, "(required)")) {
			t.Errorf("input %s: %+v; want the table's help %q", n, in, r.Help)
		}
		if got := release.Env[r.Env]; got != "${{ inputs."+n+" }}" {
			t.Errorf("the release step's env %s is %q", r.Env, got)
		}
		if !regexp.MustCompile(`\b` + r.Env + `\b`).MatchString(release.Run) {
			t.Errorf("the release step does not unset %s when its input is empty", r.Env)
		}
	}
	for n := range a.Inputs {
		if !seen[n] {
			t.Errorf("input %s is no setting", n)
		}
	}
	for _, s := range a.Runs.Steps {
		if s.Uses != "" || s.Shell != "bash" || strings.Contains(s.Run, "${{") {
			t.Errorf("step %s: uses %q, shell %q, or an expression inside its script", s.ID, s.Uses, s.Shell)
		}
	}
	if t.Failed() {
		t.Logf("action.yml's settings inputs, from the table:\n%s", want.String())
	}
}

var (
	assetsOnce sync.Once
	assetsDir  string
	assetsErr  error
)

// assets builds make dist's assets for this machine's platform (and SHA256SUMS over them).
func assets(t *testing.T) string {
	t.Helper()
	assetsOnce.Do(func() {
		assetsDir, assetsErr = os.MkdirTemp("", "deploystep-release")
		if assetsErr != nil {
			return
		}
		var targets []release.Target
		for _, tg := range release.Targets {
			if tg.GOOS == runtime.GOOS && tg.GOARCH == runtime.GOARCH && !tg.Lambda {
				targets = append(targets, tg)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		assetsErr = release.Build(ctx, release.Options{Module: "..", Out: assetsDir, Version: "v1.5.0",
			Commit: "4e1f9c2a7b3d5e6f8a9b0c1d2e3f4a5b6c7d8e9f", Time: time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC), Targets: targets})
	})
	if assetsErr != nil {
		t.Fatal(assetsErr)
	}
	return assetsDir
}

// runnerArch is RUNNER_ARCH for this machine.
func runnerArch() string { return map[string]string{"amd64": "X64", "arm64": "ARM64"}[runtime.GOARCH] }

// actionRun is what running the action left: each step's log and exit, the outputs, the summary.
type actionRun struct {
	log      string
	failed   string // the step that failed ("": none)
	outputs  map[string]string
	summary  string
	stepsRun int
}

// runAction runs action.yml's steps with inputs, as a runner does, until one fails.
func runAction(t *testing.T, a actionFile, inputs map[string]string, env []string) actionRun {
	t.Helper()
	work := t.TempDir()
	runnerTemp := filepath.Join(work, "runner-temp")
	os.MkdirAll(runnerTemp, 0o755)
	summary := filepath.Join(work, "step_summary")
	os.WriteFile(summary, nil, 0o644)
	steps := map[string]map[string]string{}
	var log strings.Builder
	res := actionRun{outputs: map[string]string{}}
	for i, s := range a.Runs.Steps {
		output := filepath.Join(work, fmt.Sprintf("output_%d", i))
		os.WriteFile(output, nil, 0o644)
		script := filepath.Join(work, fmt.Sprintf("step_%d.sh", i))
		os.WriteFile(script, []byte(s.Run), 0o644)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-eo", "pipefail", script) // shell: bash
		cmd.Env = append(append(os.Environ(), env...), "GITHUB_ACTIONS=true", "CI=true", "RUNNER_OS=Linux", "RUNNER_ARCH="+runnerArch(),
			"RUNNER_TEMP="+runnerTemp, "GITHUB_OUTPUT="+output, "GITHUB_STEP_SUMMARY="+summary, "GITHUB_ENV="+filepath.Join(work, "env"),
			"GITHUB_PATH="+filepath.Join(work, "path"), "GITHUB_ACTION_PATH=..", "GITHUB_REPOSITORY=tsa/gallery", "GITHUB_RUN_ID=12345678901",
			"GITHUB_RUN_ATTEMPT=1", "GITHUB_JOB=deploy", "GITHUB_WORKSPACE="+work, "AWS_EC2_METADATA_DISABLED=true")
		for k, v := range s.Env {
			cmd.Env = append(cmd.Env, k+"="+evalExpr(t, v, inputs, steps))
		}
		out, err := cmd.CombinedOutput()
		cancel()
		fmt.Fprintf(&log, "== step %s\n%s", s.ID, out)
		steps[s.ID] = readOutputs(t, output)
		res.stepsRun++
		if err != nil {
			res.failed = s.ID
			break
		}
	}
	for name, o := range a.Outputs {
		res.outputs[name] = evalExpr(t, o.Value, inputs, steps)
	}
	b, _ := os.ReadFile(summary)
	res.log, res.summary = log.String(), string(b)
	return res
}

var exprRE = regexp.MustCompile(`^\$\{\{\s*(.+?)\s*\}\}$`)

// evalExpr evaluates the expressions action.yml uses: inputs.<name>, steps.<id>.outputs.<name>,
// github.action_ref, and a || b. Anything else fails the test: the action must stay within
// what this runner reads as GitHub does.
func evalExpr(t *testing.T, v string, inputs map[string]string, steps map[string]map[string]string) string {
	t.Helper()
	m := exprRE.FindStringSubmatch(v)
	if m == nil {
		if strings.Contains(v, "${{") {
			t.Fatalf("an expression inside a value: %q", v)
		}
		return v
	}
	for _, alt := range strings.Split(m[1], "||") {
		alt = strings.TrimSpace(alt)
		var got string
		switch parts := strings.Split(alt, "."); {
		case len(parts) == 2 && parts[0] == "inputs":
			got = inputs[parts[1]]
		case len(parts) == 4 && parts[0] == "steps" && parts[2] == "outputs":
			got = steps[parts[1]][parts[3]]
		case alt == "github.action_ref":
			got = "" // a local action (uses: ./) has no ref
		default:
			t.Fatalf("an expression this runner does not read: %q", alt)
		}
		if got != "" {
			return got
		}
	}
	return ""
}

// readOutputs reads a GITHUB_OUTPUT file: name=value lines and name<<DELIMITER blocks.
func readOutputs(t *testing.T, path string) map[string]string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if name, delim, ok := strings.Cut(line, "<<"); ok && !strings.Contains(name, "=") {
			var v []string
			for sc.Scan() && sc.Text() != delim {
				v = append(v, sc.Text())
			}
			out[name] = strings.Join(v, "\n")
			continue
		}
		if name, v, ok := strings.Cut(line, "="); ok {
			out[name] = v
		}
	}
	return out
}

// serve serves dir on 127.0.0.1, with tamper applied to what it answers.
func serve(t *testing.T, dir string, tamper func(name string, b []byte) []byte) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := filepath.Base(r.URL.Path)
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		if tamper != nil {
			b = tamper(name, b)
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/releases/download/v1.5.0"
}

func TestActionRunsARelease(t *testing.T) {
	t.Parallel()
	a := readAction(t)
	url := serve(t, assets(t), nil)
	for _, c := range []struct {
		name     string
		scenario string
		result   string
		failed   string
		want     []string
	}{
		{"succeeds", awsim.Success, "succeeded", "", []string{"deploystep v1.5.0 (commit 4e1f9c2a7b3d5e6f8a9b0c1d2e3f4a5b6c7d8e9f)", "summary: succeeded"}},
		{"a failed release fails the step with an annotation", awsim.Rollback, "failed", "release",
			[]string{"::error title=deploystep%3A failed (exit 1)::service api: "}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, demo.Config(c.scenario, 2*time.Second, time.Second))
			inputs := map[string]string{"version": "v1.5.0", "release-url": url, "cluster": demo.Cluster, "service": demo.Service,
				"distributionid": demo.Distribution, "image": demo.Image, "poll-interval": "250ms"}
			r := runAction(t, a, inputs, sim.Env())
			if r.failed != c.failed || r.outputs["result"] != c.result {
				t.Fatalf("failed step %q, result %q; want %q, %q\n%s", r.failed, r.outputs["result"], c.failed, c.result, r.log)
			}
			for _, w := range c.want {
				if !strings.Contains(r.log, w) {
					t.Errorf("the log has no %q:\n%s", w, r.log)
				}
			}
			if !strings.HasPrefix(r.summary, "# deploystep release: "+c.result) {
				t.Errorf("the job summary is not the release record:\n%.400s", r.summary)
			}
			e := sim.Effects()
			if e.Deployments[demo.Cluster+"/"+demo.Service] != 1 {
				t.Errorf("deployments %v; want one", e.Deployments)
			}
			if c.result == "succeeded" {
				if !strings.HasPrefix(r.outputs["deployment-ids"], demo.Service+"=ecs-svc/") || !strings.HasPrefix(r.outputs["image-digest"], "sha256:") ||
					!strings.HasPrefix(r.outputs["invalidation-ids"], demo.Distribution+"=") || e.Invalidations[demo.Distribution] != 1 {
					t.Errorf("outputs %v, effects %+v", r.outputs, e)
				}
				// A re-run of the job (same run, same job) resumes the release: nothing sent twice.
				again := runAction(t, a, inputs, sim.Env())
				if again.failed != "" || sim.Effects().Deployments[demo.Cluster+"/"+demo.Service] != 1 || sim.Effects().Invalidations[demo.Distribution] != 1 {
					t.Errorf("a re-run of the job: failed %q, effects %+v\n%s", again.failed, sim.Effects(), again.log)
				}
			}
		})
	}
}

// An asset whose SHA-256 is not SHA256SUMS' is refused before it runs; so is a runner the
// release has no asset for.
func TestActionRefusesWhatItCannotTrust(t *testing.T) {
	t.Parallel()
	a := readAction(t)
	dir := assets(t)
	tampered := serve(t, dir, func(name string, b []byte) []byte {
		if strings.HasSuffix(name, ".tar.gz") {
			b = append([]byte{}, b...)
			b[len(b)/2] ^= 0xff
		}
		return b
	})
	sim := startSim(t, demo.Config(awsim.Success, 2*time.Second, time.Second))
	inputs := map[string]string{"version": "v1.5.0", "release-url": tampered, "cluster": demo.Cluster, "service": demo.Service, "distributionid": demo.Distribution}
	r := runAction(t, a, inputs, sim.Env())
	if r.failed != "install" || !strings.Contains(r.log, "but SHA256SUMS says") || !strings.Contains(r.log, ": refused") || len(sim.Calls()) != 0 {
		t.Fatalf("a tampered asset: failed %q, %d AWS calls\n%s", r.failed, len(sim.Calls()), r.log)
	}
	inputs["release-url"] = "http://203.0.113.10/releases/download/v1.5.0"
	if r := runAction(t, a, inputs, sim.Env()); r.failed != "install" || !strings.Contains(r.log, "release-url must be https") {
		t.Fatalf("a plaintext release-url: failed %q\n%s", r.failed, r.log)
	}
}
