package e2e_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/deploystep/deploystep/internal/testtool"
)

// lintProject lays out a repository with action.yml at its root and workflow as its one
// workflow, the action used as a local action (uses: ./), and runs actionlint (with shellcheck on
// every run script) on it: the workflow's inputs are held to action.yml's.
func lintProject(t *testing.T, workflow string) (string, error) {
	t.Helper()
	lint := testtool.GoTool(t, "actionlint")
	shellcheck := testtool.Find(t, "shellcheck", "apt-get install -y shellcheck")
	dir := t.TempDir()
	action, err := os.ReadFile("../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, ".github", "workflows"), 0o755)
	os.WriteFile(filepath.Join(dir, "action.yml"), action, 0o644)
	local := regexp.MustCompile(`uses: deploystep/deploystep@v[0-9.]+`).ReplaceAllString(workflow, "uses: ./")
	if local == workflow {
		t.Fatal("the workflow does not use deploystep/deploystep@<version>")
	}
	os.WriteFile(filepath.Join(dir, ".github", "workflows", "release.yml"), []byte(local), 0o644)
	if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil { // actionlint's project is a repository
		t.Fatalf("git init: %v\n%s", err, out)
	}
	cmd := exec.Command(lint, "-shellcheck", shellcheck, "-no-color")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The example workflows pass actionlint with action.yml as the action they use; a workflow
// that passes an input the action does not have does not (the check reads action.yml).
func TestActionlint(t *testing.T) {
	t.Parallel()
	examples, _ := filepath.Glob("../docs/examples/github-*.yml")
	if len(examples) < 2 {
		t.Fatalf("examples: %v", examples)
	}
	for _, path := range examples {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := lintProject(t, string(b)); err != nil || out != "" {
			t.Errorf("actionlint %s: %v\n%s", filepath.Base(path), err, out)
		}
	}
	b, _ := os.ReadFile(examples[0])
	wrong := strings.Replace(string(b), "cluster: tsa-gallery", "clusterr: tsa-gallery", 1)
	if out, err := lintProject(t, wrong); err == nil || !strings.Contains(out, `input "clusterr" is not defined`) {
		t.Errorf("a workflow with an input action.yml lacks passed actionlint: %v\n%s", err, out)
	}
}

// shellcheck on the action's own scripts, as bash runs them (shell: bash).
func TestActionScriptsPassShellcheck(t *testing.T) {
	t.Parallel()
	shellcheck := testtool.Find(t, "shellcheck", "apt-get install -y shellcheck")
	a := readAction(t)
	for _, s := range a.Runs.Steps {
		f := filepath.Join(t.TempDir(), s.ID+".sh")
		os.WriteFile(f, []byte("#!/bin/bash\nset -eo pipefail\n"+s.Run), 0o644)
		if out, err := exec.Command(shellcheck, "-s", "bash", f).CombinedOutput(); err != nil {
			t.Errorf("shellcheck, step %s: %v\n%s", s.ID, err, out)
		}
	}
}

// The README's workflow is the example actionlint checks, as it is.
func TestREADMEWorkflowIsTheExample(t *testing.T) {
	b, err := os.ReadFile("../docs/examples/github-release.yml")
	if err != nil {
		t.Fatal(err)
	}
	// The README quotes it without its leading comment.
	body := string(b)
	for strings.HasPrefix(body, "#") {
		_, body, _ = strings.Cut(body, "\n")
	}
	if got, want := testtool.DocBlock(t, "README.md", "github-release"), "```yaml\n"+body+"```\n"; got != want {
		t.Fatalf("README's workflow is not docs/examples/github-release.yml; it should read:\n%s", want)
	}
}
