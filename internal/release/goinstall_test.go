package release_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const modulePath = "github.com/deploystep/deploystep"

// go install <module>@<version> works: through a module proxy that serves this repository at
// v1.5.0 (a directory in the GOPROXY protocol's layout, built from the tracked files as the
// module proxy would zip them) and, for the dependencies, the module cache's own download
// directory. No network: GOPROXY names files only and the checksum database is off (it is a
// service); every dependency is still checked against the go.sum the module ships.
func TestGoInstallThroughAFileProxy(t *testing.T) {
	proxy := t.TempDir()
	dir := filepath.Join(proxy, modulePath, "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	info, _ := json.Marshal(map[string]string{"Version": testVersion, "Time": commitTime.Format(time.RFC3339)})
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("list", []byte(testVersion+"\n"))
	write(testVersion+".info", info)
	write(testVersion+".mod", mod)
	write(testVersion+".zip", moduleZip(t))

	gomodcache := strings.TrimSpace(goEnv(t, "GOMODCACHE"))
	bin, cache := t.TempDir(), t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", modulePath+"@"+testVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOMODCACHE="+cache, "GOFLAGS=-modcacherw",
		"GOPROXY=file://"+proxy+",file://"+filepath.Join(gomodcache, "cache", "download"),
		"GOSUMDB=off", "GOTOOLCHAIN=local", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install %s@%s: %v\n%s", modulePath, testVersion, err, out)
	}
	out, err := exec.Command(filepath.Join(bin, "deploystep"), "-version").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "deploystep "+testVersion {
		t.Fatalf("the installed deploystep -version: %q, %v; want %q", out, err, "deploystep "+testVersion)
	}
}

// moduleZip zips the repository's tracked files as a module zip: every path under
// <module>@<version>/.
func moduleZip(t *testing.T) []byte {
	t.Helper()
	ls, err := exec.Command("git", "-C", "../..", "ls-files", "-z").Output()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	n := 0
	for _, name := range strings.Split(strings.TrimRight(string(ls), "\x00"), "\x00") {
		b, err := os.ReadFile(filepath.Join("../..", name))
		if os.IsNotExist(err) {
			continue // deleted in the work tree
		}
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(modulePath + "@" + testVersion + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
		n++
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Fatalf("only %d tracked files", n)
	}
	return buf.Bytes()
}

func goEnv(t *testing.T, name string) string {
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
