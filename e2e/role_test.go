package e2e_test

// Releases into another account (#26): ROLE_ARN. The caller is the tooling account's CodeBuild
// role (demo.ToolingKey), whose credentials see none of the workload account's resources;
// the release acts as a session of the workload account's deploy role, and awsim's call log says
// who signed each call.

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
)

const (
	codeBuildID = "tsa-gallery-release:0f1e2d3c-4b5a-4c6d-8e7f-0123456789ab"
	sessionOf   = "arn:aws:sts::123456789012:assumed-role/tsa-gallery-deploy/"
)

// sessionName is the RoleSessionName a call log's assumed-role ARN shows.
var sessionName = regexp.MustCompile(`assumed-role/tsa-gallery-deploy/([\w+=,.@-]{2,64})$`)

// signedBy checks who signed each call: STS's by the caller (asking whom, assuming the role),
// and so CodePipeline's (the job is the caller's pipeline's), everything else by the role
// session; it returns the session's ARN.
func signedBy(t *testing.T, sim *awsim.Server, caller string) string {
	t.Helper()
	session, n := "", 0
	for _, c := range sim.Calls() {
		switch {
		case c.Service == "STS" && c.Op == "AssumeRole", c.Service == "STS" && c.Caller == caller, c.Service == "CodePipeline":
			if c.Caller != caller && !strings.HasPrefix(c.Error, "fault") { // an injected fault answers before the caller is read
				t.Errorf("%s.%s signed by %s; want the caller %s", c.Service, c.Op, c.Caller, caller)
			}
		case c.Service == "" || c.Caller == "": // the edge: plain HTTP, no credentials
		default:
			n++
			if !strings.HasPrefix(c.Caller, sessionOf) {
				t.Errorf("%s.%s signed by %q; want the role session", c.Service, c.Op, c.Caller)
			}
			session = c.Caller
		}
	}
	if n < 10 {
		t.Errorf("only %d calls signed by the role session", n)
	}
	return session
}

func TestRoleReleaseIntoAnotherAccount(t *testing.T) {
	t.Parallel()
	// Without ROLE_ARN the tooling account's credentials find no cluster: the release needs the role.
	sim := startSim(t, world(awsim.Success, 2*time.Second))
	r := runBin(t, env(sim, "AWS_ACCESS_KEY_ID="+demo.ToolingKey))
	wantOutput(t, r, 2, "account 111122223333")
	wantEffects(t, sim, 0, 0, r)

	sim = startSim(t, world(awsim.Success, 2*time.Second))
	r = runBin(t, env(sim, "AWS_ACCESS_KEY_ID="+demo.ToolingKey, "ROLE_ARN="+demo.DeployRole, "CODEBUILD_BUILD_ID="+codeBuildID))
	wantOutput(t, r, 0, "acting as "+sessionOf, "(account 123456789012)", "a session of ROLE_ARN "+demo.DeployRole+" assumed by "+demo.ToolingCaller, "summary: succeeded")
	wantEffects(t, sim, 1, 1, r)
	session := signedBy(t, sim, demo.ToolingCaller)
	m := sessionName.FindStringSubmatch(session)
	if m == nil || !strings.Contains(m[1], "0f1e2d3c-4b5a-4c6d-8e7f-0123456789ab") {
		t.Errorf("session %q: want a RoleSessionName of [\\w+=,.@-]{2,64} named after build %s", session, codeBuildID)
	}
	if n := sim.Effects().AssumeRoles[demo.DeployRole]; n != 1 {
		t.Errorf("%d role sessions for one run; want 1", n)
	}

	// The dry run says whom it would act as, and changes nothing.
	r = runBin(t, env(sim, "AWS_ACCESS_KEY_ID="+demo.ToolingKey, "ROLE_ARN="+demo.DeployRole), "-dry-run")
	wantOutput(t, r, 0, "acting as "+sessionOf, "assumed by "+demo.ToolingCaller)
	wantEffects(t, sim, 1, 1, r)
}

