package cfn_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"

	"github.com/deploystep/deploystep/deploy/settings"
)

// TestInfraVariantsWiring renders each parameter file and checks what ECS needs for the chosen
// strategy, and what deploystep needs to reach the green revision, in the chosen deploy path.
func TestInfraVariantsWiring(t *testing.T) {
	_, vs := renderAll(t)
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			res := v.Doc["Resources"].(map[string]any)
			names := resourceNames(v.Doc)
			has := func(n string) bool { return slices.Contains(names, n) }
			eq := equal(t)
			strategy, lambda := v.Params["DeploymentStrategy"], v.Params["DeployPath"] == "lambda"
			verifyURL(t, v)
			shifts := strategy != "ROLLING"
			dc := get(res, "APIService", "Properties", "DeploymentConfiguration")
			lb := get(res, "APIService", "Properties", "LoadBalancers", "0")
			eq("Strategy", get(dc, "Strategy"), map[string]any{"Ref": "DeploymentStrategy"})
			eq("circuit breaker", get(dc, "DeploymentCircuitBreaker"), map[string]any{"Enable": true, "Rollback": true})
			if !refTo(get(lb, "TargetGroupArn"), "APIALBTG") {
				t.Errorf("the service's target group is %v", get(lb, "TargetGroupArn"))
			}
			green := []string{"APIALBTGGreen", "ProductionListenerRule", "APIALBTestListener", "TestListenerRule", "TestListenerIngress",
				"ECSLoadBalancersRole", "TargetErrorsAlarm", "UnhealthyTargetsAlarm", "DeploymentAlarmTopic", "DeployStepSecurityGroup"}
			for _, n := range green {
				if has(n) != shifts {
					t.Errorf("%s present = %v with %s", n, has(n), strategy)
				}
			}
			eq("DeployFunction present", has("DeployFunction"), lambda)
			// The role a workload account's deploy role trusts for ROLE_ARN is the one that runs deploystep.
			deployer := "CodeBuildRole"
			if lambda {
				deployer = "DeployFunctionRole"
			}
			eq("DeployerRoleArn", get(v.Doc, "Outputs", "DeployerRoleArn", "Value"), map[string]any{"Fn::GetAtt": []any{deployer, "Arn"}})
			if !shifts {
				for _, k := range []string{"BakeTimeInMinutes", "Alarms", "LifecycleHooks", "LinearConfiguration", "CanaryConfiguration"} {
					if get(dc, k) != nil {
						t.Errorf("ROLLING sets %s", k)
					}
				}
				if get(lb, "AdvancedConfiguration") != nil || get(res, "APIBuildProject", "Properties", "VpcConfig") != nil {
					t.Error("ROLLING has an advanced load balancer configuration or a build in the VPC")
				}
				return
			}

			shiftingWiring(t, v, dc, lb)
		})
	}
}

