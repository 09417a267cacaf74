package e2e_test

// The built binary against moto, a third-party AWS emulator this project did not write: what
// deploystep assumes of AWS must hold outside awsim too.

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"deploystep/internal/testtool"
)

// motoURL is moto's server as an endpoint: its URL and placeholder credentials.
type motoURL string

func (u motoURL) Env() []string {
	return []string{"AWS_ENDPOINT_URL=" + string(u), "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDMOTO",
		"AWS_SECRET_ACCESS_KEY=moto-secret", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true"}
}

func TestMotoEndToEnd(t *testing.T) {
	t.Parallel()
	py := testtool.Python(t, "moto.server", "boto3", "flask")
	url := testtool.Moto(t, py)
	out, err := exec.Command(py, "testdata/moto_world.py", url).CombinedOutput()
	if err != nil {
		t.Fatalf("creating the world in moto: %v\n%s", err, out)
	}
	var w struct{ Distribution, ARN, Digest string }
	if err := json.Unmarshal(out, &w); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	motoEnv := func(extra ...string) []string {
		e := []string{"CLUSTER=tsa-gallery", "SERVICE=api", "IMAGE=", "POLL_INTERVAL=500ms"}
		return env(motoURL(url), append(e, extra...)...)
	}

	// Without IMAGE: the release succeeds and moto records exactly one invalidation, though its
	// distribution id has no E prefix, its ARN no empty region field and its status is COMPLETED.
	r := runBin(t, motoEnv("DISTRIBUTIONID="+w.ARN, "CODEBUILD_BUILD_ID="+build))
	wantOutput(t, r, 0, "api: started deployment ecs-svc/", "invalidation", "summary: succeeded")
	count, err := exec.Command(py, "-c", `import boto3,sys
cf = boto3.client("cloudfront", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
print(cf.list_invalidations(DistributionId=sys.argv[2])["InvalidationList"]["Quantity"])`, url, w.Distribution).CombinedOutput()
	if err != nil || strings.TrimSpace(string(count)) != "1" {
		t.Fatalf("moto recorded %s invalidations (%v), want 1", count, err)
	}

	// With IMAGE: moto's tasks report no digest; the run ends within seconds with the message.
	r = runBin(t, motoEnv("DISTRIBUTIONID="+w.Distribution, "IMAGE=123456789012.dkr.ecr.us-east-1.amazonaws.com/tsa/gallery:3f2c1ab"))
	wantOutput(t, r, 1, "is "+w.Digest, "only 0 of 2 running tasks report an image digest", "DIGEST_CHECK=warn")
	if r.Took() > 30*time.Second {
		t.Errorf("took %v", r.Took())
	}
}
