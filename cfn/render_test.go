package cfn_test

// Rendering infra.yaml for one parameter file, as CloudFormation would before it creates
// anything: conditions evaluated, Fn::If resolved, AWS::NoValue dropped, resources whose
// condition is false removed. References (Ref, Fn::GetAtt, Fn::Sub) stay as they are, so
// cfn-guard and the wiring checks see the variant's resources and how they point at each other.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// variant is one parameter file of cfn/parameters: a strategy and a deploy path.
type variant struct {
	Name   string            // file name without .json
	Params map[string]string // every parameter, the file's values over the template's defaults
	Doc    map[string]any    // the rendered template
	Path   string            // the rendered template as JSON, for cfn-guard
	// RulesFailed names the template's Rules whose assertion these parameters fail: CloudFormation
	// would refuse them.
	RulesFailed []any
}

// parameterFiles lists cfn/parameters/*.json.
func parameterFiles(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob("parameters/*.json")
	if len(files) != 8 {
		t.Fatalf("cfn/parameters holds %d files; want one per strategy × deploy path (8)", len(files))
	}
	return files
}

// renderVariant renders infra.yaml with the parameter file (CloudFormation's CLI format:
// a list of ParameterKey/ParameterValue) and writes the result under dir.
func renderVariant(t *testing.T, file, dir string) variant {
	t.Helper()
	raw, err := os.ReadFile(templateFile)
	if err != nil {
		t.Fatal(err)
	}
	return renderTemplate(t, raw, file, dir)
}

// renderTemplate renders the template raw (infra.yaml, or a changed copy of it) with the
// parameter file.
func renderTemplate(t *testing.T, raw []byte, file, dir string) variant {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var list []struct{ ParameterKey, ParameterValue string }
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	tpl := longForm(doc.Content[0]).(map[string]any)
	params := map[string]string{}
	for name, p := range tpl["Parameters"].(map[string]any) {
		if d, ok := p.(map[string]any)["Default"]; ok {
			params[name] = fmt.Sprint(d)
		}
	}
	for _, p := range list {
		if _, ok := tpl["Parameters"].(map[string]any)[p.ParameterKey]; !ok {
			t.Fatalf("%s sets %s, which infra.yaml does not declare", file, p.ParameterKey)
		}
		params[p.ParameterKey] = p.ParameterValue
	}
	r := &renderer{t: t, params: params, conds: tpl["Conditions"].(map[string]any)}
	out := map[string]any{}
	var rulesFailed []any
	for k, v := range tpl {
		switch k {
		case "Rules": // CloudFormation refuses parameters a rule's assertion fails: say which
			var failed []any
			for name, rule := range v.(map[string]any) {
				m := rule.(map[string]any)
				if c, ok := m["RuleCondition"]; ok && !r.truth(c) {
					continue
				}
				for _, a := range m["Assertions"].([]any) {
					if !r.truth(a.(map[string]any)["Assert"]) {
						failed = append(failed, name)
					}
				}
			}
			rulesFailed = failed
		case "Conditions":
		case "Resources", "Outputs":
			kept := map[string]any{}
			for name, res := range v.(map[string]any) {
				m := res.(map[string]any)
				if c, ok := m["Condition"].(string); ok && !r.condition(c) {
					continue
				}
				delete(m, "Condition")
				if rv, keep := r.resolve(m); keep {
					kept[name] = rv
				}
			}
			out[k] = kept
		default:
			out[k] = v
		}
	}
	name := strings.TrimSuffix(filepath.Base(file), ".json")
	path := filepath.Join(dir, name+".json")
	js, _ := json.MarshalIndent(out, "", "  ")
	if err := os.WriteFile(path, js, 0o644); err != nil {
		t.Fatal(err)
	}
	return variant{Name: name, Params: params, Doc: out, Path: path, RulesFailed: rulesFailed}
}

// longForm turns CloudFormation YAML (short tags such as !Ref) into the JSON form.
func longForm(n *yaml.Node) any {
	var v any
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = longForm(n.Content[i+1])
		}
		v = m
	case yaml.SequenceNode:
		l := []any{}
		for _, c := range n.Content {
			l = append(l, longForm(c))
		}
		v = l
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!int", "!!float":
			var x float64
			yaml.Unmarshal([]byte(n.Value), &x)
			v = x
		case "!!bool":
			v = n.Value == "true"
		default:
			v = n.Value
		}
	case yaml.AliasNode:
		v = longForm(n.Alias)
	}
	tag := strings.TrimPrefix(n.Tag, "!")
	if !strings.HasPrefix(n.Tag, "!") || strings.HasPrefix(n.Tag, "!!") {
		return v
	}
	switch tag {
	case "Ref", "Condition":
		return map[string]any{tag: n.Value}
	case "GetAtt":
		if s, ok := v.(string); ok {
			a, b, _ := strings.Cut(s, ".")
			return map[string]any{"Fn::GetAtt": []any{a, b}}
		}
	}
	return map[string]any{"Fn::" + tag: v}
}

type renderer struct {
	t      *testing.T
	params map[string]string
	conds  map[string]any
}

func (r *renderer) condition(name string) bool {
	c, ok := r.conds[name]
	if !ok {
		r.t.Fatalf("condition %s is not declared", name)
	}
	return r.truth(c)
}

// truth evaluates a condition expression.
func (r *renderer) truth(v any) bool {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		r.t.Fatalf("not a condition: %v", v)
	}
	for fn, arg := range m {
		switch fn {
		case "Condition":
			return r.condition(arg.(string))
		case "Fn::Equals":
			a := arg.([]any)
			return r.scalar(a[0]) == r.scalar(a[1])
		case "Fn::Not":
			return !r.truth(arg.([]any)[0])
		case "Fn::And", "Fn::Or":
			all, any_ := true, false
			for _, c := range arg.([]any) {
				b := r.truth(c)
				all, any_ = all && b, any_ || b
			}
			return map[string]bool{"Fn::And": all, "Fn::Or": any_}[fn]
		}
	}
	r.t.Fatalf("unknown condition function in %v", v)
	return false
}

