package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The README fits in fifteen minutes (at most ~300 lines, the rest in docs/), says what the lab
// is before it names it, and every relative link of the README and docs/ leads to a file that is
// there.
func TestDocs(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(readme), "\n"); n > 300 {
		t.Errorf("README.md is %d lines; at most 300 (the reference goes to docs/)", n)
	}
	if strings.Contains(strings.ToLower(string(readme)), "seed") {
		t.Error("README.md says seed: name the lab, after saying what it is")
	}
	if i, j := strings.Index(string(readme), "lab 7"), strings.Index(string(readme), "AWS\nworkshop"); i < 0 || j < 0 || j-i > 200 {
		t.Error("README.md names lab 7 without saying what it is right there")
	}
	files, _ := filepath.Glob("docs/*.md")
	files = append(files, "README.md")
	link := regexp.MustCompile(`\]\(([^)#:]+)(#[^)]*)?\)`)
	checked := 0
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, m := range link.FindAllStringSubmatch(string(b), -1) {
			target := filepath.Join(filepath.Dir(f), m[1])
			if _, err := os.Stat(target); err != nil {
				t.Errorf("%s links %s, which is not there", f, m[1])
			}
			checked++
		}
	}
	if checked < 15 {
		t.Fatalf("only %d links checked", checked)
	}
}
