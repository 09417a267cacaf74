package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
)

func ms(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }

// assumeScript is how a buildspec assumes a role with the CLI before the seed's lines.
const assumeScript = `set -e
eval "$(aws sts assume-role --role-arn $ROLE_ARN --role-session-name release-$$ --query Credentials --output json | python3 -c 'import json,sys; c=json.load(sys.stdin); print("export AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_SESSION_TOKEN=%s" % (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]))')"
` + seedScript

// scenarioRole measures a release into another account (#26): the caller is the tooling
// account's CodeBuild role, the service is the workload account's. The figures: the time from
// the start to UpdateService (what assuming the role and the preflight cost), the calls of the
// release not signed by the role session (must be none), and the release record's size.
func scenarioRole() []row {
	const rollout, invalidation = 3 * time.Second, 2 * time.Second
	cfg := func() awsim.Config { return demo.Config(awsim.Success, rollout+jitter(), invalidation) }
	tooling := []string{"AWS_ACCESS_KEY_ID=" + demo.ToolingKey, "ROLE_ARN=" + demo.DeployRole}
	record := filepath.Join(os.TempDir(), fmt.Sprintf("bench-release-%d.md", time.Now().UnixNano()))
	defer os.Remove(record)
	var cli, sdk, ds, plain run
	var wg sync.WaitGroup
	wg.Add(4)
	go func() { defer wg.Done(); cli = runCLI(newSim(cfg()), assumeScript, tooling...) }()
	go func() {
		defer wg.Done()
		sim := newSim(cfg())
		c := sim.AWSConfig()
		c.Credentials = credentials.NewStaticCredentialsProvider(demo.ToolingKey, awsim.SecretAccessKey, "")
		role := c.Copy()
		role.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(c), demo.DeployRole))
		sdk = runSDKWaitersWith(sim, role, demo.Cluster, []string{demo.Service}, demo.Distribution)
	}()
	go func() {
		defer wg.Done()
		ds = runDeploystep(newSim(cfg()), append(tooling, "SUMMARY_FILE="+record, "CODEBUILD_BUILD_ID=tsa-pipeline:0f1e2d3c-4b5a-4c6d-8e7f-0123456789ab")...)
	}()
	go func() { defer wg.Done(); plain = runDeploystep(newSim(cfg())) }()
	wg.Wait()
	toUpdate := func(r run) (time.Duration, string) {
		u := r.first("ECS", "UpdateService")
		if u.IsZero() || r.verdict != "success" {
			return 0, "no release (" + r.verdict + ")"
		}
		return u.Sub(r.start), ms(u.Sub(r.start))
	}
	foreign := func(r run) (int, string) {
		n, all := 0, 0
		for _, c := range r.sim.Calls() {
			if c.Service == "STS" || c.Caller == "" {
				continue
			}
			all++
			if !strings.HasPrefix(c.Caller, "arn:aws:sts::123456789012:assumed-role/tsa-gallery-deploy/") {
				n++
			}
		}
		return n, fmt.Sprintf("%d of %d", n, all)
	}
	_, cs := toUpdate(cli)
	_, ss := toUpdate(sdk)
	d, dsCell := toUpdate(ds)
	p, _ := toUpdate(plain)
	cn, cnCell := foreign(cli)
	sn, snCell := foreign(sdk)
	dn, dnCell := foreign(ds)
	size := "no record"
	if b, err := os.ReadFile(record); err == nil {
		size = fmt.Sprintf("%.1f KB", float64(len(b))/1024)
	}
	sessions := ds.sim.Effects().AssumeRoles[demo.DeployRole]
	return []row{
		{"13. release into another account (ROLE_ARN; tooling caller, workload service)", "from the start to UpdateService (assuming the role and the preflight)",
			cs, ss, fmt.Sprintf("%s (without ROLE_ARN: %s)", dsCell, ms(p)), "≤ 1 s more than without ROLE_ARN", passFail(d > 0 && p > 0 && d-p <= time.Second)},
		{"", "calls not signed by the role session (STS's aside)", cnCell, snCell, fmt.Sprintf("%s; %d AssumeRole", dnCell, sessions), "0; one session", passFail(dn == 0 && cn == 0 && sn == 0 && sessions == 1)},
		{"", "the release record (SUMMARY_FILE)", "", "", size, "written", passFail(size != "no record")},
	}
}
