package e2e_test

// make publish end to end against moto's S3: the release's assets (make dist's) land under keys
// that carry the version, and the printed parameter overrides name the lab's.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deploystep/deploystep/internal/release"
	"github.com/deploystep/deploystep/internal/testtool"
)

func TestPublishToS3(t *testing.T) {
	t.Parallel()
	py := testtool.Python(t, "moto.server", "boto3", "flask")
	cli := testtool.AWSCLI(t)
	url := testtool.Moto(t, py)
	s3 := func(script string, args ...string) string {
		t.Helper()
		out, err := exec.Command(py, append([]string{"-c", `import boto3,sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="AKIDMOTO", aws_secret_access_key="moto-secret")
` + script, url}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	s3(`s3.create_bucket(Bucket="tsa-gallery-deploystep-artifacts")`)

	shim := filepath.Join(t.TempDir(), "aws")
	if err := os.WriteFile(shim, []byte("#!/bin/sh\nexec "+cli+" --endpoint-url "+url+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	make := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "make", append([]string{"--no-print-directory", "publish", "AWS_CLI=" + shim}, args...)...)
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDMOTO", "AWS_SECRET_ACCESS_KEY=moto-secret", "AWS_REGION=us-east-1",
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	if out, err := make(); err == nil || !strings.Contains(out, "set BUCKET=") {
		t.Fatalf("make publish without BUCKET: %v\n%s", err, out)
	}
	out, err := make("BUCKET=tsa-gallery-deploystep-artifacts", "VERSION=v1.4.2")
	if err != nil {
		t.Fatalf("make publish: %v\n%s", err, out)
	}
	want := "DeploystepBucket=tsa-gallery-deploystep-artifacts DeploystepBinaryKey=deploystep/v1.4.2/deploystep-linux-arm64.tar.gz DeployFunctionKey=deploystep/v1.4.2/deploystep-lambda-arm64.zip"
	if !strings.Contains(out, want) {
		t.Fatalf("no parameter overrides %q in:\n%s", want, out)
	}
	// Every asset of the release (both Linux architectures among them) and SHA256SUMS.
	keys := s3(`for o in s3.list_objects_v2(Bucket="tsa-gallery-deploystep-artifacts")["Contents"]: print(o["Key"], o["Size"])`) + "\n"
	for _, a := range append([]string{release.SumsFile}, assetNames()...) {
		k := "deploystep/v1.4.2/" + a
		if !strings.Contains(keys, k+" ") || strings.Contains(keys, k+" 0\n") {
			t.Errorf("moto's S3 holds %q; want %s with content", keys, k)
		}
	}
	// The archive the lab's build fetches holds the arm64 build of this version.
	archive := filepath.Join(t.TempDir(), "deploystep-linux-arm64.tar.gz")
	s3(`s3.download_file("tsa-gallery-deploystep-artifacts", "deploystep/v1.4.2/deploystep-linux-arm64.tar.gz", sys.argv[2])`, archive)
	if m := archiveMachine(t, archive); m != elf.EM_AARCH64 {
		t.Errorf("the uploaded archive's deploystep is for %v; want arm64", m)
	}
}

func assetNames() []string {
	var out []string
	for _, tg := range release.Targets {
		out = append(out, tg.Asset)
	}
	return out
}

// archiveMachine is the CPU of the deploystep executable in a release archive.
func archiveMachine(t *testing.T, path string) elf.Machine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("no deploystep in %s: %v", path, err)
		}
		if h.Name == "deploystep" {
			b, _ := io.ReadAll(tr)
			e, err := elf.NewFile(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			return e.Machine
		}
	}
}
