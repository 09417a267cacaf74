package cfn_test

// cfn/stack.sh (make stack, make destroy) run with the real AWS CLI v2 against moto's server:
// the first create and an update choose StartWithoutTasks by whether the stack exists, a failing
// read never passes for a missing stack, and destroy empties versioned buckets before deleting.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deploystep/deploystep/internal/testtool"
)

// cliShim writes an "aws" that runs the AWS CLI v2 against endpoint. `cloudformation deploy` is
// recorded in the returned log and done by onDeploy instead (a shell command; "" does nothing):
// the CLI's deploy uploads the template through an S3 client that ignores --endpoint-url, so it
// would leave this machine.
func cliShim(t *testing.T, endpoint, onDeploy string) (shim, log string) {
	t.Helper()
	cli := testtool.AWSCLI(t)
	dir := t.TempDir()
	log = filepath.Join(dir, "deploy.log")
	shim = filepath.Join(dir, "aws")
	if onDeploy == "" {
		onDeploy = "true"
	}
	script := fmt.Sprintf(`#!/bin/sh
if [ "$1 $2" = "cloudformation deploy" ]; then echo "$*" >> %s; %s; exit; fi
exec %s --endpoint-url %s "$@"
`, log, onDeploy, cli, endpoint)
	if err := os.WriteFile(shim, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return shim, log
}

// motoEnv is an environment of nothing but moto's placeholder credentials and region.
func motoEnv(t *testing.T) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=AKIDMOTO", "AWS_SECRET_ACCESS_KEY=moto-secret", "AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER="}
}

