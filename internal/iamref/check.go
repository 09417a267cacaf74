package iamref

import (
	"fmt"
	"slices"
	"strings"
)

// StatementProblems checks one statement of a policy (decoded JSON) against the reference, as
// IAM would read it: every action is one the reference has; an Allow names, for each resource
// type the action requires, a Resource that is one; an action that takes no resource is allowed
// on "*" only; every condition key is the action's or global (else the condition never holds).
// name says which statement in the messages.
func StatementProblems(ref *Ref, name string, st map[string]any) []string {
	var problems []string
	var actions []string
	for _, pattern := range append(listOf(st["Action"]), listOf(st["NotAction"])...) {
		expanded := ref.Expand(pattern)
		if len(expanded) == 0 {
			problems = append(problems, fmt.Sprintf("%s: %s is no action of the Service Authorization Reference", name, pattern))
		}
		if st["Action"] != nil && pattern != "*" {
			actions = append(actions, expanded...)
		}
	}
	resources := listOf(st["Resource"])
	_, trust := st["Principal"]
	for _, a := range actions {
		ra, _ := ref.Action(a)
		if len(resources) > 0 && st["Effect"] == "Allow" {
			var required int
			for _, rt := range ra.Resources {
				if !rt.Required {
					continue
				}
				required++
				if !slices.ContainsFunc(resources, func(r string) bool { return Covers(r, rt.ARN) }) {
					problems = append(problems, fmt.Sprintf("%s: %s requires a %s (%s), which no Resource (%s) is", name, a, rt.Type, rt.ARN, strings.Join(resources, ", ")))
				}
			}
			if len(ra.Resources) == 0 && !slices.Equal(resources, []string{"*"}) && !trust {
				problems = append(problems, fmt.Sprintf("%s: %s takes no resource, so only Resource \"*\" allows it (%s)", name, a, strings.Join(resources, ", ")))
			}
		}
		cond, _ := st["Condition"].(map[string]any)
		for _, keys := range cond {
			for key := range keys.(map[string]any) {
				if ref.Global(key) || slices.ContainsFunc(ra.AllKeys(), func(k string) bool { return KeyMatches(k, key) }) {
					continue
				}
				problems = append(problems, fmt.Sprintf("%s: the condition key %s is neither %s's nor global: the request has no such key, so the condition never holds", name, key, a))
			}
		}
	}
	return problems
}

// listOf reads a policy element that is a string or a list of strings.
func listOf(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return x
	}
	return nil
}
