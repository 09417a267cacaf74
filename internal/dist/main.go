// Command dist writes a deploystep release's assets flat into one directory (make dist:
// dist/release): the archives for linux and darwin on amd64 and arm64, the Lambda zips for arm64
// and x86_64, and SHA256SUMS; the same commit gives the same bytes (package release).
//
//	go run ./internal/dist -o dist/release -version v1.5.0 -commit $(git rev-parse HEAD) -time $(git log -1 --format=%ct)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/deploystep/deploystep/internal/release"
)

func main() {
	out := flag.String("o", "dist/release", "the directory the assets are written to")
	version := flag.String("version", "", "the release's version (v1.5.0)")
	commit := flag.String("commit", "", "the commit it is built from")
	epoch := flag.Int64("time", 0, "every archive entry's time, in seconds since 1970 (the commit's: git log -1 --format=%ct)")
	only := flag.String("only", "", "build only these assets (comma-separated names; default: all)")
	flag.Parse()
	opts := release.Options{Module: ".", Out: *out, Version: *version, Commit: *commit, Time: time.Unix(*epoch, 0)}
	if *epoch <= 0 {
		opts.Time = time.Time{}
	}
	for _, name := range strings.Split(*only, ",") {
		found := false
		for _, t := range release.Targets {
			if t.Asset == name {
				opts.Targets, found = append(opts.Targets, t), true
			}
		}
		if name != "" && !found {
			fmt.Fprintf(os.Stderr, "dist: no asset %q\n", name)
			os.Exit(2)
		}
	}
	if err := release.Build(context.Background(), opts); err != nil {
		fmt.Fprintln(os.Stderr, "dist:", err)
		os.Exit(1)
	}
	fmt.Println("wrote", *out)
}