// stackScript runs cfn/stack.sh with the shim in motoEnv.
func stackScript(t *testing.T, shim string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command("sh", append([]string{"stack.sh"}, args...)...)
	cmd.Env = append(motoEnv(t), "AWS_CLI="+shim)
	out, err := cmd.CombinedOutput()
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

// motoStackCommand is the command that creates the variant in moto as stack (testdata/moto_stack.py).
func motoStackCommand(t *testing.T, py, endpoint string, v variant, stack string) []string {
	t.Helper()
	params, _ := json.Marshal(v.Params)
	pf := filepath.Join(t.TempDir(), "params.json")
	os.WriteFile(pf, params, 0o644)
	abs, _ := filepath.Abs("testdata/moto_stack.py")
	return []string{py, abs, endpoint, v.Path, stack, pf}
}

// motoStack creates the variant in moto as stack.
func motoStack(t *testing.T, py, endpoint string, v variant, stack string) {
	t.Helper()
	c := motoStackCommand(t, py, endpoint, v, stack)
	if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil || !strings.Contains(string(out), `"status": "CREATE_COMPLETE"`) {
		t.Fatalf("moto_stack.py: %v\n%s", err, out)
	}
}

func TestStackScriptDeploy(t *testing.T) {
	t.Parallel()
	py := testtool.Python(t, "moto", "boto3")
	endpoint := testtool.Moto(t, py)
	_, vs := renderAll(t)
	// The deploy creates the stack (in moto: the ROLLING CodeBuild variant).
	shim, log := cliShim(t, endpoint, strings.Join(motoStackCommand(t, py, endpoint, vs[len(vs)-2], "TSA-Gallery"), " ")+" >/dev/null || true")
	if st, _ := os.Stat(templateFile); st.Size() <= 51200 {
		t.Logf("infra.yaml is %d bytes: it would also fit CloudFormation's inline limit", st.Size())
	}

	// The first create: no stack yet, so the service starts without tasks.
	out, code := stackScript(t, shim, "deploy", "TSA-Gallery", "tsa-deploystep-artifacts-123456789012", "DeployPath=lambda")
	if code != 0 {
		t.Fatalf("deploy of a new stack: exit %d\n%s", code, out)
	}
	first, _ := os.ReadFile(log)
	for _, want := range []string{"--stack-name TSA-Gallery", "/../infra.yaml", "--s3-bucket tsa-deploystep-artifacts-123456789012",
		"--capabilities CAPABILITY_IAM", "DeploystepBucket=tsa-deploystep-artifacts-123456789012", "StartWithoutTasks=true",
		"CloudFrontPrefixListId=pl-", "DeployPath=lambda"} {
		if !strings.Contains(string(first), want) {
			t.Errorf("the first create's deploy lacks %q:\n%s", want, first)
		}
	}

	// The stack exists, but no release ran: the service is on the template's placeholder image, so
	// an update (which must name the released image) is refused.
	os.Remove(log)
	out, code = stackScript(t, shim, "deploy", "TSA-Gallery", "tsa-deploystep-artifacts-123456789012")
	if deployed, _ := os.ReadFile(log); code == 0 || len(deployed) > 0 || !strings.Contains(out, "not an image pinned by digest: release once") {
		t.Errorf("an update before the first release: exit %d, deployed %q\n%s", code, deployed, out)
	}

	// A release (the binary, with IMAGE pushed to the stack's repository) registers a revision
	// pinned to the digest; an update then names that image, and leaves the count to the releases.
	image, digest := releaseInMoto(t, shim, endpoint)
	if out, code = stackScript(t, shim, "deploy", "TSA-Gallery", "tsa-deploystep-artifacts-123456789012"); code != 0 {
		t.Fatalf("deploy of an existing stack: exit %d\n%s", code, out)
	}
	update, _ := os.ReadFile(log)
	if !strings.Contains(string(update), "StartWithoutTasks=false") || !strings.Contains(string(update), "TaskImage="+image+"@"+digest) {
		t.Errorf("an update asks for %s; want StartWithoutTasks=false and TaskImage=%s@%s", update, image, digest)
	}

	// A read that fails (the endpoint refuses) is not taken for a missing stack.
	os.Remove(log)
	refused, _ := cliShim(t, "http://127.0.0.1:1", "")
	out, code = stackScript(t, refused, "deploy", "TSA-Gallery", "tsa-deploystep-artifacts-123456789012")
	if deployed, _ := os.ReadFile(log); code == 0 || len(deployed) > 0 || !strings.Contains(out, "cannot tell whether stack TSA-Gallery exists") {
		t.Errorf("with the endpoint refusing: exit %d, deployed %q\n%s", code, deployed, out)
	}
}

func TestStackScriptDestroy(t *testing.T) {
	py := testtool.Python(t, "moto", "boto3")
	endpoint := testtool.Moto(t, py)
	shim, _ := cliShim(t, endpoint, "")
	_, vs := renderAll(t)
	// What delete-stack must get rid of: the buckets and the image repository (moto's deletion does
	// not follow dependencies, so the rest stays out).
	t.Setenv("MOTO_ONLY", "AWS::S3::Bucket,AWS::ECR::Repository")
	motoStack(t, py, endpoint, vs[len(vs)-2], "TSA-Gallery")
	run := func(args ...string) string {
		cmd := exec.Command(shim, args...)
		cmd.Env = motoEnv(t)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	buckets := strings.Fields(run("cloudformation", "describe-stack-resources", "--stack-name", "TSA-Gallery",
		"--query", "StackResources[?ResourceType=='AWS::S3::Bucket'].PhysicalResourceId", "--output", "text"))
	if len(buckets) != 2 {
		t.Fatalf("the stack has buckets %v, want the data and artifact buckets", buckets)
	}
	// Releases leave versions and delete markers behind.
	body := filepath.Join(t.TempDir(), "index.html")
	os.WriteFile(body, []byte("<h1>TSA Gallery</h1>"), 0o644)
	for _, b := range buckets {
		run("s3api", "put-bucket-versioning", "--bucket", b, "--versioning-configuration", "Status=Enabled")
		for i := 0; i < 3; i++ {
			run("s3api", "put-object", "--bucket", b, "--key", "static/index.html", "--body", body)
		}
		run("s3api", "delete-object", "--bucket", b, "--key", "static/index.html")
	}
	repo := run("cloudformation", "describe-stack-resources", "--stack-name", "TSA-Gallery",
		"--query", "StackResources[?ResourceType=='AWS::ECR::Repository'].PhysicalResourceId", "--output", "text")
	manifest := `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1469,"digest":"sha256:0652c4d5b1f7a2e3c4b5a6978877665544332211ffeeddccbbaa998877665544"},"layers":[]}`
	run("ecr", "put-image", "--repository-name", repo, "--image-tag", "3f2c1ab", "--image-manifest", manifest)
	out, code := stackScript(t, shim, "destroy", "TSA-Gallery")
	if code != 0 {
		t.Fatalf("destroy: exit %d\n%s", code, out)
	}
	for _, b := range buckets {
		if !strings.Contains(out, "bucket "+b+": emptied") {
			t.Errorf("destroy did not empty %s:\n%s", b, out)
		}
		cmd := exec.Command(shim, "s3api", "list-object-versions", "--bucket", b, "--output", "json")
		cmd.Env = motoEnv(t)
		if left, err := cmd.CombinedOutput(); err == nil && strings.Contains(string(left), `"Key"`) {
			t.Errorf("%s still holds %s", b, left)
		}
	}
	if !strings.Contains(out, "repository "+repo+": emptied") {
		t.Errorf("destroy did not empty %s:\n%s", repo, out)
	}
	if !strings.Contains(out, "stack TSA-Gallery: deleted") {
		t.Errorf("destroy did not delete the stack:\n%s", out)
	}
	cmd := exec.Command(shim, "cloudformation", "describe-stacks", "--stack-name", "TSA-Gallery")
	cmd.Env = motoEnv(t)
	if st, err := cmd.CombinedOutput(); err == nil && !strings.Contains(string(st), "DELETE_COMPLETE") {
		t.Errorf("the stack is still there:\n%s", st)
	}
	if out, code = stackScript(t, shim, "destroy", "TSA-Gallery"); code != 0 || !strings.Contains(out, "nothing to delete") {
		t.Errorf("destroy of a deleted stack: exit %d\n%s", code, out)
	}
}

// releaseInMoto pushes an image to the stack's repository in moto and runs the binary's release of
// it: the revision it registers names the image by digest. It returns the repository URI and the
// digest.
func releaseInMoto(t *testing.T, shim, endpoint string) (string, string) {
	t.Helper()
	aws := func(args ...string) string {
		cmd := exec.Command(shim, args...)
		cmd.Env = motoEnv(t)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	res := func(id string) string {
		return aws("cloudformation", "describe-stack-resource", "--stack-name", "TSA-Gallery", "--logical-resource-id", id,
			"--query", "StackResourceDetail.PhysicalResourceId", "--output", "text")
	}
	repo, cluster, service := res("ECRRepository"), res("APICluster"), res("APIService")
	manifest := `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1469,"digest":"sha256:0652c4d5b1f7a2e3c4b5a6978877665544332211ffeeddccbbaa998877665544"},"layers":[]}`
	digest := aws("ecr", "put-image", "--repository-name", repo, "--image-tag", "3f2c1ab", "--image-manifest", manifest, "--query", "image.imageId.imageDigest", "--output", "text")
	uri := aws("ecr", "describe-repositories", "--repository-names", repo, "--query", "repositories[0].repositoryUri", "--output", "text")
	cmd := exec.Command(testtool.Binary(t))
	cmd.Env = append(motoEnv(t), "AWS_ENDPOINT_URL="+endpoint, "CLUSTER="+cluster, "SERVICE="+service, "SKIP_INVALIDATION=true",
		"IMAGE="+uri+":3f2c1ab", "DIGEST_CHECK=warn", "POLL_INTERVAL=500ms", "DEPLOY_TIMEOUT=2m")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "registered task definition") {
		t.Fatalf("the release in moto: %v\n%s", err, out)
	}
	return uri, digest
}
