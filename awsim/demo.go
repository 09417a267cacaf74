package awsim

import "time"

// Demo names: the lab's stack as the demo world and the tests' default world has it.
const (
	DemoCluster      = "tsa-gallery"
	DemoService      = "api"
	DemoRepository   = "tsa/gallery"
	DemoTag          = "3f2c1ab"
	DemoDistribution = "E2DEMO0DIST0AB"
)

// DemoConfig is a world with the lab's cluster, service, repository and distribution, where a
// rollout takes rollout and an invalidation takes invalidation.
func DemoConfig(kind string, rollout, invalidation time.Duration) Config {
	return Config{
		Clusters: []ClusterSpec{{Name: DemoCluster, Services: []ServiceSpec{{
			Name: DemoService, DesiredCount: 2, Image: DemoRepository + ":" + DemoTag, CircuitBreaker: true,
			Scenario: Scenario{Kind: kind, Rollout: Duration(rollout)},
		}}}},
		Repositories: []RepositorySpec{{Name: DemoRepository, Images: []ImageSpec{
			{Tags: []string{DemoTag, "latest"}},
			{Tags: []string{"0a1b2c3"}},
		}}},
		Distributions: []DistributionSpec{{ID: DemoDistribution, InvalidationTime: Duration(invalidation)}},
	}
}