// scalar is a condition operand: a literal or a parameter's value.
func (r *renderer) scalar(v any) string {
	if m, ok := v.(map[string]any); ok {
		if p, ok := m["Ref"].(string); ok {
			if val, ok := r.params[p]; ok {
				return val
			}
		}
		r.t.Fatalf("condition operand %v is not a parameter", v)
	}
	return fmt.Sprint(v)
}

// resolve evaluates Fn::If and drops AWS::NoValue; keep is false for a value that vanishes.
func (r *renderer) resolve(v any) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		if ref, ok := x["Ref"]; ok && ref == "AWS::NoValue" && len(x) == 1 {
			return nil, false
		}
		if arg, ok := x["Fn::If"]; ok && len(x) == 1 {
			a := arg.([]any)
			if r.condition(a[0].(string)) {
				return r.resolve(a[1])
			}
			return r.resolve(a[2])
		}
		out := map[string]any{}
		for k, c := range x {
			if rv, keep := r.resolve(c); keep {
				out[k] = rv
			}
		}
		return out, true
	case []any:
		out := []any{}
		for _, c := range x {
			if rv, keep := r.resolve(c); keep {
				out = append(out, rv)
			}
		}
		return out, true
	}
	return v, true
}

// get walks a rendered document by keys (map keys, or list indexes as "0", "1", ...).
func get(v any, keys ...string) any {
	for _, k := range keys {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i := -1
			fmt.Sscan(k, &i)
			if i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// refTo reports whether v is {"Ref": name} or {"Fn::GetAtt": [name, ...]}.
func refTo(v any, name string) bool {
	m, _ := v.(map[string]any)
	if m["Ref"] == name {
		return true
	}
	ga, _ := m["Fn::GetAtt"].([]any)
	return len(ga) > 0 && ga[0] == name
}

// resourceNames lists the rendered resources, sorted.
func resourceNames(doc map[string]any) []string {
	var out []string
	for k := range doc["Resources"].(map[string]any) {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// pseudo is the parameters of v with the pseudo parameters of a stack named stack in a realistic
// account: what CloudFormation substitutes before it creates anything.
func pseudo(v variant, stack string) map[string]string {
	vals := map[string]string{"AWS::StackName": stack, "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012",
		"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com",
		"AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/" + stack + "/0f1e2d3c-4b5a-4978-8a9b-0c1d2e3f4a5b"}
	for k, p := range v.Params {
		vals[k] = p
	}
	return vals
}

// deployed is what the resources deploystep is told about are called in a realistic account (Ref
// and Fn::GetAtt names), for reading the settings a variant gives deploystep.
var deployed = map[string]string{
	"APICluster": "tsa-gallery", "APIService.Name": "api", "CFDistribution": "E2QWRUHAPOMQZL",
	"CFDistribution.DomainName": "d111111abcdef8.cloudfront.net", "APIALB.DNSName": "tsa-APIALB-1234567890.us-east-1.elb.amazonaws.com",
	"ECRRepository.RepositoryUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/tsa-gallery/api-0f1e2d3c",
}

// literal resolves v to a string as far as it depends on parameters only (Ref, Fn::Sub,
// Fn::Join, Fn::Select of Fn::Split); ok is false for anything that depends on a resource.
func literal(v any, vals map[string]string) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case float64, bool:
		return fmt.Sprint(x), true
	case map[string]any:
		if len(x) != 1 {
			return "", false
		}
		for fn, arg := range x {
			switch fn {
			case "Ref":
				s, ok := vals[fmt.Sprint(arg)]
				return s, ok
			case "Fn::GetAtt":
				a, _ := arg.([]any)
				s, ok := vals[fmt.Sprint(a...)]
				if len(a) == 2 {
					s, ok = vals[fmt.Sprint(a[0])+"."+fmt.Sprint(a[1])]
				}
				return s, ok
			case "Fn::Sub":
				tpl, vars := arg, map[string]any{}
				if l, ok := arg.([]any); ok && len(l) == 2 {
					tpl, vars = l[0], l[1].(map[string]any)
				}
				ok := true
				out := regexp.MustCompile(`\$\{([A-Za-z0-9:.]+)\}`).ReplaceAllStringFunc(fmt.Sprint(tpl), func(m string) string {
					name := m[2 : len(m)-1]
					if v, in := vars[name]; in {
						s, good := literal(v, vals)
						ok = ok && good
						return s
					}
					s, good := vals[name]
					ok = ok && good
					return s
				})
				return out, ok
			case "Fn::Join":
				a := arg.([]any)
				parts, ok := literalList(a[1], vals)
				return strings.Join(parts, fmt.Sprint(a[0])), ok
			case "Fn::Select":
				a := arg.([]any)
				list, ok := literalList(a[1], vals)
				i := int(a[0].(float64))
				if !ok || i >= len(list) {
					return "", false
				}
				return list[i], true
			}
		}
	}
	return "", false
}

// literalList resolves a list, or a Fn::Split, to strings.
func literalList(v any, vals map[string]string) ([]string, bool) {
	if m, ok := v.(map[string]any); ok {
		if a, ok := m["Fn::Split"].([]any); ok {
			s, ok := literal(a[1], vals)
			return strings.Split(s, fmt.Sprint(a[0])), ok
		}
		return nil, false
	}
	l, ok := v.([]any)
	if !ok {
		return nil, false
	}
	var out []string
	for _, c := range l {
		s, good := literal(c, vals)
		if !good {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}