// A role that does not trust the caller, or an external id that is not the trust policy's: exit
// 2 in the first seconds, naming the role and the caller; nothing registered, deployed or
// invalidated, no call but STS's.
func TestRoleRefused(t *testing.T) {
	t.Parallel()
	cfg := world(awsim.Success, 2*time.Second)
	guarded := "arn:aws:iam::123456789012:role/tsa-gallery-deploy-guarded"
	cfg.Roles = append(cfg.Roles, awsim.RoleSpec{ARN: guarded, Trusted: []string{demo.ToolingAccount}, ExternalID: "tsa-prod-7f3a"})
	sim := startSim(t, cfg)
	for _, c := range []struct{ role, ext string }{
		{"arn:aws:iam::123456789012:role/tsa-gallery-admin", ""},
		{guarded, ""},
		{guarded, "tsa-prod-0000"},
	} {
		r := runBin(t, env(sim, "AWS_ACCESS_KEY_ID="+demo.ToolingKey, "ROLE_ARN="+c.role, "ROLE_EXTERNAL_ID="+c.ext,
			"IMAGE="+demoImage, "PREDEPLOY_COMMAND=./migrate"))
		wantOutput(t, r, 2, "ROLE_ARN "+c.role+": sts:AssumeRole refused for "+demo.ToolingCaller,
			"the role's trust policy must allow arn:aws:iam::111122223333:role/tsa-pipeline-codebuild")
		if r.Took() > 10*time.Second {
			t.Errorf("the refusal took %v", r.Took())
		}
	}
	wantEffects(t, sim, 0, 0, nil)
	e := sim.Effects()
	if revisions(sim) != 0 || len(e.RunTasks) != 0 {
		t.Errorf("effects after refusals: %+v", e)
	}
	for _, c := range sim.Calls() {
		if c.Service != "STS" {
			t.Errorf("%s.%s called after the role was refused", c.Service, c.Op)
		}
	}
	// The external id the trust policy asks for.
	r := runBin(t, env(sim, "AWS_ACCESS_KEY_ID="+demo.ToolingKey, "ROLE_ARN="+guarded, "ROLE_EXTERNAL_ID=tsa-prod-7f3a"))
	wantOutput(t, r, 0, "acting as arn:aws:sts::123456789012:assumed-role/tsa-gallery-deploy-guarded/", "summary: succeeded")
}

// A session that ends during the release is renewed before it expires: the session lives 63 s
// (awsim's scaled-down SessionTTL), deploystep renews a minute before the end, so every 3 s of
// an 8 s rollout; no call is ever signed with expired credentials.
func TestRoleSessionRenewed(t *testing.T) {
	t.Parallel()
	cfg := world(awsim.Success, 8*time.Second)
	cfg.Roles[0].SessionTTL = awsim.Duration(63 * time.Second)
	sim := startSim(t, cfg)
	r := runBin(t, env(sim, "AWS_ACCESS_KEY_ID="+demo.ToolingKey, "ROLE_ARN="+demo.DeployRole))
	wantOutput(t, r, 0, "summary: succeeded")
	if n := sim.Effects().AssumeRoles[demo.DeployRole]; n < 2 {
		t.Errorf("%d role sessions in a %v run with sessions that need renewing every 3 s; want at least 2", n, r.Took())
	}
	for _, c := range sim.Calls() {
		if strings.Contains(c.Error, "Expired") {
			t.Errorf("%s.%s answered %s", c.Service, c.Op, c.Error)
		}
	}
	signedBy(t, sim, demo.ToolingCaller)
	wantEffects(t, sim, 1, 1, r)
}

// The Lambda mode: each invocation assumes the role once; the CodePipeline job results stay the
// function's own (the job is the pipeline account's), the release's calls are the session's.
func TestRoleLambdaPerInvocation(t *testing.T) {
	t.Parallel()
	cfg := demo.Config(awsim.Success, 6*time.Second, 2*time.Second)
	const fn = "arn:aws:sts::123456789012:assumed-role/tsa-gallery-deploystep-function/deploystep"
	cfg.Identities = append(cfg.Identities, awsim.IdentitySpec{AccessKeyID: "AKIA4FUNCTION0EXMPLE", Account: "123456789012", ARN: fn})
	sim := startSim(t, cfg)
	d, logs := startRIE(t, sim, 4, "AWS_ACCESS_KEY_ID=AKIA4FUNCTION0EXMPLE")
	x, err := d.Run(context.Background(), jobInput(userParameters(map[string]any{"ROLE_ARN": demo.DeployRole})))
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, results(x), logs)
	}
	if final, ok := x.Final(); !ok || !final.Success {
		t.Fatalf("no final success:\n%s\n%s", results(x), logs)
	}
	if n := sim.Effects().AssumeRoles[demo.DeployRole]; n != len(x.Invocations) || n < 2 {
		t.Errorf("%d role sessions for %d invocations; want one each", n, len(x.Invocations))
	}
	signedBy(t, sim, fn)
	wantEffects(t, sim, 1, 1, logs)
}

// A throttled AssumeRole and one whose answer is lost (the session made, the connection reset)
// are asked again by the SDK's retryer: the release goes on, once.
func TestRoleFaults(t *testing.T) {
	t.Parallel()
	for _, f := range []awsim.Fault{{Throttle: 1, OnlyFirst: 2}, {ResetAfter: 1, OnlyFirst: 1}} {
		cfg := world(awsim.Success, 2*time.Second)
		cfg.Faults = map[string]awsim.Fault{"STS.AssumeRole": f}
		sim := startSim(t, cfg)
		r := runBin(t, env(sim, "AWS_ACCESS_KEY_ID="+demo.ToolingKey, "ROLE_ARN="+demo.DeployRole))
		wantOutput(t, r, 0, "acting as "+sessionOf, "summary: succeeded")
		wantEffects(t, sim, 1, 1, r)
		faulted := 0
		for _, c := range sim.Calls() {
			if c.Op == "AssumeRole" && c.Error != "" {
				faulted++
			}
		}
		if faulted != f.OnlyFirst {
			t.Errorf("%+v: %d AssumeRole calls faulted; want %d", f, faulted, f.OnlyFirst)
		}
		signedBy(t, sim, demo.ToolingCaller)
	}
}
