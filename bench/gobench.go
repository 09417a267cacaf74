package main

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// The Go benchmarks of the hot pure functions (Decide, the continuation token).

var benchRE = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+\d+\s+([0-9.]+) ns/op\s+([0-9.]+) B/op\s+([0-9.]+) allocs/op`)

func goBenchmarks() []row {
	out, err := exec.Command("go", "test", "-run", "^$", "-bench", "Decide|Token", "-benchmem", "-benchtime", "20000x", "./deploy/verdict", "./deploy/state").CombinedOutput()
	if err != nil {
		return []row{{"6. go test -bench", "deploy", "-", "-", strings.TrimSpace(string(out)), "", "FAIL"}}
	}
	var rows []row
	for _, line := range strings.Split(string(out), "\n") {
		if m := benchRE.FindStringSubmatch(line); m != nil {
			ns, _ := strconv.ParseFloat(m[3], 64)
			target, ok := "< 10 µs", ns < 10_000
			if strings.Contains(m[1], "Token") {
				target, ok = "< 1 ms", ns < 1_000_000
			}
			rows = append(rows, row{"6. go test -bench", m[1], "-", "-", fmt.Sprintf("%.0f ns/op, %s B/op, %s allocs/op", ns, m[4], m[5]), target, passFail(ok)})
		}
	}
	return rows
}
