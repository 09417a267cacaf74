// Package demo is awsim's demo world: the lab's stack (cluster, service, repository,
// distribution, roles) as the demo, the tests' default world and the bench have it, its
// scenarios by name, and deploystep's settings for a release in it (Settings, Env: the one
// place they are written down).
package demo

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/deploystep/deploystep/awsim"
)

// The lab's names.
const (
	Cluster      = "tsa-gallery"
	Service      = "api"
	Repository   = "tsa/gallery"
	Tag          = "3f2c1ab"
	Distribution = "E2DEMO0DIST0AB"
)

// The demo world's roles and a tooling account (sts.go): the pipeline runs in the tooling
// account and releases into the workload account (the world's, 123456789012) through its deploy
// role, which trusts the tooling account and the workload account itself.
const (
	DeployRole     = "arn:aws:iam::123456789012:role/tsa-gallery-deploy"
	ToolingAccount = "111122223333"
	// ToolingKey signs as ToolingCaller, the tooling account's CodeBuild role: its
	// credentials see none of the workload account's resources.
	ToolingKey    = "AKIA4TOOLING0EXAMPLE"
	ToolingCaller = "arn:aws:sts::111122223333:assumed-role/tsa-pipeline-codebuild/AWSCodeBuild-0f1e2d3c-0000-4000-8000-000000000002"
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
	// with a policy that caches for an hour, its answers tagged "photos" (PhotosPolicy).
	// ProxyOrigin is APICache with /api/photos* sent to another load balancer's domain that
	// proxies to the API (auto counts it as not the release's, and the edge proof catches it).
	LabCache = "lab-cache"
	// ECS's newest controls (#25): EarlyDeferred, a rolling service of 4 tasks with early success
	// criteria (healthyPercent 50, DEFERRED, minimumHealthyPercent 50): SUCCESSFUL at half the
	// rollout with 2 new tasks, the old ones removed at its end; EarlyBlocking the same with
	// BLOCKING. BreakerTolerates: 6 new tasks fail and the rollout goes on, with a breaker of
	// COUNT 10 (ECS finishes it); BreakerCountOne: a crash loop under a breaker of COUNT 1.
	// LambdaHookPasses and LambdaHookFails: BLUE_GREEN with an AWS_LAMBDA hook at
	// POST_TEST_TRAFFIC_SHIFT (LambdaHook) that runs a quarter rollout, then SUCCEEDED or FAILED.
	LambdaHookPasses = "lambda-hook"
	LambdaHookFails  = "lambda-hook-fails"
	EarlyDeferred    = "early-success"
	EarlyBlocking    = "early-success-blocking"
	BreakerTolerates = "breaker-count-10"
	BreakerCountOne  = "breaker-count-1"
	APICache         = "api-cache"
	ProxyOrigin      = "proxy-origin"
)

// LambdaHook is the lambda-hook scenarios' hook function.
const LambdaHook = "tsa-gallery-post-test-traffic-check"

// PhotosPolicy is the API cache scenarios' custom policy for /api/photos*.
var PhotosPolicy = awsim.CachePolicySpec{ID: "c2f3a4b5-6d7e-4f80-9a1b-2c3d4e5f6a7b", Name: "tsa-gallery-api-photos", MinTTL: 0, DefaultTTL: 3600, MaxTTL: 86400}

// CacheTagHeader is the cache scenarios' CacheTagConfig header, infra.yaml's.
const CacheTagHeader = "Cache-Tag"

// StaticAssets are the S3 objects the cache scenarios' edge holds when the world starts.
var StaticAssets = []string{"/static/app.js", "/static/app.css", "/static/logo.png"}

// labDistribution is the lab stack's distribution in a scenario of the cache family.
func labDistribution(kind string, invalidation time.Duration) awsim.DistributionSpec {
	d := awsim.DistributionSpec{ID: Distribution, InvalidationTime: awsim.Duration(invalidation), CacheTagHeader: CacheTagHeader,
		Origins: []awsim.OriginSpec{{ID: "Fargate-Endpoint", Service: Cluster + "/" + Service}, {ID: "S3-Website", S3: true}},
		Behaviors: []awsim.BehaviorSpec{{Origin: "Fargate-Endpoint", CachePolicy: awsim.ManagedCachingDisabled},
			{PathPattern: "/static/*", Origin: "S3-Website", CachePolicy: awsim.ManagedCachingOptimized}},
		Warm: append([]string{"/api/health"}, StaticAssets...)}
	switch kind {
	case APICache:
		d.Behaviors = append(d.Behaviors, awsim.BehaviorSpec{PathPattern: "/api/photos*", Origin: "Fargate-Endpoint", CachePolicy: PhotosPolicy.ID})
		d.Warm = append(d.Warm, "/api/photos", "/api/photos/42")
	case ProxyOrigin:
		d.Origins = append(d.Origins, awsim.OriginSpec{ID: "Photos-Proxy", Service: Cluster + "/" + Service,
			Domain: "photos-proxy-1234567890.us-east-1.elb.amazonaws.com"})
		d.Behaviors = append(d.Behaviors, awsim.BehaviorSpec{PathPattern: "/api/photos*", Origin: "Photos-Proxy", CachePolicy: PhotosPolicy.ID})
		d.Warm = append(d.Warm, "/api/photos", "/api/photos/42")
	}
	return d
}

// Migration is the pre-deploy command of the migrate scenarios, and the lines the
// migration writes.
const Migration = "npm run migrate"

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

