package awsim

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// Demo names: the lab's stack as the demo world and the tests' default world has it.
const (
	DemoCluster      = "tsa-gallery"
	DemoService      = "api"
	DemoRepository   = "tsa/gallery"
	DemoTag          = "3f2c1ab"
	DemoDistribution = "E2DEMO0DIST0AB"
)

// The demo world's roles and a tooling account (sts.go): the pipeline runs in the tooling
// account and releases into the workload account (the world's, 123456789012) through its deploy
// role, which trusts the tooling account and the workload account itself.
const (
	DemoDeployRole     = "arn:aws:iam::123456789012:role/tsa-gallery-deploy"
	DemoToolingAccount = "111122223333"
	// DemoToolingKey signs as DemoToolingCaller, the tooling account's CodeBuild role: its
	// credentials see none of the workload account's resources.
	DemoToolingKey    = "AKIA4TOOLING0EXAMPLE"
	DemoToolingCaller = "arn:aws:sts::111122223333:assumed-role/tsa-pipeline-codebuild/AWSCodeBuild-0f1e2d3c-0000-4000-8000-000000000002"
)

// Edge scenarios of the demo world: the rollout succeeds, the edge is what goes wrong.
const (
	// StaleEdge: the release's invalidation does not cover the verified path (the demo wrapper
	// invalidates /static/* only), so the edge keeps serving the previous version from its cache.
	StaleEdge = "stale-edge"
	// Origin502: the new revision answers 502 through the edge although its deployment completes.
	Origin502 = "origin-502"
	// CodeDeployBG: the service is on the CODE_DEPLOY controller; its blue/green deployment
	// runs every lifecycle event and succeeds.
	CodeDeployBG = "codedeploy"
	// CodeDeployRollback: the AfterAllowTestTraffic hook reports Failed; CodeDeploy rolls back.
	CodeDeployRollback = "codedeploy-rollback"
	// FirstRelease: the stack's first create made the service without tasks (its repository was
	// empty); the release sets the desired count (DESIRED_COUNT) and brings the tasks up.
	FirstRelease = "first-release"
	// Migrate: the release's pre-deploy task (a schema migration) runs, logs and exits 0, then
	// the rollout succeeds. MigrateFails: the migration exits 1 after its error line.
	Migrate      = "migrate"
	MigrateFails = "migrate-fails"
	// The cache scenarios: the distribution of the lab's infra.yaml (LabCache): the API behind the
	// default behaviour with Managed-CachingDisabled, /static/* from the S3 bucket with
	// Managed-CachingOptimized, CacheTagConfig Cache-Tag; APICache adds /api/photos* to the API
	// with a policy that caches for an hour, its answers tagged "photos" (DemoPhotosPolicy).
	// ProxyOrigin is APICache with /api/photos* sent to another load balancer's domain that
	// proxies to the API (auto counts it as not the release's, and the edge proof catches it).
	LabCache = "lab-cache"
	// ECS's newest controls (#25): EarlyDeferred, a rolling service of 4 tasks with early success
	// criteria (healthyPercent 50, DEFERRED, minimumHealthyPercent 50): SUCCESSFUL at half the
	// rollout with 2 new tasks, the old ones removed at its end; EarlyBlocking the same with
	// BLOCKING. BreakerTolerates: 6 new tasks fail and the rollout goes on, with a breaker of
	// COUNT 10 (ECS finishes it); BreakerCountOne: a crash loop under a breaker of COUNT 1.
	// LambdaHookPasses and LambdaHookFails: BLUE_GREEN with an AWS_LAMBDA hook at
	// POST_TEST_TRAFFIC_SHIFT (DemoLambdaHook) that runs a quarter rollout, then SUCCEEDED or FAILED.
	LambdaHookPasses = "lambda-hook"
	LambdaHookFails  = "lambda-hook-fails"
	EarlyDeferred    = "early-success"
	EarlyBlocking    = "early-success-blocking"
	BreakerTolerates = "breaker-count-10"
	BreakerCountOne  = "breaker-count-1"
	APICache         = "api-cache"
	ProxyOrigin      = "proxy-origin"
)

// DemoLambdaHook is the lambda-hook scenarios' hook function.
const DemoLambdaHook = "tsa-gallery-post-test-traffic-check"