// equal is a check that got prints as want.
func equal(t *testing.T) func(what string, got, want any) {
	return func(what string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
}

// shiftingWiring checks a BLUE_GREEN, LINEAR or CANARY variant: what ECS needs to shift traffic,
// and what deploystep needs to reach the green revision, in the variant's deploy path.
func shiftingWiring(t *testing.T, v variant, dc, lb any) {
	res := v.Doc["Resources"].(map[string]any)
	eq := equal(t)
	strategy := v.Params["DeploymentStrategy"]
	// The green target group in the service's load balancer advanced configuration, with
	// the listener rules whose weights ECS moves and the role it moves them with.
	adv := get(lb, "AdvancedConfiguration")
	for k, want := range map[string]string{"AlternateTargetGroupArn": "APIALBTGGreen", "ProductionListenerRule": "ProductionListenerRule",
		"TestListenerRule": "TestListenerRule", "RoleArn": "ECSLoadBalancersRole"} {
		if !refTo(get(adv, k), want) {
			t.Errorf("AdvancedConfiguration.%s = %v, want %s", k, get(adv, k), want)
		}
	}
	for rule, listener := range map[string]string{"ProductionListenerRule": "APIALBListener", "TestListenerRule": "APIALBTestListener"} {
		p := get(res, rule, "Properties")
		if !refTo(get(p, "ListenerArn"), listener) {
			t.Errorf("%s is on %v, want %s", rule, get(p, "ListenerArn"), listener)
		}
		tgs := get(p, "Actions", "0", "ForwardConfig", "TargetGroups")
		if !refTo(get(tgs, "0", "TargetGroupArn"), "APIALBTG") || !refTo(get(tgs, "1", "TargetGroupArn"), "APIALBTGGreen") ||
			fmt.Sprint(get(tgs, "0", "Weight"), get(tgs, "1", "Weight")) != "100 0" {
			t.Errorf("%s forwards %v; want blue 100, green 0", rule, tgs)
		}
	}
	eq("test listener port", get(res, "APIALBTestListener", "Properties", "Port"), 8080)
	for k, want := range map[string]any{"HealthCheckPath": "/api/health", "Port": 3000, "TargetType": "ip", "HealthCheckIntervalSeconds": 5} {
		eq("green "+k, get(res, "APIALBTGGreen", "Properties", k), want)
	}
	role := get(res, "ECSLoadBalancersRole", "Properties")
	st := get(role, "AssumeRolePolicyDocument", "Statement", "0")
	eq("infrastructure role trust", words(get(st, "Effect"), get(st, "Principal", "Service"), get(st, "Action")), "Allow ecs.amazonaws.com sts:AssumeRole")
	if !strings.HasSuffix(fmt.Sprint(get(role, "ManagedPolicyArns", "0")), ":iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers]") {
		t.Errorf("infrastructure role policies %v", get(role, "ManagedPolicyArns"))
	}
	if get(role, "Policies") != nil {
		t.Error("the infrastructure role has inline policies besides the managed one")
	}

	// Alarms named in the deployment configuration, each over both target groups.
	alarms := get(dc, "Alarms")
	eq("alarms enabled, rollback", fmt.Sprint(get(alarms, "Enable"), get(alarms, "Rollback")), "true true")
	for i, a := range []string{"TargetErrorsAlarm", "UnhealthyTargetsAlarm"} {
		if !refTo(get(alarms, "AlarmNames", fmt.Sprint(i)), a) {
			t.Errorf("AlarmNames[%d] = %v, want %s", i, get(alarms, "AlarmNames", fmt.Sprint(i)), a)
		}
		js, _ := json.Marshal(get(res, a, "Properties", "Metrics"))
		if !strings.Contains(string(js), `["APIALBTG","TargetGroupFullName"]`) || !strings.Contains(string(js), `["APIALBTGGreen","TargetGroupFullName"]`) {
			t.Errorf("%s does not watch both target groups: %s", a, js)
		}
	}
	eq("bake time", get(dc, "BakeTimeInMinutes"), map[string]any{"Ref": "BakeTimeInMinutes"})
	eq("linear configuration present", get(dc, "LinearConfiguration") != nil, strategy == "LINEAR")
	eq("canary configuration present", get(dc, "CanaryConfiguration") != nil, strategy == "CANARY")

	smokeTestWiring(t, v, dc)
}

// verifyURL checks that deploystep, where it runs, proves the release through the distribution:
// VERIFY_URL is https://<the distribution's domain>/api/health, the target group's health path.
func verifyURL(t *testing.T, v variant) {
	t.Helper()
	want := "https://d111111abcdef8.cloudfront.net" + fmt.Sprint(get(v.Doc, "Resources", "APIALBTG", "Properties", "HealthCheckPath"))
	if got := deployEnv(t, v)["VERIFY_URL"]; got != want {
		t.Errorf("VERIFY_URL = %q, want %q", got, want)
	}
}

// words prints values with spaces between them.
func words(vs ...any) string { return strings.TrimSpace(fmt.Sprintln(vs...)) }

// deployEnv is the environment a variant gives deploystep (settingsOf); a variant that gives no
// valid one ends the test.
func deployEnv(t *testing.T, v variant) map[string]string {
	t.Helper()
	env, err := settingsOf(v)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// settingsOf is the environment a variant gives deploystep, with realistic values: the build
// project's variables (DeployPath codebuild) or the Invoke action's UserParameters (lambda), which
// must make valid settings within CodePipeline's 1,000 characters.
func settingsOf(v variant) (map[string]string, error) {
	vals := pseudo(v, "tsa-gallery")
	for k, x := range deployed {
		vals[k] = x
	}
	res := v.Doc["Resources"].(map[string]any)
	env := map[string]string{}
	if v.Params["DeployPath"] != "lambda" {
		vars, _ := get(res, "APIBuildProject", "Properties", "Environment", "EnvironmentVariables").([]any)
		for _, e := range vars {
			val, ok := literal(get(e, "Value"), vals)
			if !ok {
				return nil, fmt.Errorf("build variable %v: no realistic value for %v", get(e, "Name"), get(e, "Value"))
			}
			env[fmt.Sprint(get(e, "Name"))] = val
		}
		return env, nil
	}
	raw, ok := literal(get(res, "APIPipeline", "Properties", "Stages", "2", "Actions", "0", "Configuration", "UserParameters"), vals)
	if !ok {
		return nil, fmt.Errorf("UserParameters: no realistic value")
	}
	raw = strings.Replace(raw, "#{BuildVariables.IMAGE}", demoImage, 1)
	if err := json.Unmarshal([]byte(raw), &env); err != nil {
		return nil, fmt.Errorf("UserParameters %q is not a JSON object of strings: %v", raw, err)
	}
	if len(raw) > 1000 {
		return nil, fmt.Errorf("UserParameters is %d characters; CodePipeline takes 1000", len(raw))
	}
	s, err := settings.LoadSettings(context.Background(), envconfig.MapLookuper(env))
	if err == nil {
		err = s.Validate()
	}
	if err != nil || s.Cluster != "tsa-gallery" || s.Services[0] != "api" || s.Image != demoImage {
		return nil, fmt.Errorf("UserParameters do not make valid settings: %v %+v", err, s)
	}
	return env, nil
}

// smokeTestWiring checks that the deploy step reaches the green revision: the test listener's
// source, the PAUSE hook, and TEST_LISTENER_URL / HOOK_COMMAND where deploystep runs.
func smokeTestWiring(t *testing.T, v variant, dc any) {
	res := v.Doc["Resources"].(map[string]any)
	eq := equal(t)
	lambda, pause := v.Params["DeployPath"] == "lambda", v.Params["PauseForTests"] == "true"
	// The smoke test reaches the test listener from the NAT gateway only.
	ing := get(res, "TestListenerIngress", "Properties")
	eq("test ingress", words(get(ing, "FromPort"), get(ing, "ToPort"), get(ing, "CidrIp")), "8080 8080 map[Fn::Sub:${NatEIP.PublicIp}/32]")
	js, _ := json.Marshal(get(res, "PublicSecurityGroup"))
	if strings.Contains(string(js), "8080") {
		t.Error("the ALB's security group opens 8080 inline")
	}

	// PAUSE hook with PauseForTests, and with ApproveProduction (a week, the approval's limit).
	approve := lambda && v.Params["ApproveProduction"] == "true"
	hooks := get(dc, "LifecycleHooks")
	eq("PAUSE hook present", hooks != nil, pause || approve)
	if pause || approve {
		eq("hook", words(get(hooks, "0", "TargetType"), get(hooks, "0", "LifecycleStages"), get(hooks, "0", "TimeoutConfiguration", "Action")),
			"PAUSE [POST_TEST_TRAFFIC_SHIFT] ROLLBACK")
		want := "60"
		if approve {
			want = "10080"
		}
		eq("hook timeout", fmt.Sprint(get(hooks, "0", "TimeoutConfiguration", "TimeoutInMinutes")), want)
	}
	// ApproveProduction: the Deploy stage is deploystep paused, a manual approval, deploystep answering.
	if lambda {
		acts, _ := get(res, "APIPipeline", "Properties", "Stages", "2", "Actions").([]any)
		var flow []string
		for _, a := range acts {
			flow = append(flow, fmt.Sprintf("%v/%v/%v", get(a, "ActionTypeId", "Category"), get(a, "RunOrder"), get(a, "Name")))
		}
		want := "[Invoke/1/Deploystep]"
		if approve {
			want = "[Invoke/1/Deploystep Approval/2/ApproveProductionTraffic Invoke/3/ContinueToProduction]"
			up := fmt.Sprint(get(acts[2], "Configuration", "UserParameters"))
			if !strings.Contains(up, `"HOOK_ANSWER":"CONTINUE"`) || strings.Contains(up, "PREDEPLOY_COMMAND") || strings.Contains(up, "HOOK_COMMAND") {
				t.Errorf("the answering action's parameters: %s", up)
			}
			eq("WAIT_UNTIL", deployEnv(t, v)["WAIT_UNTIL"], "paused")
		}
		eq("the Deploy stage", fmt.Sprint(flow), want)
	}

	// deploystep, where it runs, gets TEST_LISTENER_URL (and HOOK_COMMAND with the pause)
	// and runs in the private subnets.
	env := deployEnv(t, v)
	var vpc any
	if lambda {
		vpc = get(res, "DeployFunction", "Properties", "VpcConfig", "SubnetIds")
		if !strings.Contains(fmt.Sprint(get(res, "DeployFunctionRole", "Properties", "ManagedPolicyArns")), "AWSLambdaVPCAccessExecutionRole") {
			t.Error("the function's role cannot create its network interfaces")
		}
	} else {
		vpc = get(res, "APIBuildProject", "Properties", "VpcConfig", "Subnets")
	}
	if fmt.Sprint(vpc) != "[map[Ref:PrivateSubnetA] map[Ref:PrivateSubnetB]]" {
		t.Errorf("deploystep does not run in the private subnets: %v", vpc)
	}
	eq("TEST_LISTENER_URL", env["TEST_LISTENER_URL"], "http://tsa-APIALB-1234567890.us-east-1.elb.amazonaws.com:8080")
	if want := ""; pause {
		want = `curl -fsS --max-time 10 "$TEST_LISTENER_URL/api/health"`
		eq("HOOK_COMMAND", env["HOOK_COMMAND"], want)
	} else {
		eq("HOOK_COMMAND", env["HOOK_COMMAND"], want)
	}
}

// MigrationCommand reaches deploystep on both deploy paths as PREDEPLOY_COMMAND (valid settings,
// within UserParameters' 1,000 characters), and nowhere when it is not set; the task it runs
// takes the service's network, so the service's security group is what reaches the database.
func TestInfraVariantsMigrationCommand(t *testing.T) {
	_, vs := renderAll(t)
	paths := map[string]bool{}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			env := deployEnv(t, v)
			want := v.Params["MigrationCommand"]
			if env["PREDEPLOY_COMMAND"] != want {
				t.Errorf("PREDEPLOY_COMMAND = %q, want %q (MigrationCommand)", env["PREDEPLOY_COMMAND"], want)
			}
			if want != "" {
				paths[v.Params["DeployPath"]] = true
			}
			res := v.Doc["Resources"].(map[string]any)
			sgs := fmt.Sprint(get(res, "APIService", "Properties", "NetworkConfiguration", "AwsvpcConfiguration", "SecurityGroups"))
			db := fmt.Sprint(get(res, "PrivateSecurityGroup", "Properties", "SecurityGroupIngress", "0", "SourceSecurityGroupId"))
			if sgs != "[map[Ref:FargateSecurityGroup]]" || db != "map[Ref:FargateSecurityGroup]" {
				t.Errorf("the pre-deploy task takes the service's security groups %s; the database admits %s", sgs, db)
			}
		})
	}
	if !paths["lambda"] || !paths["codebuild"] {
		t.Errorf("MigrationCommand is set in a parameter file of %v only; both deploy paths must be checked", paths)
	}
}

