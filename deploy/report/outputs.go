package report

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
)

// OutputVariables are a release's outputs by name, from its Summary: the CodePipeline action's
// output variables, and in the command mode the lines OUTPUTS_FILE gets (with Result). A value
// that lists one thing per service or distribution joins "name=value" pairs with ";".
func OutputVariables(sum Summary) map[string]string {
	vars := map[string]string{}
	if sum.Digest != "" {
		vars["ImageDigest"] = sum.Digest
	}
	if v := JoinPairs(sum.Deployments); v != "" {
		vars["DeploymentIds"] = v
	}
	if v := JoinPairs(sum.TaskDefinitions); v != "" {
		vars["TaskDefinitions"] = v
	}
	if len(sum.InvalidationDecisions) > 0 || len(sum.Invalidations) > 0 {
		vars["InvalidationIds"] = JoinPairs(sum.Invalidations) // empty: nothing was invalidated (the summary says why)
	}
	if sum.VerifiedVersion != "" {
		vars["VerifiedVersion"] = sum.VerifiedVersion
	}
	if len(sum.Paused) > 0 {
		hooks, sds := map[string]string{}, map[string]string{}
		for k, p := range sum.Paused {
			hooks[k], sds[k] = p.Hook, p.ServiceDeployment
		}
		vars["PausedHooks"], vars["ServiceDeployments"] = JoinPairs(hooks), JoinPairs(sds)
	}
	return vars
}

// JoinPairs is m as "k1=v1;k2=v2", sorted by key.
func JoinPairs(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ";")
}

// WriteOutputs appends the release's output variables and its Result to path as name=value lines,
// sorted by name: the format of GitHub Actions' $GITHUB_OUTPUT, and of a file a shell sources once
// quoted. Every value is one line (ids, digests, versions, results); one that is not is refused
// rather than written in a form that would end the file's other entries.
func WriteOutputs(path string, sum Summary) error {
	vars := OutputVariables(sum)
	vars["Result"] = sum.Result
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		if strings.ContainsAny(vars[k], "\r\n") {
			return fmt.Errorf("output %s is not one line", k)
		}
		fmt.Fprintf(&b, "%s=%s\n", k, vars[k])
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