// DemoPhotosPolicy is the API cache scenarios' custom policy for /api/photos*.
var DemoPhotosPolicy = CachePolicySpec{ID: "c2f3a4b5-6d7e-4f80-9a1b-2c3d4e5f6a7b", Name: "tsa-gallery-api-photos", MinTTL: 0, DefaultTTL: 3600, MaxTTL: 86400}

// DemoCacheTagHeader is the cache scenarios' CacheTagConfig header, infra.yaml's.
const DemoCacheTagHeader = "Cache-Tag"

// DemoStaticAssets are the S3 objects the cache scenarios' edge holds when the world starts.
var DemoStaticAssets = []string{"/static/app.js", "/static/app.css", "/static/logo.png"}

// labDistribution is the lab stack's distribution in a scenario of the cache family.
func labDistribution(kind string, invalidation time.Duration) DistributionSpec {
	d := DistributionSpec{ID: DemoDistribution, InvalidationTime: Duration(invalidation), CacheTagHeader: DemoCacheTagHeader,
		Origins: []OriginSpec{{ID: "Fargate-Endpoint", Service: DemoCluster + "/" + DemoService}, {ID: "S3-Website", S3: true}},
		Behaviors: []BehaviorSpec{{Origin: "Fargate-Endpoint", CachePolicy: ManagedCachingDisabled},
			{PathPattern: "/static/*", Origin: "S3-Website", CachePolicy: ManagedCachingOptimized}},
		Warm: append([]string{"/api/health"}, DemoStaticAssets...)}
	switch kind {
	case APICache:
		d.Behaviors = append(d.Behaviors, BehaviorSpec{PathPattern: "/api/photos*", Origin: "Fargate-Endpoint", CachePolicy: DemoPhotosPolicy.ID})
		d.Warm = append(d.Warm, "/api/photos", "/api/photos/42")
	case ProxyOrigin:
		d.Origins = append(d.Origins, OriginSpec{ID: "Photos-Proxy", Service: DemoCluster + "/" + DemoService,
			Domain: "photos-proxy-1234567890.us-east-1.elb.amazonaws.com"})
		d.Behaviors = append(d.Behaviors, BehaviorSpec{PathPattern: "/api/photos*", Origin: "Photos-Proxy", CachePolicy: DemoPhotosPolicy.ID})
		d.Warm = append(d.Warm, "/api/photos", "/api/photos/42")
	}
	return d
}

// DemoMigration is the pre-deploy command of the migrate scenarios, and the lines the
// migration writes.
const DemoMigration = "npm run migrate"

var (
	demoMigrationLog = []string{
		"> tsa-gallery-api@1.4.0 migrate",
		"> knex migrate:latest",
		"Using environment: production",
		"Batch 7 run: 2 migrations",
		"20261201093000_add_photo_captions.js",
		"20261201094500_index_photos_by_album.js",
	}
	demoMigrationFailLog = []string{
		"> tsa-gallery-api@1.4.0 migrate",
		"> knex migrate:latest",
		"Using environment: production",
		`migration file "20261201093000_add_photo_captions.js" failed`,
		"migration failed with error: alter table `photos` add `caption` varchar(255) - ER_DUP_FIELDNAME: Duplicate column name 'caption'",
	}
)

// DemoImage is the image the demo world's releases deploy: DemoRepository at DemoTag, in the
// demo account and region.
const DemoImage = "123456789012.dkr.ecr.us-east-1.amazonaws.com/" + DemoRepository + ":" + DemoTag

// DemoSettings are deploystep's settings for a release in the demo world: the lab's cluster,
// service, distribution and image. The one place they are written down: the demo, the tests and
// the bench take them (with the endpoint's Env).
func DemoSettings() map[string]string {
	return map[string]string{"CLUSTER": DemoCluster, "SERVICE": DemoService, "DISTRIBUTIONID": DemoDistribution, "IMAGE": DemoImage}
}

// DemoEnv is DemoSettings as an environment's entries, after extra ("NAME=" removes one).
func DemoEnv(extra ...string) []string {
	m := DemoSettings()
	for _, kv := range extra {
		if k, v, _ := strings.Cut(kv, "="); v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k+"="+m[k])
	}
	return out
}

// The demo world's CodeDeploy names.
const (
	DemoCodeDeployApp   = "tsa-gallery-api"
	DemoCodeDeployGroup = "tsa-gallery-api-bluegreen"
	DemoSmokeTestHook   = "tsa-gallery-smoke-test"
)

