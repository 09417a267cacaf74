package release_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/deploystep/deploystep/internal/release"
)

const (
	testVersion = "v1.5.0"
	testCommit  = "4e1f9c2a7b3d5e6f8a9b0c1d2e3f4a5b6c7d8e9f"
)

var commitTime = time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC)

// build builds every asset into a fresh directory.
func build(t *testing.T) string {
	t.Helper()
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if err := release.Build(ctx, release.Options{Module: "../..", Out: out, Version: testVersion, Commit: testCommit, Time: commitTime}); err != nil {
		t.Fatal(err)
	}
	return out
}

// make dist's promise: every asset of a release, the same bytes from the same commit, each the
// platform it names, SHA256SUMS over all of them, and -version naming the version and commit.
func TestReleaseIsReproducible(t *testing.T) {
	a, b := build(t), build(t)
	sums, err := os.ReadFile(filepath.Join(a, release.SumsFile))
	if err != nil {
		t.Fatal(err)
	}
	byName, err := release.ReadSums(bytes.NewReader(sums))
	if err != nil {
		t.Fatal(err)
	}
	if len(byName) != len(release.Targets) {
		t.Fatalf("SHA256SUMS names %d assets, want %d:\n%s", len(byName), len(release.Targets), sums)
	}
	for _, tg := range release.Targets {
		x, err1 := os.ReadFile(filepath.Join(a, tg.Asset))
		y, err2 := os.ReadFile(filepath.Join(b, tg.Asset))
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", tg.Asset, err1, err2)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s: two builds of the same commit differ (%d and %d bytes)", tg.Asset, len(x), len(y))
		}
		if byName[tg.Asset] != sha256Hex(x) {
			t.Errorf("%s: SHA256SUMS says %s, the file is %s", tg.Asset, byName[tg.Asset], sha256Hex(x))
		}
		exe := executable(t, tg, x)
		checkPlatform(t, tg, exe)
		if tg.GOOS == runtime.GOOS && tg.GOARCH == runtime.GOARCH && !tg.Lambda {
			path := filepath.Join(t.TempDir(), "deploystep")
			os.WriteFile(path, exe, 0o755)
			out, err := exec.Command(path, "-version").CombinedOutput()
			if want := "deploystep " + testVersion + " (commit " + testCommit + ")"; err != nil || strings.TrimSpace(string(out)) != want {
				t.Errorf("-version: %q, %v; want %q", out, err, want)
			}
		}
	}
	if y, _ := os.ReadFile(filepath.Join(b, release.SumsFile)); !bytes.Equal(sums, y) {
		t.Error("the two SHA256SUMS differ")
	}
}

// executable is the binary an asset holds, after checking the archive's entries.
func executable(t *testing.T, tg release.Target, asset []byte) []byte {
	t.Helper()
	if tg.Lambda {
		z, err := zip.NewReader(bytes.NewReader(asset), int64(len(asset)))
		if err != nil || len(z.File) != 1 || z.File[0].Name != "bootstrap" || z.File[0].Mode().Perm() != 0o755 {
			t.Fatalf("%s: a Lambda package holds bootstrap (0755) alone: %v", tg.Asset, err)
		}
		r, _ := z.File[0].Open()
		b, _ := io.ReadAll(r)
		return b
	}
	gz, err := gzip.NewReader(bytes.NewReader(asset))
	if err != nil {
		t.Fatal(err)
	}
	if !gz.ModTime.IsZero() || gz.Name != "" {
		t.Errorf("%s: the gzip header carries a time or a name", tg.Asset)
	}
	tr := tar.NewReader(gz)
	var names []string
	var exe []byte
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if !h.ModTime.Equal(commitTime) || h.Uid != 0 || h.Uname != "" {
			t.Errorf("%s: %s has time %v, owner %d %q", tg.Asset, h.Name, h.ModTime, h.Uid, h.Uname)
		}
		if h.Name == "deploystep" {
			if h.Mode != 0o755 {
				t.Errorf("%s: deploystep has mode %o", tg.Asset, h.Mode)
			}
			exe, _ = io.ReadAll(tr)
		}
	}
	if strings.Join(names, " ") != "deploystep README.md" {
		t.Errorf("%s holds %v", tg.Asset, names)
	}
	return exe
}

// checkPlatform reads the executable's header: the OS and CPU the asset names.
func checkPlatform(t *testing.T, tg release.Target, exe []byte) {
	t.Helper()
	switch tg.GOOS {
	case "linux":
		f, err := elf.NewFile(bytes.NewReader(exe))
		want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[tg.GOARCH]
		if err != nil || f.Machine != want {
			t.Errorf("%s: not an ELF for %s: %v", tg.Asset, tg.GOARCH, err)
		}
	case "darwin":
		f, err := macho.NewFile(bytes.NewReader(exe))
		want := map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}[tg.GOARCH]
		if err != nil || f.Cpu != want {
			t.Errorf("%s: not a Mach-O for %s: %v", tg.Asset, tg.GOARCH, err)
		}
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