// Early success criteria (#25): the ROLLING variants end a deployment at SUCCESSFUL with every
// new task healthy (healthyPercent 100, not under MinimumHealthyPercent, as ECS requires) and the
// old tasks drained after (DEFERRED); the strategies that shift traffic have none (ECS documents
// the criteria for rolling deployments).
func TestInfraVariantsEarlySuccess(t *testing.T) {
	_, vs := renderAll(t)
	for _, v := range vs {
		dc := get(v.Doc, "Resources", "APIService", "Properties", "DeploymentConfiguration")
		es := get(dc, "EarlySuccessCriteria")
		if v.Params["DeploymentStrategy"] != "ROLLING" {
			if es != nil {
				t.Errorf("%s: early success criteria on %s: %v", v.Name, v.Params["DeploymentStrategy"], es)
			}
			continue
		}
		var hp, mh int
		fmt.Sscan(fmt.Sprint(get(es, "HealthyPercent")), &hp)
		fmt.Sscan(fmt.Sprint(get(dc, "MinimumHealthyPercent")), &mh)
		if fmt.Sprint(get(es, "Enable")) != "true" || hp != 100 || hp < mh || get(es, "SourceServiceRevisionCleanup") != "DEFERRED" {
			t.Errorf("%s: EarlySuccessCriteria %v (MinimumHealthyPercent %v)", v.Name, es, get(dc, "MinimumHealthyPercent"))
		}
	}
}
