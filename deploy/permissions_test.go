package deploy

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The README's IAM list is the code's: a call added to a client interface must be documented.
func TestREADMEPermissionsMatchCode(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	begin, end := strings.Index(s, "<!-- permissions:begin -->"), strings.Index(s, "<!-- permissions:end -->")
	if begin < 0 || end < begin {
		t.Fatal("README has no permissions block")
	}
	var listed []string
	for _, m := range regexp.MustCompile("`([a-z]+:[A-Za-z]+)`").FindAllStringSubmatch(s[begin:end], -1) {
		listed = append(listed, m[1])
	}
	if got, want := strings.Join(listed, " "), strings.Join(Permissions(false), " "); got != want {
		t.Fatalf("README lists\n  %s\nthe code calls\n  %s", got, want)
	}
}
