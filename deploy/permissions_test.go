package deploy

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The README's IAM list is the code's: a call added to a client interface must be documented.
func TestREADMEPermissionsMatchCode(t *testing.T) {
	var listed []string
	for _, m := range regexp.MustCompile("`([a-z]+:[A-Za-z]+)`").FindAllStringSubmatch(readmeBlock(t, "permissions"), -1) {
		listed = append(listed, m[1])
	}
	if got, want := strings.Join(listed, " "), strings.Join(Permissions(false), " "); got != want {
		t.Fatalf("README lists\n  %s\nthe code calls\n  %s", got, want)
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
