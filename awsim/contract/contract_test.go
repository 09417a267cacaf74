package contract_test

import (
	"strings"
	"testing"

	"github.com/deploystep/deploystep/awsim/contract"
	"github.com/deploystep/deploystep/internal/testtool"
)

// TestContractAgainstBotocore holds every row to botocore's service models, the API references
// in machine-readable form that this project did not write: a constraint row must equal the
// model's, a quoted sentence must be in the member's (or the error's) documentation.
func TestContractAgainstBotocore(t *testing.T) {
	py := testtool.Python(t, "botocore")
	rules := contract.Rules()
	out := testtool.PythonScript(t, py, "testdata/check_contract.py", rules)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(rules) {
		t.Fatalf("%d answers for %d rules:\n%s", len(lines), len(rules), out)
	}
	for i, r := range rules {
		if lines[i] != "ok" {
			t.Errorf("%s.%s %s (%s, %s): %s", r.Service, r.Op, r.Member, r.Kind, r.Model, lines[i])
		}
	}
}
