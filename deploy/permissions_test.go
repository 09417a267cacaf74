package deploy

import (
	"os"
	"strings"
	"testing"

	"deploystep/deploy/awsapi"
)

// The README's permissions section is the grants' table.
func TestREADMEPermissionsAreTheGrants(t *testing.T) {
	if got, want := readmeBlock(t, "permissions"), awsapi.PermissionsMarkdown(); got != want {
		t.Fatalf("README's permissions block is not PermissionsMarkdown(); paste it:\n%s", want)
	}
}

// readmeBlock is the README's text between <!-- name:begin --> and <!-- name:end -->.
func readmeBlock(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	begin, end := strings.Index(s, "<!-- "+name+":begin -->\n"), strings.Index(s, "<!-- "+name+":end -->")
	if begin < 0 || end < begin {
		t.Fatalf("README has no %s block", name)
	}
	return s[begin+len("<!-- "+name+":begin -->\n") : end]
}