// DemoEdgeTTL is how long the demo distribution's edge caches an answer: longer than any run,
// so only an invalidation brings the new version.
const DemoEdgeTTL = time.Hour

// DemoConfig is a world with the lab's cluster, service, repository and distribution, where a
// rollout takes rollout and an invalidation takes invalidation. The distribution's edge caches
// answers for DemoEdgeTTL and starts with the previous release's /api/health in its cache.
func DemoConfig(kind string, rollout, invalidation time.Duration) Config {
	svc := ServiceSpec{
		Name: DemoService, DesiredCount: 2, Image: DemoRepository + ":" + DemoTag, CircuitBreaker: true,
		Scenario: Scenario{Kind: kind, Rollout: Duration(rollout)},
	}
	switch kind {
	case StaleEdge:
		svc.Scenario.Kind = Success
	case FirstRelease:
		svc.Scenario.Kind, svc.StartEmpty = Success, true
	case Migrate, MigrateFails:
		svc.Scenario.Kind = Success
	case LabCache, APICache, ProxyOrigin:
		svc.Scenario.Kind, svc.CacheTags = Success, map[string]string{"/api/photos": "photos, api"}
	case EarlyDeferred, EarlyBlocking:
		svc.Scenario.Kind, svc.DesiredCount, svc.MinimumHealthyPercent = Success, 4, 50
		svc.EarlySuccess = &EarlySuccessSpec{HealthyPercent: 50, Cleanup: "DEFERRED"}
		if kind == EarlyBlocking {
			svc.EarlySuccess.Cleanup = "BLOCKING"
		}
	case BreakerTolerates:
		svc.Scenario.Kind, svc.Scenario.FailCount, svc.Breaker = Flaky, 6, &BreakerSpec{Type: "COUNT", Value: 10}
		svc.Scenario.TaskFailEvery = Duration(rollout / 8)
	case LambdaHookPasses, LambdaHookFails:
		svc.Scenario.Kind, svc.LambdaHook = BlueGreen, &LambdaHookSpec{Function: DemoLambdaHook, Result: "SUCCEEDED"}
		if kind == LambdaHookFails {
			svc.LambdaHook.Result = "FAILED"
		}
	case BreakerCountOne:
		svc.Scenario.Kind, svc.Breaker = CrashLoop, &BreakerSpec{Type: "COUNT", Value: 1}
	case Origin502:
		svc.Scenario.Kind, svc.OriginStatus = Success, 502
	case CodeDeployBG, CodeDeployRollback:
		svc.Scenario.Kind = Success
		svc.CodeDeploy = &CodeDeploySpec{Application: DemoCodeDeployApp, Group: DemoCodeDeployGroup,
			Hooks: map[string]string{"AfterAllowTestTraffic": DemoSmokeTestHook}}
		if kind == CodeDeployRollback {
			svc.CodeDeploy.FailAt = "AfterAllowTestTraffic"
		}
	}
	var runs RunTaskSpec
	switch kind {
	case Migrate:
		runs = RunTaskSpec{Runtime: Duration(rollout / 2), Logs: demoMigrationLog}
	case MigrateFails:
		runs = RunTaskSpec{Runtime: Duration(rollout / 2), Logs: demoMigrationFailLog, ExitCode: 1}
	}
	dist := DistributionSpec{ID: DemoDistribution, InvalidationTime: Duration(invalidation),
		CacheTTL: Duration(DemoEdgeTTL), Warm: []string{"/api/health"}}
	var policies []CachePolicySpec
	switch kind {
	case LabCache, APICache, ProxyOrigin:
		dist, policies = labDistribution(kind, invalidation), []CachePolicySpec{DemoPhotosPolicy}
	}
	return Config{
		CachePolicies: policies,
		RunTasks:      runs,
		Identities:    []IdentitySpec{{AccessKeyID: DemoToolingKey, Account: DemoToolingAccount, ARN: DemoToolingCaller}},
		Roles:         []RoleSpec{{ARN: DemoDeployRole, Trusted: []string{DemoToolingAccount, "123456789012"}}},
		Clusters:      []ClusterSpec{{Name: DemoCluster, Services: []ServiceSpec{svc}}},
		Repositories: []RepositorySpec{{Name: DemoRepository, Images: []ImageSpec{
			{Tags: []string{DemoTag, "latest"}},
			{Tags: []string{"0a1b2c3"}},
		}}},
		Distributions: []DistributionSpec{dist},
	}
}
