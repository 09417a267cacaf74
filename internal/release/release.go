// Package release builds deploystep's release assets, the same bytes from the same commit: one
// archive per platform a team runs it on (linux and darwin, amd64 and arm64), the Lambda
// function's zip for each architecture Lambda has (arm64, x86_64), and SHA256SUMS, all flat in
// one directory, as a GitHub release, an S3 prefix (make publish) or the action's download read
// them.
//
// Reproducible: every binary is built with CGO off, -trimpath, no VCS stamping, an empty build
// id and the version and commit set by the linker; every archive entry has the commit's time, no
// owner and a fixed mode, in a fixed order; gzip's header carries no name or time. Two builds
// of the same commit with the same Go toolchain give the same files (a test builds twice).
package release

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Target is one asset: its file name and the platform its binary is built for.
type Target struct {
	Asset        string
	GOOS, GOARCH string
	// Lambda: the asset is a Lambda deployment package (a zip holding bootstrap, for the
	// provided.al2023 runtime), built with -tags lambda.norpc.
	Lambda bool
}

// Targets are a release's assets, besides SHA256SUMS.
var Targets = []Target{
	{Asset: "deploystep-linux-amd64.tar.gz", GOOS: "linux", GOARCH: "amd64"},
	{Asset: "deploystep-linux-arm64.tar.gz", GOOS: "linux", GOARCH: "arm64"},
	{Asset: "deploystep-darwin-amd64.tar.gz", GOOS: "darwin", GOARCH: "amd64"},
	{Asset: "deploystep-darwin-arm64.tar.gz", GOOS: "darwin", GOARCH: "arm64"},
	{Asset: "deploystep-lambda-arm64.zip", GOOS: "linux", GOARCH: "arm64", Lambda: true},
	{Asset: "deploystep-lambda-x86_64.zip", GOOS: "linux", GOARCH: "amd64", Lambda: true},
}

// SumsFile is the checksums' file: one "<sha256>  <asset>" line per asset, sorted by name (the
// format sha256sum -c reads).
const SumsFile = "SHA256SUMS"

// Options say what to build.
type Options struct {
	// Module is the main package's directory (the repository's root).
	Module string
	// Out is the directory the assets are written to (made if missing).
	Out string
	// Version and Commit are what -version says; Time is every archive entry's time (the
	// commit's, so that the same commit gives the same bytes).
	Version, Commit string
	Time            time.Time
	// Targets to build (nil: all of Targets).
	Targets []Target
	// Go is the go command (default "go").
	Go string
}

// Build builds the assets of opts.Targets into opts.Out and writes SHA256SUMS over them.
func Build(ctx context.Context, opts Options) error {
	if opts.Version == "" || opts.Commit == "" || opts.Time.IsZero() {
		return fmt.Errorf("release: a version, a commit and a time are needed")
	}
	targets := opts.Targets
	if targets == nil {
		targets = Targets
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return err
	}
	bin, err := os.MkdirTemp("", "deploystep-release-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	for _, t := range targets {
		exe := filepath.Join(bin, strings.TrimSuffix(strings.TrimSuffix(t.Asset, ".tar.gz"), ".zip"))
		if err := buildBinary(ctx, opts, t, exe); err != nil {
			return err
		}
		asset := filepath.Join(opts.Out, t.Asset)
		if t.Lambda {
			err = WriteLambdaZip(asset, exe, opts.Time)
		} else {
			err = writeTarGz(asset, exe, filepath.Join(opts.Module, "README.md"), opts.Time)
		}
		if err != nil {
			return fmt.Errorf("release: %s: %w", t.Asset, err)
		}
	}
	return WriteSums(opts.Out)
}

// buildBinary builds the binary of t.
func buildBinary(ctx context.Context, opts Options, t Target, out string) error {
	ldflags := fmt.Sprintf("-s -w -buildid= -X main.version=%s -X main.commit=%s", opts.Version, opts.Commit)
	args := []string{"build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", out}
	if t.Lambda {
		args = append(args, "-tags", "lambda.norpc")
	}
	cmd := exec.CommandContext(ctx, cmp.Or(opts.Go, "go"), append(args, ".")...)
	cmd.Dir = opts.Module
	// The platform and nothing else of the environment's Go settings: GOFLAGS, GOAMD64 or
	// GOARM64 set on the machine would change the bytes.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+t.GOOS, "GOARCH="+t.GOARCH, "GOFLAGS=-mod=readonly",
		"GOAMD64=v1", "GOARM64=v8.0", "GOEXPERIMENT=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("release: go build %s/%s: %v\n%s", t.GOOS, t.GOARCH, err, stderr.String())
	}
	return nil
}

// writeTarGz writes a gzip'd tar of the executable (as deploystep) and the README.
func writeTarGz(path, exe, readme string, mtime time.Time) error {
	var buf bytes.Buffer
	gz, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	for _, f := range []struct {
		name, path string
		mode       int64
	}{{"deploystep", exe, 0o755}, {"README.md", readme, 0o644}} {
		b, err := os.ReadFile(f.path)
		if err != nil {
			return err
		}
		h := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(b)), ModTime: mtime.UTC().Truncate(time.Second),
			Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// WriteLambdaZip writes a Lambda deployment package: a zip holding exe as bootstrap, mode 0755,
// dated mtime.
func WriteLambdaZip(path, exe string, mtime time.Time) error {
	b, err := os.ReadFile(exe)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: mtime.UTC().Truncate(time.Second)}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// WriteSums writes dir's SHA256SUMS over every other file in it.
func WriteSums(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var lines []string
	for _, e := range entries {
		if e.IsDir() || e.Name() == SumsFile {
			continue
		}
		sum, err := fileSum(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		lines = append(lines, sum+"  "+e.Name())
	}
	slices.SortFunc(lines, func(a, b string) int { return strings.Compare(a[66:], b[66:]) })
	return os.WriteFile(filepath.Join(dir, SumsFile), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

// ReadSums reads a SHA256SUMS file: asset name → hex digest.
func ReadSums(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != 64 {
			return nil, fmt.Errorf("release: not a SHA256SUMS line: %q", sc.Text())
		}
		if _, err := hex.DecodeString(sum); err != nil {
			return nil, fmt.Errorf("release: not a SHA256SUMS line: %q", sc.Text())
		}
		out[name] = sum
	}
	return out, sc.Err()
}

func fileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
