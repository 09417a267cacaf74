package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
)

// awsActionsScript is aws-actions/amazon-ecs-deploy-task-definition's flow as the AWS CLI runs it:
// the service's task definition saved (`describe-task-definition`, as that action's README has
// the file made), the image rendered into it (amazon-ecs-render-task-definition's step, here a
// python3 one-liner), registered, the service updated to it, and the services-stable wait.
const awsActionsScript = `set -e
aws ecs describe-task-definition --task-definition $SERVICE --query taskDefinition > td.json
python3 -c '
import json, sys
td = json.load(open("td.json"))
for k in ("taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities", "registeredAt", "registeredBy"):
    td.pop(k, None)
for c in td["containerDefinitions"]:
    c["image"] = sys.argv[1]
json.dump(td, open("new.json", "w"))' "$IMAGE"
ARN=$(aws ecs register-task-definition --cli-input-json file://new.json --query taskDefinition.taskDefinitionArn --output text)
aws ecs update-service --cluster $CLUSTER --service $SERVICE --task-definition $ARN > /dev/null
aws ecs wait services-stable --cluster $CLUSTER --service $SERVICE
`

// scenarioRegister: what registering the release's revision adds, side by side with
// aws-actions' flow run by the CLI. Both register one revision and deploy it; the figures are the
// time from the start to the UpdateService that names the revision, and deploystep's register
// step alone (its phases in the JSON summary).
func scenarioRegister() []row {
	const n, rollout = 3, 10 * time.Second
	type sample struct {
		cliToUpdate, dsToUpdate, dsRegister, cliRegister time.Duration
		ok                                               bool
	}
	var mu sync.Mutex
	var got []sample
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := func() awsim.Config { return demo.Config(awsim.Success, rollout+jitter(), time.Second) }
			simC, simD := newSim(cfg()), newSim(cfg())
			defer simC.Close()
			defer simD.Close()
			dir := mustTemp()
			defer os.RemoveAll(dir)
			cli := runCLI(simC, "cd "+dir+"\n"+awsActionsScript, "IMAGE="+demo.Image)
			ds := runDeploystep(simD, "IMAGE="+demo.Image, "SKIP_INVALIDATION=true", "OUTPUT=json")
			s := sample{ok: cli.verdict == "success" && ds.verdict == "success" &&
				simC.Effects().Registrations[demo.Service] == 1 && simD.Effects().Registrations[demo.Service] == 1}
			s.cliToUpdate = cli.first("ECS", "UpdateService").Sub(cli.start)
			s.dsToUpdate = ds.first("ECS", "UpdateService").Sub(ds.start)
			s.cliRegister = cli.first("ECS", "RegisterTaskDefinition").Sub(cli.first("ECS", "DescribeTaskDefinition"))
			s.dsRegister = registerPhase(ds.output)
			mu.Lock()
			got = append(got, s)
			mu.Unlock()
		}()
	}
	wg.Wait()
	var c2u, d2u, dReg, cReg time.Duration
	ok := len(got) == n
	for _, s := range got {
		c2u, d2u, dReg, cReg = c2u+s.cliToUpdate, d2u+s.dsToUpdate, dReg+s.dsRegister, cReg+s.cliRegister
		ok = ok && s.ok
	}
	return []row{
		{fmt.Sprintf("9. a revision of IMAGE registered and deployed (mean of %d)", n), "from the start to the UpdateService that names the new revision (CLI: aws-actions' flow, describe + render + register + update-service)",
			secs(c2u / n), "-", secs(d2u / n), "", ""},
		{"9. a revision registered", "registering it: CLI from describe-task-definition to register-task-definition; deploystep its register step (find, register)",
			secs(cReg / n), "-", fmt.Sprintf("%.2f s", (dReg / n).Seconds()), "≤ 1 s", passFail(ok && dReg/n <= time.Second)},
	}
}

// registerPhase reads the register step's seconds off deploystep's JSON result line.
func registerPhase(output string) time.Duration {
	for _, line := range strings.Split(output, "\n") {
		var ev struct {
			Kind    string
			Summary *struct{ Phases map[string]float64 }
		}
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Kind == "result" && ev.Summary != nil {
			return time.Duration(ev.Summary.Phases["register"] * float64(time.Second))
		}
	}
	return 0
}

// mustTemp is a directory for the CLI flow's task definition files (the OS's temporary space).
func mustTemp() string {
	dir, err := os.MkdirTemp("", "bench-register")
	if err != nil {
		panic(err)
	}
	return dir
}
