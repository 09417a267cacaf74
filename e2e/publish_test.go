package e2e_test

// make publish end to end against moto's S3: the release's binary and Lambda zip land under keys
// that carry the version, and the printed parameter overrides name them.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	want := "DeploystepBucket=tsa-gallery-deploystep-artifacts DeploystepBinaryKey=deploystep/v1.4.2/deploystep-linux-arm64 DeployFunctionKey=deploystep/v1.4.2/deploystep-lambda.zip"
	if !strings.Contains(out, want) {
		t.Fatalf("no parameter overrides %q in:\n%s", want, out)
	}
	keys := s3(`for o in s3.list_objects_v2(Bucket="tsa-gallery-deploystep-artifacts")["Contents"]: print(o["Key"], o["Size"])`)
	for _, k := range []string{"deploystep/v1.4.2/deploystep-linux-arm64", "deploystep/v1.4.2/deploystep-lambda.zip"} {
		if !strings.Contains(keys, k+" ") || strings.Contains(keys, k+" 0\n") {
			t.Errorf("moto's S3 holds %q; want %s with content", keys, k)
		}
	}
	// The uploaded binary is the arm64 build of this version.
	head := s3(`print(s3.get_object(Bucket="tsa-gallery-deploystep-artifacts", Key="deploystep/v1.4.2/deploystep-linux-arm64")["Body"].read(20).hex())`)
	if !strings.HasPrefix(head, "7f454c46") || head[36:40] != "b700" { // ELF, e_machine EM_AARCH64 (0xb7)
		t.Errorf("the uploaded binary starts %s; want an ELF for arm64", head)
	}
}
