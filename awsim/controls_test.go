package awsim_test

import (
	"strings"
	"testing"
	"time"

	"github.com/deploystep/deploystep/awsim"
	"github.com/deploystep/deploystep/awsim/demo"
)

// The newest deployment controls hold their documented contract (ecs v1.98.0): a world that
// breaks it does not start, saying which rule.
func TestControlsContract(t *testing.T) {
	for _, c := range []struct {
		name string
		set  func(*awsim.ServiceSpec)
		want string
	}{
		{"healthyPercent over 100", func(s *awsim.ServiceSpec) {
			s.EarlySuccess, s.MinimumHealthyPercent = &awsim.EarlySuccessSpec{HealthyPercent: 120, Cleanup: "DEFERRED"}, 50
		}, "not between 0 and 100"},
		{"healthyPercent under minimumHealthyPercent", func(s *awsim.ServiceSpec) {
			s.EarlySuccess = &awsim.EarlySuccessSpec{HealthyPercent: 50, Cleanup: "DEFERRED"}
		}, "below minimumHealthyPercent 100"},
		{"early success on BLUE_GREEN", func(s *awsim.ServiceSpec) {
			s.Strategy, s.EarlySuccess, s.MinimumHealthyPercent = "BLUE_GREEN", &awsim.EarlySuccessSpec{HealthyPercent: 50, Cleanup: "DEFERRED"}, 50
		}, "for ROLLING deployments, not BLUE_GREEN"},
		{"an unknown cleanup", func(s *awsim.ServiceSpec) {
			s.EarlySuccess, s.MinimumHealthyPercent = &awsim.EarlySuccessSpec{HealthyPercent: 50, Cleanup: "LATER"}, 50
		}, "not BLOCKING or DEFERRED"},
		{"an unknown threshold type", func(s *awsim.ServiceSpec) { s.Breaker = &awsim.BreakerSpec{Type: "PERCENT", Value: 10} }, "is not COUNT, BOUNDED_PERCENT or UNBOUNDED_PERCENT"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := demo.Config(awsim.Success, time.Second, time.Second)
			c.set(&cfg.Clusters[0].Services[0])
			if _, err := awsim.New(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New = %v, want an error saying %q", err, c.want)
			}
		})
	}
	for _, kind := range []string{demo.EarlyDeferred, demo.EarlyBlocking, demo.BreakerTolerates, demo.BreakerCountOne, demo.LambdaHookPasses} {
		if _, err := awsim.New(demo.Config(kind, time.Second, time.Second)); err != nil {
			t.Errorf("scenario %s: %v", kind, err)
		}
	}
}
