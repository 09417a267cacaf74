package e2e_test

// The built binary against moto, a third-party AWS emulator this project did not write: what
// deploystep assumes of AWS must hold outside awsim too.

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/deploystep/deploystep/internal/testtool"
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
	// INVALIDATION_PATHS=auto reads moto's distribution configuration and its Elastic Load
	// Balancing (the service's target group, the ALB's DNS name): of the lab's behaviours only
	// /api/photos* serves the API and can cache, so that is the one path moto records.
	r := runBin(t, motoEnv("DISTRIBUTIONID="+w.ARN, "CODEBUILD_BUILD_ID="+build))
	wantOutput(t, r, 0, "api: started deployment ecs-svc/", "invalidating /api/photos* (auto): the behaviours that serve the release and can cache: "+
		"behaviour /api/photos* → api's load balancer (legacy TTLs, max TTL 3600)", "of /api/photos* is", "summary: succeeded")
	count, err := exec.Command(py, "-c", `import boto3,sys
cf = boto3.client("cloudfront", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
l = cf.list_invalidations(DistributionId=sys.argv[2])["InvalidationList"]
paths = [cf.get_invalidation(DistributionId=sys.argv[2], Id=i["Id"])["Invalidation"]["InvalidationBatch"]["Paths"]["Items"] for i in l.get("Items", [])]
print(l["Quantity"], paths)`, url, w.Distribution).CombinedOutput()
	if err != nil || strings.TrimSpace(string(count)) != "1 [['/api/photos*']]" {
		t.Fatalf("moto recorded %s invalidations (%v), want 1 of /api/photos*", count, err)
	}

	// With IMAGE: moto's tasks report no digest; the run ends within seconds with the message.
	r = runBin(t, motoEnv("DISTRIBUTIONID="+w.Distribution, "IMAGE=123456789012.dkr.ecr.us-east-1.amazonaws.com/tsa/gallery:3f2c1ab"))
	wantOutput(t, r, 1, "is "+w.Digest, "only 0 of 2 running tasks report an image digest", "DIGEST_CHECK=warn")
	if r.Took() > 30*time.Second {
		t.Errorf("took %v", r.Took())
	}

	// A release of IMAGE registers a revision pinned to its digest (with the release's tag) and
	// moves the service onto it; moto keeps both, as boto3 reads them back. (The run above
	// registered revision 2; this release registers 3.)
	r = runBin(t, motoEnv("DISTRIBUTIONID="+w.Distribution, "DIGEST_CHECK=warn", "CODEBUILD_BUILD_ID=tsa-gallery-api:0b5f3c52-1a2b-4c3d-9e8f-00000000m070",
		"IMAGE=123456789012.dkr.ecr.us-east-1.amazonaws.com/tsa/gallery:3f2c1ab"))
	wantOutput(t, r, 0, "registered task definition tsa-gallery-api:", "summary: succeeded")
	read, err := exec.Command(py, "-c", `import boto3,json,sys
ecs = boto3.client("ecs", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
svc = ecs.describe_services(cluster="tsa-gallery", services=["api"])["services"][0]
td = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"], include=["TAGS"])
revs = ecs.list_task_definitions(familyPrefix="tsa-gallery-api")["taskDefinitionArns"]
print(json.dumps({"service": svc["taskDefinition"], "image": td["taskDefinition"]["containerDefinitions"][0]["image"],
  "port": td["taskDefinition"]["containerDefinitions"][0]["portMappings"][0]["containerPort"], "cpu": td["taskDefinition"]["cpu"],
  "tags": {t["key"]: t["value"] for t in td.get("tags", [])}, "revisions": len(revs)}))`, url).CombinedOutput()
	if err != nil {
		t.Fatalf("reading moto's task definitions: %v\n%s", err, read)
	}
	var got struct {
		Service, Image, CPU string
		Port, Revisions     int
		Tags                map[string]string
	}
	if err := json.Unmarshal(read, &got); err != nil {
		t.Fatalf("%v: %s", err, read)
	}
	if !strings.HasSuffix(got.Service, ":3") || got.Image != "123456789012.dkr.ecr.us-east-1.amazonaws.com/tsa/gallery@"+w.Digest ||
		got.Port != 3000 || got.CPU != "512" || got.Tags["deploystep:release"] == "" || got.Revisions != 3 {
		t.Errorf("after the release moto has %+v; want the service on revision 3, the image by digest %s, the rest copied, the release's tag", got, w.Digest)
	}
	// The same release again finds its revision instead of registering another.
	again := runBin(t, motoEnv("DISTRIBUTIONID="+w.Distribution, "DIGEST_CHECK=warn", "CODEBUILD_BUILD_ID=tsa-gallery-api:0b5f3c52-1a2b-4c3d-9e8f-00000000m070",
		"IMAGE=123456789012.dkr.ecr.us-east-1.amazonaws.com/tsa/gallery:3f2c1ab"))
	wantOutput(t, again, 0, "resuming: task definition tsa-gallery-api:3 was registered by an earlier run of this release")

	// A release with a migration: moto runs the pre-deploy task of the release's revision (4)
	// with the command override, on the service's network, and lists it by startedBy, as boto3
	// reads it back; a re-run adopts it. What moto models of it: RunTask's overrides, startedBy,
	// launch type and awsvpc network (it refuses an awsvpc task without one), ListTasks by
	// startedBy, and a task that is STOPPED at its first read with exit code 0. What it does not:
	// logs (the task definition here has no awslogs driver, so the run says its lines are not
	// shown), exit codes other than 0, stop codes, capacity failures, client tokens; those are
	// awsim's, from the API reference.
	migration := []string{"DISTRIBUTIONID=" + w.Distribution, "DIGEST_CHECK=warn", "CODEBUILD_BUILD_ID=tsa-gallery-api:0b5f3c52-1a2b-4c3d-9e8f-00000000m071",
		"IMAGE=123456789012.dkr.ecr.us-east-1.amazonaws.com/tsa/gallery:3f2c1ab", "PREDEPLOY_COMMAND=npm run migrate"}
	r = runBin(t, motoEnv(migration...))
	t.Logf("the release with a migration, against moto:\n%s", r.Stdout)
	wantOutput(t, r, 0, "registered task definition tsa-gallery-api:4", "started pre-deploy task ", " of tsa-gallery-api:4: npm run migrate in container api",
		"container api does not log to CloudWatch Logs", "succeeded: container api exited 0", "summary: succeeded")
	tasks, err := exec.Command(py, "-c", `import boto3,json,sys
ecs = boto3.client("ecs", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
arns = [a for a in ecs.list_tasks(cluster="tsa-gallery")["taskArns"]]
ts = ecs.describe_tasks(cluster="tsa-gallery", tasks=arns)["tasks"] if arns else []
mine = [t for t in ts if t.get("startedBy", "").startswith("deploystep/")]
print(json.dumps([{"td": t["taskDefinitionArn"], "cmd": t["overrides"]["containerOverrides"][0].get("command"), "startedBy": t["startedBy"]} for t in mine]))`, url).CombinedOutput()
	if err != nil {
		t.Fatalf("reading moto's tasks: %v\n%s", err, tasks)
	}
	var ran []struct {
		TD, StartedBy string
		Cmd           []string
	}
	if err := json.Unmarshal(tasks, &ran); err != nil {
		t.Fatalf("%v: %s", err, tasks)
	}
	if len(ran) != 1 || !strings.HasSuffix(ran[0].TD, "tsa-gallery-api:4") || strings.Join(ran[0].Cmd, " ") != "sh -c npm run migrate" {
		t.Fatalf("moto ran %+v; want one task of revision 4 running sh -c npm run migrate", ran)
	}
	again = runBin(t, motoEnv(migration...))
	wantOutput(t, again, 0, "resuming: pre-deploy task ", "was started by an earlier run of this release")
	if n, _ := exec.Command(py, "-c", `import boto3,sys
ecs = boto3.client("ecs", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
print(len(ecs.list_tasks(cluster="tsa-gallery", startedBy=sys.argv[2])["taskArns"]))`, url, ran[0].StartedBy).CombinedOutput(); strings.TrimSpace(string(n)) != "1" {
		t.Errorf("moto lists %s tasks of the release after its re-run, want 1", n)
	}

	// ROLE_ARN against moto's STS: its AssumeRole answer (read by the SDK's stscreds provider) and
	// its GetCallerIdentity for the session say the release acts as the assumed role, with the
	// session named after the release; the release goes through as that session. (moto checks no
	// trust policy: refusals are awsim's.)
	r = runBin(t, motoEnv("DISTRIBUTIONID="+w.Distribution, "CODEBUILD_BUILD_ID=tsa-gallery-api:0b5f3c52-1a2b-4c3d-9e8f-00000000m072",
		"ROLE_ARN=arn:aws:iam::123456789012:role/tsa-gallery-deploy"))
	wantOutput(t, r, 0, "acting as arn:aws:sts::123456789012:assumed-role/tsa-gallery-deploy/deploystep-0b5f3c52-1a2b-4c3d-9e8f-00000000m072-",
		"a session of ROLE_ARN arn:aws:iam::123456789012:role/tsa-gallery-deploy assumed by ", "summary: succeeded")
}
