// Command deploystep finishes a container release on AWS: it checks the pushed ECR image,
// starts a new deployment of each ECS service (or a CodeDeploy one), follows it to the end (or
// fails fast with the reason), invalidates CloudFront, and proves through the edge that the new
// version is served. main only parses, picks the mode (a command, or a Lambda function when
// AWS_LAMBDA_RUNTIME_API is set) and hands over to deploy; the settings and flags are described in
// deploy's settings table.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/deploystep/deploystep/deploy"
	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/job"
	"github.com/deploystep/deploystep/deploy/settings"
)

// version and commit are set by the linker for a release (make build, make dist); go install
// leaves them empty, and the module's version is read from the build information instead.
var version, commit string

// versionLine is what -version prints: the version and the commit it was built from.
func versionLine() string {
	v, c := version, commit
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version // go install github.com/deploystep/deploystep@v1.5.0
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && c == "" {
				c = s.Value
			}
		}
		// A pseudo-version names its commit: v0.0.0-20261207093000-0123456789ab.
		if parts := strings.Split(v, "-"); c == "" && len(parts) >= 3 && len(parts[len(parts)-1]) == 12 {
			c = parts[len(parts)-1]
		}
	}
	line := "deploystep " + cmp.Or(v, "dev")
	if c != "" {
		line += " (commit " + c + ")"
	}
	return line
}

func main() {
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		if err := job.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "deploystep:", err)
			os.Exit(failure.ExitCode(err))
		}
		return
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run parses the flags over the environment's settings and hands over to deploy.RunCLI. A flag
// is bound to the settings field its variable fills, so it overrides that variable.
func run(args []string, stdout, stderr io.Writer) int {
	s, loadErr := settings.LoadSettings(context.Background(), settings.EnvLookuper())
	fs := flag.NewFlagSet("deploystep", flag.ContinueOnError)
	fs.SetOutput(stderr)
	help := slices.ContainsFunc(args, func(a string) bool { return a == "-h" || a == "-help" || a == "--help" })
	fs.Usage = func() {
		if !help { // a bad flag: the flag package said which; one line more, not the whole usage
			fmt.Fprintln(stderr, "deploystep: run deploystep -h for the settings and flags")
			return
		}
		fmt.Fprint(stderr, settings.Usage(cmp.Or(version, "dev")))
		fs.PrintDefaults()
	}
	settings.BindFlags(fs, &s)
	showVersion := fs.Bool("version", false, "print the version and exit")
	printPolicy := fs.Bool("print-policy", false, "print the least-privilege IAM policy the release these settings describe needs (JSON; reads only, like -dry-run) and exit")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return failure.ExitOK
		}
		return failure.ExitConfig
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "deploystep: unexpected argument %q (settings come from the environment; see -h)\n", fs.Arg(0))
		return failure.ExitConfig
	}
	if *showVersion {
		fmt.Fprintln(stdout, versionLine())
		return failure.ExitOK
	}
	if *printPolicy {
		return deploy.PrintPolicy(s, loadErr, stdout, stderr)
	}
	return deploy.RunCLI(s, loadErr, stdout, stderr)
}