// Image is the image the demo world's releases deploy: Repository at Tag, in the
// demo account and region.
const Image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/" + Repository + ":" + Tag

// Settings are deploystep's settings for a release in the demo world: the lab's cluster,
// service, distribution and image. The one place they are written down: the demo, the tests and
// the bench take them (with the endpoint's Env).
func Settings() map[string]string {
	return map[string]string{"CLUSTER": Cluster, "SERVICE": Service, "DISTRIBUTIONID": Distribution, "IMAGE": Image}
}

// Env is Settings as an environment's entries, after extra ("NAME=" removes one).
func Env(extra ...string) []string {
	m := Settings()
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
	CodeDeployApp   = "tsa-gallery-api"
	CodeDeployGroup = "tsa-gallery-api-bluegreen"
	SmokeTestHook   = "tsa-gallery-smoke-test"
)

// EdgeTTL is how long the demo distribution's edge caches an answer: longer than any run,
// so only an invalidation brings the new version.
const EdgeTTL = time.Hour

// Config is a world with the lab's cluster, service, repository and distribution, where a
// rollout takes rollout and an invalidation takes invalidation. The distribution's edge caches
// answers for EdgeTTL and starts with the previous release's /api/health in its cache.
func Config(kind string, rollout, invalidation time.Duration) awsim.Config {
	svc := awsim.ServiceSpec{
		Name: Service, DesiredCount: 2, Image: Repository + ":" + Tag, CircuitBreaker: true,
		Scenario: awsim.Scenario{Kind: kind, Rollout: awsim.Duration(rollout)},
	}
	switch kind {
	case StaleEdge:
		svc.Scenario.Kind = awsim.Success
	case FirstRelease:
		svc.Scenario.Kind, svc.StartEmpty = awsim.Success, true
	case Migrate, MigrateFails:
		svc.Scenario.Kind = awsim.Success
	case LabCache, APICache, ProxyOrigin:
		svc.Scenario.Kind, svc.CacheTags = awsim.Success, map[string]string{"/api/photos": "photos, api"}
	case EarlyDeferred, EarlyBlocking:
		svc.Scenario.Kind, svc.DesiredCount, svc.MinimumHealthyPercent = awsim.Success, 4, 50
		svc.EarlySuccess = &awsim.EarlySuccessSpec{HealthyPercent: 50, Cleanup: "DEFERRED"}
		if kind == EarlyBlocking {
			svc.EarlySuccess.Cleanup = "BLOCKING"
		}
	case BreakerTolerates:
		svc.Scenario.Kind, svc.Scenario.FailCount, svc.Breaker = awsim.Flaky, 6, &awsim.BreakerSpec{Type: "COUNT", Value: 10}
		svc.Scenario.TaskFailEvery = awsim.Duration(rollout / 8)
	case LambdaHookPasses, LambdaHookFails:
		svc.Scenario.Kind, svc.LambdaHook = awsim.BlueGreen, &awsim.LambdaHookSpec{Function: LambdaHook, Result: "SUCCEEDED"}
		if kind == LambdaHookFails {
			svc.LambdaHook.Result = "FAILED"
		}
	case BreakerCountOne:
		svc.Scenario.Kind, svc.Breaker = awsim.CrashLoop, &awsim.BreakerSpec{Type: "COUNT", Value: 1}
	case Origin502:
		svc.Scenario.Kind, svc.OriginStatus = awsim.Success, 502
	case CodeDeployBG, CodeDeployRollback:
		svc.Scenario.Kind = awsim.Success
		svc.CodeDeploy = &awsim.CodeDeploySpec{Application: CodeDeployApp, Group: CodeDeployGroup,
			Hooks: map[string]string{"AfterAllowTestTraffic": SmokeTestHook}}
		if kind == CodeDeployRollback {
			svc.CodeDeploy.FailAt = "AfterAllowTestTraffic"
		}
	}
	var runs awsim.RunTaskSpec
	switch kind {
	case Migrate:
		runs = awsim.RunTaskSpec{Runtime: awsim.Duration(rollout / 2), Logs: demoMigrationLog}
	case MigrateFails:
		runs = awsim.RunTaskSpec{Runtime: awsim.Duration(rollout / 2), Logs: demoMigrationFailLog, ExitCode: 1}
	}
	dist := awsim.DistributionSpec{ID: Distribution, InvalidationTime: awsim.Duration(invalidation),
		CacheTTL: awsim.Duration(EdgeTTL), Warm: []string{"/api/health"}}
	var policies []awsim.CachePolicySpec
	switch kind {
	case LabCache, APICache, ProxyOrigin:
		dist, policies = labDistribution(kind, invalidation), []awsim.CachePolicySpec{PhotosPolicy}
	}
	return awsim.Config{
		CachePolicies: policies,
		RunTasks:      runs,
		Identities:    []awsim.IdentitySpec{{AccessKeyID: ToolingKey, Account: ToolingAccount, ARN: ToolingCaller}},
		Roles:         []awsim.RoleSpec{{ARN: DeployRole, Trusted: []string{ToolingAccount, "123456789012"}}},
		Clusters:      []awsim.ClusterSpec{{Name: Cluster, Services: []awsim.ServiceSpec{svc}}},
		Repositories: []awsim.RepositorySpec{{Name: Repository, Images: []awsim.ImageSpec{
			{Tags: []string{Tag, "latest"}},
			{Tags: []string{"0a1b2c3"}},
		}}},
		Distributions: []awsim.DistributionSpec{dist},
	}
}
