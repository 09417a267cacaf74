package job

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"

	"github.com/deploystep/deploystep/deploy/failure"
)

// Hostile input never panics and is always a configuration error (exit 2, or ConfigurationError
// in the Lambda mode). Seeds: the f.Add calls and testdata/fuzz/<Fuzz...>/.

func FuzzUserParameters(f *testing.F) {
	for _, seed := range []string{`{"CLUSTER":"c","SERVICE":"s","DISTRIBUTIONID":"E2QWRUHAPOMQZL"}`, `{"SERVICE":["a","b"],"DRY_RUN":true,"FAILED_TASKS_THRESHOLD":5}`,
		`{"WAIT_UNTIL":"traffic-shifted","HOOK_TIMEOUT":"0s","ROLLBACK":"sometimes","DIGEST_CHECK":"warn","HOOK_COMMAND":"exit 1","DEPLOY_TIMEOUT":"-5m"}`,
		`[]`, `"x"`, `{"CLUSTER":{"a":1}}`, `{"CLUSTER":null}`, `{"SERVICE":[1,2]}`, `{`, strings.Repeat(`{"a":`, 50), ""} {
		f.Add(seed)
	}
	h := &Handler{Env: envconfig.MapLookuper(nil)}
	f.Fuzz(func(t *testing.T, params string) {
		if _, err := h.settings(context.Background(), params); err != nil && !errors.Is(err, failure.ErrConfig) {
			t.Fatalf("error of the wrong class: %v", err)
		}
	})
}
