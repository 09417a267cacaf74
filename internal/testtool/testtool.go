// Package testtool finds the external programs that tests drive (the AWS CLI v2,
// aws-lambda-rie, cfn-lint, cfn-guard). Where one is missing a test is skipped on a developer's
// machine, but fails in CI (CI=true): a skipped proof never counts as a pass there.
package testtool

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Missing ends t because tool is not installed: a failure in CI, a skip elsewhere.
func Missing(t testing.TB, tool, install string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed; .ci/run installs it with: %s", tool, install)
	}
	t.Skipf("%s is not installed (install with: %s)", tool, install)
}

// AWSCLI returns the path of the AWS CLI v2. It is /usr/bin/aws from Debian's awscli package;
// another aws (v1) may come first on PATH, so PATH is not searched. AWSCLI overrides it.
func AWSCLI(t testing.TB) string {
	t.Helper()
	p := os.Getenv("AWSCLI")
	if p == "" {
		p = "/usr/bin/aws"
	}
	if _, err := os.Stat(p); err != nil {
		Missing(t, "AWS CLI v2 ("+p+")", "apt-get install -y awscli")
	}
	return p
}

// RIE returns the path of aws-lambda-rie: $RIE, then PATH, then $(go env GOPATH)/bin.
func RIE(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("RIE"); p != "" {
		return p
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p
	}
	gopath, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(string(gopath[:len(gopath)-1]), "bin", "aws-lambda-rie")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	Missing(t, "aws-lambda-rie", "make tools")
	return ""
}

// Find returns the path of an executable: the first of paths that exists, else PATH.
func Find(t testing.TB, name, install string, paths ...string) string {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	Missing(t, name, install)
	return ""
}

// Python returns python3 when it can import every module named (botocore, moto, boto3, ...);
// `make tools` installs the pinned ones with pip.
func Python(t testing.TB, modules ...string) string {
	t.Helper()
	p, err := exec.LookPath("python3")
	if err != nil {
		Missing(t, "python3", "apt-get install -y python3 python3-pip")
		return ""
	}
	for _, m := range modules {
		if err := exec.Command(p, "-c", "import "+m).Run(); err != nil {
			Missing(t, "the Python module "+m, "make tools")
			return ""
		}
	}
	return p
}

// motoServer is moto's server with one defect of moto 5.2.1 mended: a task's container cpu is
// answered as a number (0 by default) where the ECS API's Container.cpu is a string ("The value
// is 0 if no value was specified"), which aws-sdk-go-v2 refuses to decode, so no DescribeTasks or
// RunTask answer with a container could be read. Nothing else of moto is changed.
const motoServer = `import sys
import moto.ecs.models as models
init = models.Container.__init__
def container(self, *args, **kwargs):
    init(self, *args, **kwargs)
    if self.cpu is not None:
        self.cpu = str(self.cpu)
models.Container.__init__ = container
from moto.server import main
main(sys.argv[1:])
`

// Moto runs moto's server on a free 127.0.0.1 port; it stops with the test, and by itself
// after 5 minutes whatever happens.
func Moto(t testing.TB, py string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	cmd := exec.CommandContext(ctx, py, "-c", motoServer, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	// ECS services report this many running tasks (moto runs none).
	cmd.Env = append(cmd.Environ(), "MOTO_ECS_SERVICE_RUNNING=2")
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() }) //nolint:errcheck // killed
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(30 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatal("moto's server did not start within 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// PythonScript runs a Python script of the tests with in, as JSON, on its standard input and
// returns what it printed; a script that fails ends the test.
func PythonScript(t testing.TB, py, script string, in any) []byte {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, script)
	cmd.Stdin = bytes.NewReader(b)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s%s", script, err, out, stderr.String())
	}
	return out
}

// DocBlock is the text of the repository's file (README.md, docs/settings.md, ...) between
// <!-- name:begin --> and <!-- name:end -->: the blocks a test holds equal to what the code
// renders (the settings, the permissions) or to the file they quote (an example workflow).
func DocBlock(t testing.TB, file, name string) string {
	t.Helper()
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("finding the module: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(root)), file))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	begin, end := strings.Index(s, "<!-- "+name+":begin -->\n"), strings.Index(s, "<!-- "+name+":end -->")
	if begin < 0 || end < begin {
		t.Fatalf("%s has no %s block", file, name)
	}
	return s[begin+len("<!-- "+name+":begin -->\n") : end]
}

// GoTool returns the path of a tool `make tools` installs with go install (actionlint): PATH,
// then $(go env GOPATH)/bin.
func GoTool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if gopath, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(gopath)), "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	Missing(t, name, "make tools")
	return ""
}
