package awsim

// IAM: identity-based policies, evaluated as the IAM User Guide documents it, for the identities
// that carry them (IdentitySpec.Policies, RoleSpec.Policies for the role's sessions). An identity
// without policies is allowed everything, as awsim always did.
//
// Data flows one way: a request is turned into the authorizations it needs (iam_actions.go: the
// action, each of its required resource types with the ARN the request names, the condition keys
// the request carries, and what IAM checks beside it: iam:PassRole, ecs:TagResource on create);
// each authorization is evaluated against the caller's policies here; the first that is not
// allowed is the call's answer, in the service's error format.
//
// What is modelled, each from the IAM User Guide:
//
//   - "Policy evaluation logic": "An explicit deny in any of these policies overrides the allow",
//     and "By default, all requests are implicitly denied": a request no statement allows is
//     denied; a Deny statement that matches wins over any Allow.
//   - "IAM JSON policy elements: Action": action names are case-insensitive and take the
//     wildcards * and ?; NotAction matches every action but those listed.
//   - "IAM JSON policy elements: Resource": ARNs are case-sensitive; "You can use wildcard
//     characters (* and ?) within any ARN segment (the parts separated by colons)... If the *
//     wildcard is the last character of a resource ARN segment, it can expand to match beyond
//     the colon boundaries." A request on no resource ("*": an action with no resource types) is
//     matched only by a Resource that is "*" (the Service Authorization Reference: "If there is
//     no value for this column, you must specify all resources ("*")"). NotResource likewise.
//   - "IAM JSON policy elements: Condition operators": blocks and keys are ANDed, the values of
//     one key ORed; "If the key that you specify in a policy condition is not present in the
//     request context, the values do not match and the condition is false. If the policy
//     condition requires that the key is not matched, such as StringNotLike or ArnNotLike, and
//     the right key is not present, the condition is true"; ...IfExists is true for a missing
//     key; Null tests presence; ForAnyValue:/ForAllValues: for multivalued keys (aws:TagKeys).
//     ArnEquals and ArnLike match as Resource does. An operator this table does not know makes
//     the policy invalid (IAM refuses such a policy; awsim refuses to start with it).
//
// Not modelled: resource-based policies but the role trust policies STS checks (sts.go), SCPs,
// permission boundaries, session policies, policy variables (${aws:username}): none of the
// policies deploystep ships uses them.

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// Policy is an identity-based policy document.
type Policy struct {
	Version   string      `json:"Version,omitempty"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a policy. Action, Resource and their Not forms are a string or a
// list in JSON; both are read.
type Statement struct {
	Sid         string                         `json:"Sid,omitempty"`
	Effect      string                         `json:"Effect"`
	Action      strings1                       `json:"Action,omitempty"`
	NotAction   strings1                       `json:"NotAction,omitempty"`
	Resource    strings1                       `json:"Resource,omitempty"`
	NotResource strings1                       `json:"NotResource,omitempty"`
	Condition   map[string]map[string]strings1 `json:"Condition,omitempty"`
}

// strings1 is a JSON string or list of strings (numbers and booleans read as their text).
type strings1 []string

// UnmarshalJSON reads a string, a number, a boolean or a list of them.
func (s *strings1) UnmarshalJSON(b []byte) error {
	var list []any
	if err := json.Unmarshal(b, &list); err != nil {
		var one any
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		list = []any{one}
	}
	*s = nil
	for _, v := range list {
		switch v.(type) {
		case string, float64, bool:
			*s = append(*s, fmt.Sprint(v))
		default:
			return fmt.Errorf("policy: want a string or a list of strings, got %s", b)
		}
	}
	return nil
}

// ParsePolicy reads a policy document and checks what IAM checks of its shape: Statement is a
// statement or a list; Effect is Allow or Deny; exactly one of Action and NotAction, at most one
// of Resource and NotResource (one is required for an identity-based policy); condition
// operators this evaluator knows.
func ParsePolicy(b []byte) (*Policy, error) {
	var raw struct {
		Version   string          `json:"Version"`
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("policy: %v", err)
	}
	p := &Policy{Version: raw.Version}
	if len(raw.Statement) > 0 && raw.Statement[0] == '{' {
		var one Statement
		if err := json.Unmarshal(raw.Statement, &one); err != nil {
			return nil, fmt.Errorf("policy: %v", err)
		}
		p.Statement = []Statement{one}
	} else if err := json.Unmarshal(raw.Statement, &p.Statement); err != nil {
		return nil, fmt.Errorf("policy: %v", err)
	}
	for i, st := range p.Statement {
		name := st.Sid
		if name == "" {
			name = fmt.Sprintf("statement %d", i+1)
		}
		switch {
		case st.Effect != "Allow" && st.Effect != "Deny":
			return nil, fmt.Errorf("policy: %s: Effect %q is neither Allow nor Deny", name, st.Effect)
		case (len(st.Action) == 0) == (len(st.NotAction) == 0):
			return nil, fmt.Errorf("policy: %s: exactly one of Action and NotAction", name)
		case (len(st.Resource) == 0) == (len(st.NotResource) == 0):
			return nil, fmt.Errorf("policy: %s: exactly one of Resource and NotResource", name)
		}
		for op := range st.Condition {
			if _, ok := conditionOp(op); !ok {
				return nil, fmt.Errorf("policy: %s: condition operator %s is not one awsim evaluates", name, op)
			}
		}
	}
	return p, nil
}

// authorization is one thing IAM decides for a request: may the caller do Action on Resource
// ("*" for an action without resource types) with these context keys.
type authorization struct {
	Action   string
	Resource string
	Context  map[string][]string
}

// decision is how an authorization was decided.
type decision struct {
	Allowed bool
	Denied  bool   // an explicit Deny matched
	By      string // the Sid (or "statement N") of the statement that allowed or denied it
}

// evaluate decides a against the identity's policies: an explicit Deny in any wins, else an
// Allow in any, else the implicit deny.
func evaluate(policies []*Policy, a authorization) decision {
	var allowedBy string
	for _, p := range policies {
		for i, st := range p.Statement {
			if !st.applies(a) {
				continue
			}
			name := st.Sid
			if name == "" {
				name = fmt.Sprintf("statement %d", i+1)
			}
			if st.Effect == "Deny" {
				return decision{Denied: true, By: name}
			}
			if allowedBy == "" {
				allowedBy = name
			}
		}
	}
	return decision{Allowed: allowedBy != "", By: allowedBy}
}

// applies reports whether the statement matches the action, the resource and the conditions.
func (st Statement) applies(a authorization) bool {
	if len(st.Action) > 0 && !anyMatch(st.Action, a.Action, actionMatch) ||
		len(st.NotAction) > 0 && anyMatch(st.NotAction, a.Action, actionMatch) {
		return false
	}
	if len(st.Resource) > 0 && !anyMatch(st.Resource, a.Resource, arnMatch) ||
		len(st.NotResource) > 0 && anyMatch(st.NotResource, a.Resource, arnMatch) {
		return false
	}
	for op, keys := range st.Condition {
		for key, values := range keys {
			if !conditionHolds(op, key, values, a.Context) {
				return false
			}
		}
	}
	return true
}

func anyMatch(patterns []string, v string, match func(pattern, v string) bool) bool {
	for _, p := range patterns {
		if match(p, v) {
			return true
		}
	}
	return false
}

// actionMatch matches an action pattern ("ecs:Describe*"), case-insensitively.
func actionMatch(pattern, action string) bool {
	return wildcard(strings.ToLower(pattern), strings.ToLower(action), false)
}

// arnMatch matches a Resource pattern against a request's resource: "*" matches everything; a
// request on no resource ("*") only that; otherwise segment by segment as the User Guide says.
func arnMatch(pattern, arn string) bool {
	if pattern == "*" {
		return true
	}
	if arn == "*" {
		return false
	}
	return wildcard(pattern, arn, true)
}

// patternCache holds the compiled patterns (requests are served concurrently).
var patternCache sync.Map

// wildcard matches * and ?; with arn, a wildcard inside one of the ARN's first five segments
// does not cross a colon unless it is the segment's last character ("it can expand to match
// beyond the colon boundaries"), and the sixth segment (the resource) is matched whole.
func wildcard(pattern, v string, arn bool) bool {
	key := fmt.Sprint(arn) + "\x00" + pattern
	cached, ok := patternCache.Load(key)
	re, _ := cached.(*regexp.Regexp)
	if !ok {
		var b strings.Builder
		b.WriteString("^")
		colons := 0
		for i := 0; i < len(pattern); i++ {
			c := pattern[i]
			inPrefix := arn && colons < 5
			switch {
			case c == '*' && inPrefix && (i+1 == len(pattern) || pattern[i+1] == ':'):
				b.WriteString(".*")
			case c == '*' && inPrefix:
				b.WriteString("[^:]*")
			case c == '*':
				b.WriteString(".*")
			case c == '?' && inPrefix:
				b.WriteString("[^:]")
			case c == '?':
				b.WriteString(".")
			default:
				if c == ':' {
					colons++
				}
				b.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		b.WriteString("$")
		re = regexp.MustCompile(b.String())
		patternCache.Store(key, re)
	}
	return re.MatchString(v)
}

// conditionKind is how an operator compares.
type conditionKind struct {
	compare func(policy, request string) bool
	negated bool // ...Not...: true when no value matches
	null    bool
}

func conditionOp(op string) (conditionKind, bool) {
	base := op
	if _, rest, ok := strings.Cut(op, ":"); ok { // ForAnyValue:, ForAllValues:
		base = rest
	}
	base = strings.TrimSuffix(base, "IfExists")
	eq := func(p, r string) bool { return p == r }
	fold := strings.EqualFold
	like := func(p, r string) bool { return wildcard(p, r, false) }
	arn := func(p, r string) bool { return arnMatch(p, r) }
	kinds := map[string]conditionKind{
		"StringEquals": {compare: eq}, "StringNotEquals": {compare: eq, negated: true},
		"StringEqualsIgnoreCase": {compare: fold}, "StringNotEqualsIgnoreCase": {compare: fold, negated: true},
		"StringLike": {compare: like}, "StringNotLike": {compare: like, negated: true},
		"ArnEquals": {compare: arn}, "ArnLike": {compare: arn},
		"ArnNotEquals": {compare: arn, negated: true}, "ArnNotLike": {compare: arn, negated: true},
		"Bool": {compare: fold}, "Null": {null: true},
	}
	k, ok := kinds[base]
	return k, ok
}

// conditionHolds evaluates one key of one operator block.
func conditionHolds(op, key string, values []string, ctx map[string][]string) bool {
	kind, _ := conditionOp(op)
	got, present := lookupKey(ctx, key)
	if kind.null { // "Null": "true" holds when the key is absent
		want := len(values) > 0 && strings.EqualFold(values[0], "true")
		return want == !present
	}
	if !present {
		return kind.negated || strings.HasSuffix(op, "IfExists") || strings.HasPrefix(op, "ForAllValues:")
	}
	matchOne := func(r string) bool {
		for _, v := range values {
			if kind.compare(v, r) {
				return true
			}
		}
		return false
	}
	switch {
	case strings.HasPrefix(op, "ForAllValues:"):
		for _, r := range got {
			if matchOne(r) == kind.negated {
				return false
			}
		}
		return true
	default: // a single-valued key, or ForAnyValue:
		for _, r := range got {
			if matchOne(r) {
				return !kind.negated
			}
		}
		return kind.negated
	}
}

// lookupKey finds a context key; keys are case-insensitive ("Condition key names are not case
// sensitive"), so is the tag key part of aws:RequestTag/${TagKey} here.
func lookupKey(ctx map[string][]string, key string) ([]string, bool) {
	for k, v := range ctx {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}
