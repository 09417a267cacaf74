package cdn

// What a release invalidates. INVALIDATION_PATHS=auto (the default) reads each distribution's
// configuration and invalidates only what the released services can have left stale at the
// edge; INVALIDATION_TAGS invalidates cache tags; an explicit INVALIDATION_PATHS list is sent as
// it is. The decision is made once, in the preflight (the dry run makes it too, read-only), kept
// in the State, said in the progress, and sent by the invalidate step (invalidate.go).
//
// How auto decides (the rules, and where they come from):
//
//  1. The release's origins: each service's loadBalancers[] (its target group, and a blue/green
//     service's alternate one) → DescribeTargetGroups (the target group's LoadBalancerArns) →
//     DescribeLoadBalancers (their DNSName). A service without a load balancer, or one on a
//     Classic Load Balancer, has origins that cannot be told.
//  2. Each cache behaviour (the default one is /*) goes to its TargetOriginId: an origin, or an
//     origin group whose members are judged together. An origin is the release's when its domain
//     is one of those DNS names (a "dualstack." prefix and case aside), or, for a VPC origin,
//     when GetVpcOrigin's endpoint ARN is one of those load balancers. An S3 origin (an
//     S3OriginConfig, or an *.s3*.amazonaws.com domain) is not: a release of ECS services does not
//     change a bucket. Another load balancer's DNS name, or a VPC origin to another ARN, is not
//     either. Any other custom domain (a CNAME can point anywhere) cannot be told.
//  3. Whether a behaviour can cache: its cache policy's MaxTTL (the managed policies by id, as
//     the Developer Guide's "Use managed cache policies" lists them; others read with
//     GetCachePolicy) or its legacy MaxTTL (default 31536000, API reference CacheBehavior) is
//     above 0. With MaxTTL 0 CloudFront caches nothing the behaviour serves, whatever the origin's
//     Cache-Control says.
//  4. The paths: the path patterns of the release's behaviours that can cache, as invalidation
//     paths (a leading /; cut at the first * or ? and ended with *, and an exact pattern ended
//     with * too, so that query-string variants of its cache key go with it); the default
//     behaviour's is /*, which covers everything. None: no invalidation, said with the behaviours
//     and policies that made it so. Anything that cannot be told (a read refused, a service
//     without a load balancer, a behaviour that can cache whose origin cannot be told) gives /*,
//     said with why: never fewer paths than could be stale. More than 15 wildcard paths (the
//     in-progress limit) or more than the continuation token can carry give /* too.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/settings"
	"github.com/deploystep/deploystep/deploy/state"
	"github.com/deploystep/deploystep/deploy/step"
)

// policyTTL is a cache policy's name and TTLs.
type policyTTL struct {
	Name              string
	Min, Default, Max int64
}

// managedPolicies are CloudFront's managed cache policies by id (Developer Guide, "Use managed
// cache policies": each one's id, minimum, default and maximum TTL).
var managedPolicies = map[string]policyTTL{
	"2e54312d-136d-493c-8eb9-b001f22f67d2": {"Amplify", 2, 2, 600},
	"4135ea2d-6df8-44a3-9df3-4b5a84be39ad": {"Managed-CachingDisabled", 0, 0, 0},
	"658327ea-f89d-4fab-a63d-7e88639e58f6": {"Managed-CachingOptimized", 1, 86400, 31536000},
	"b2884449-e4de-46a7-ac36-70bc7f1ddd6d": {"Managed-CachingOptimizedForUncompressedObjects", 1, 86400, 31536000},
	"08627262-05a9-4f76-9ded-b50ca2e3a84f": {"Managed-Elemental-MediaPackage", 0, 86400, 31536000},
	"83da9c7e-98b4-4e11-a168-04f0df8e2c65": {"UseOriginCacheControlHeaders", 0, 0, 31536000},
	"4cc15a8a-d715-48a4-82b8-cc0b614638fe": {"UseOriginCacheControlHeaders-QueryStrings", 0, 0, 31536000},
}

// releaseOrigins is what the services' load balancers are.
type releaseOrigins struct {
	dns     map[string]string // a load balancer's DNS name, lower case → the service
	arns    map[string]string // a load balancer's ARN → the service
	unknown []string          // why some service's origins cannot be told
}

// cacheFacts is what auto reads beside the distribution's configuration.
type cacheFacts struct {
	release  releaseOrigins
	policies map[string]policyTTL // custom policies read, by id
	missing  map[string]string    // why a policy or VPC origin could not be read, by id
	vpc      map[string]string    // a VPC origin's endpoint ARN, by id
}

// behaviorView is one behaviour as auto judged it.
type behaviorView struct {
	Pattern string // "" for the default behaviour
	Origin  string
	// Whose: "release" (Service names it), "s3", "other" (known not to be the release's) or
	// "unknown" (Why says why).
	Whose, Service, Why string
	Policy              string // the cache policy's name, or "legacy TTLs"
	MaxTTL              int64
	TTLKnown            bool
}

func (b behaviorView) name() string {
	if b.Pattern == "" {
		return "the default behaviour (*)"
	}
	return "behaviour " + b.Pattern
}

func (b behaviorView) canCache() bool { return !b.TTLKnown || b.MaxTTL > 0 }

func (b behaviorView) policyText() string {
	if !b.TTLKnown {
		return b.Policy + ", TTL unknown"
	}
	return fmt.Sprintf("%s, max TTL %d", b.Policy, b.MaxTTL)
}

var (
	s3Domain  = regexp.MustCompile(`(^|\.)s3([.-][a-z0-9-]+)*\.amazonaws\.com(\.cn)?$`)
	elbDomain = regexp.MustCompile(`\.elb\.([a-z0-9-]+\.)?amazonaws\.com(\.cn)?$`)
)

// judgeBehaviors classifies each cache behaviour of cfg: whose origin, and whether it can cache.
func judgeBehaviors(cfg *cftypes.DistributionConfig, f cacheFacts) []behaviorView {
	origins := map[string]cftypes.Origin{}
	for _, o := range originItems(cfg) {
		origins[aws.ToString(o.Id)] = o
	}
	groups := map[string][]string{}
	if cfg.OriginGroups != nil {
		for _, g := range cfg.OriginGroups.Items {
			if g.Members != nil {
				for _, m := range g.Members.Items {
					groups[aws.ToString(g.Id)] = append(groups[aws.ToString(g.Id)], aws.ToString(m.OriginId))
				}
			}
		}
	}
	var out []behaviorView
	add := func(pattern, target, policyID string, legacyMax *int64) {
		v := behaviorView{Pattern: pattern, Origin: target}
		members := []string{target}
		if m, ok := groups[target]; ok {
			members = m
		}
		for _, id := range members {
			w := judgeOrigin(origins, id, f)
			// An origin group is the release's if any member is; it cannot be told if any cannot.
			switch {
			case v.Whose == "" || w.Whose == "unknown" || w.Whose == "release" && v.Whose != "unknown":
				v.Whose, v.Service, v.Why = w.Whose, w.Service, w.Why
			}
		}
		v.Policy, v.MaxTTL, v.TTLKnown = f.policyTTL(policyID, legacyMax)
		out = append(out, v)
	}
	if d := cfg.DefaultCacheBehavior; d != nil {
		add("", aws.ToString(d.TargetOriginId), aws.ToString(d.CachePolicyId), d.MaxTTL)
	}
	if cfg.CacheBehaviors != nil {
		for _, b := range cfg.CacheBehaviors.Items {
			add(aws.ToString(b.PathPattern), aws.ToString(b.TargetOriginId), aws.ToString(b.CachePolicyId), b.MaxTTL)
		}
	}
	return out
}

// policyTTL is a behavior's cache policy (policyID; "" for legacy TTLs, whose maximum is
// legacyMax, by default a year) as a name and its maximum TTL, when known.
func (f cacheFacts) policyTTL(policyID string, legacyMax *int64) (name string, maxTTL int64, known bool) {
	if policyID == "" && legacyMax != nil {
		return "legacy TTLs", *legacyMax, true
	}
	if policyID == "" {
		return "legacy TTLs", 31536000, true
	}
	if p, ok := managedPolicies[policyID]; ok {
		return p.Name, p.Max, true
	}
	if p, ok := f.policies[policyID]; ok {
		return p.Name, p.Max, true
	}
	name = "cache policy " + policyID
	if why := f.missing[policyID]; why != "" {
		name += ": " + why
	}
	return name, 0, false
}

// judgeOrigin says whose an origin is.
func judgeOrigin(origins map[string]cftypes.Origin, id string, f cacheFacts) behaviorView {
	o, ok := origins[id]
	if !ok {
		return behaviorView{Whose: "unknown", Why: "origin " + id + " is not in the configuration"}
	}
	domain := strings.TrimSuffix(strings.ToLower(aws.ToString(o.DomainName)), ".")
	switch {
	case o.S3OriginConfig != nil || s3Domain.MatchString(domain):
		return behaviorView{Whose: "s3"}
	case o.VpcOriginConfig != nil:
		vid := aws.ToString(o.VpcOriginConfig.VpcOriginId)
		arn, ok := f.vpc[vid]
		switch {
		case !ok:
			return behaviorView{Whose: "unknown", Why: fmt.Sprintf("VPC origin %s could not be read (%s)", vid, cmp.Or(f.missing[vid], "not read"))}
		case f.release.arns[arn] != "":
			return behaviorView{Whose: "release", Service: f.release.arns[arn]}
		}
		return behaviorView{Whose: "other", Why: "VPC origin to " + arn}
	}
	if svc := f.release.dns[strings.TrimPrefix(domain, "dualstack.")]; svc != "" {
		return behaviorView{Whose: "release", Service: svc}
	}
	if elbDomain.MatchString(domain) {
		return behaviorView{Whose: "other", Why: "another load balancer, " + domain}
	}
	return behaviorView{Whose: "unknown", Why: fmt.Sprintf("custom origin %s is none of the services' load balancers (a CNAME could point at one)", domain)}
}

// decideAuto turns the judged behaviours into the decision.
func decideAuto(views []behaviorView, release releaseOrigins) state.CacheDecision {
	fallback := func(why string) state.CacheDecision {
		return state.CacheDecision{Mode: settings.ModeAuto, Paths: []string{"/*"}, Reason: "/* because " + why}
	}
	var cacheable []behaviorView
	for _, v := range views {
		if v.Whose != "s3" && v.canCache() {
			cacheable = append(cacheable, v)
		}
	}
	if len(cacheable) > 0 && len(release.unknown) > 0 {
		return fallback(strings.Join(release.unknown, "; ") + ", and " + cacheable[0].name() + " can cache")
	}
	var paths, used []string
	for _, v := range cacheable {
		switch {
		case !v.TTLKnown && v.Whose != "other":
			return fallback(fmt.Sprintf("%s (origin %s) uses %s", v.name(), v.Origin, v.Policy))
		case v.Whose == "unknown":
			return fallback(fmt.Sprintf("%s can cache (%s) and %s", v.name(), v.policyText(), v.Why))
		case v.Whose == "release":
			paths = append(paths, invalidationPath(v.Pattern))
			used = append(used, fmt.Sprintf("%s → %s's load balancer (%s)", v.name(), v.Service, v.policyText()))
		}
	}
	if len(paths) == 0 {
		var why []string
		for _, v := range views {
			switch {
			case v.Whose == "s3":
				why = append(why, fmt.Sprintf("%s goes to an S3 origin (%s), which a release does not change", v.name(), v.Origin))
			case v.Whose == "other":
				why = append(why, fmt.Sprintf("%s goes to %s, not the release's", v.name(), v.Why))
			default:
				why = append(why, fmt.Sprintf("%s → %s cannot cache (%s)", v.name(), cmp.Or(v.Service, v.Origin), v.policyText()))
			}
		}
		return state.CacheDecision{Mode: settings.ModeAuto, Reason: "nothing the release serves can be cached: " + strings.Join(why, "; ")}
	}
	paths = coverPaths(paths)
	wild, chars := 0, 0
	for _, p := range paths {
		chars += len(p)
		if strings.Contains(p, "*") {
			wild++
		}
	}
	switch {
	case wild > 15:
		return fallback(fmt.Sprintf("the release's behaviours make %d wildcard paths, more than the 15 CloudFront lets be in progress", wild))
	case chars > state.MaxDecisionChars:
		return fallback(fmt.Sprintf("the release's behaviours make %d characters of paths, more than deploystep carries (%d)", chars, state.MaxDecisionChars))
	}
	return state.CacheDecision{Mode: settings.ModeAuto, Paths: paths, Reason: "the behaviours that serve the release and can cache: " + strings.Join(used, "; ")}
}

// invalidationPath is the invalidation path that covers what a path pattern matches: the
// default behaviour's "" is /*; a pattern is cut at its first wildcard and ended with *.
func invalidationPath(pattern string) string {
	if pattern == "" {
		return "/*"
	}
	if !strings.HasPrefix(pattern, "/") {
		pattern = "/" + pattern
	}
	if i := strings.IndexAny(pattern, "*?"); i >= 0 {
		pattern = pattern[:i]
	}
	return pattern + "*"
}

// coverPaths drops the paths another of them covers, keeping the order; /* covers all.
func coverPaths(paths []string) []string {
	var out []string
	for i, p := range paths {
		covered := false
		for j, q := range paths {
			if i != j && pathsCover([]string{q}, strings.TrimSuffix(p, "*")) && (q != p || j < i) {
				covered = true
			}
		}
		if !covered {
			out = append(out, p)
		}
	}
	return out
}

// decideTags is INVALIDATION_TAGS' decision for distribution d (cfg as read, or err): the tags,
// or a failed check when the distribution keeps no cache tags or cannot be read.
func decideTags(s settings.Settings, d string, cfg *cftypes.DistributionConfig, err error) (state.CacheDecision, *step.Check) {
	switch {
	case err != nil:
		return state.CacheDecision{}, &step.Check{OK: false, Message: fmt.Sprintf("distribution %s: INVALIDATION_TAGS needs its CacheTagConfig, which cannot be read: %s "+
			"(cloudfront:GetDistributionConfig on the distribution)", d, failure.FirstLine(err))}
	case cfg.CacheTagConfig == nil || aws.ToString(cfg.CacheTagConfig.HeaderName) == "":
		return state.CacheDecision{}, &step.Check{OK: false, Message: fmt.Sprintf("distribution %s has no CacheTagConfig, so it keeps no cache tags and INVALIDATION_TAGS would invalidate nothing: "+
			"add CacheTagConfig (HeaderName: the response header the origin tags objects with, like Cache-Tag) to the distribution, or use INVALIDATION_PATHS", d)}
	}
	return state.CacheDecision{Mode: settings.ModeTags, Paths: s.TagItems(), Reason: fmt.Sprintf("INVALIDATION_TAGS, tagged by the origin in %s", aws.ToString(cfg.CacheTagConfig.HeaderName))}, nil
}

// Decide makes the release's decision for each distribution, in the preflight and
// the dry run, with read (retried in a real run, once in the dry run). services is the
// preflight's read of the services. A check fails for INVALIDATION_TAGS on a distribution
// without CacheTagConfig, or whose configuration cannot be read, and for a read auto makes that
// IAM refuses (the message names the statement to add, or INVALIDATION_PATHS=/*, which reads
// nothing); a read that fails otherwise leaves auto at /*, said why.
func Decide(ctx context.Context, h *step.Host, st *state.State, read step.Reader, services map[string]ecstypes.Service) ([]step.Check, error) {
	s := h.Settings
	if s.SkipInvalidation {
		return nil, nil
	}
	state.Ensure(&st.Decisions)
	var checks []step.Check
	var release *releaseOrigins
	for _, d := range s.Distributions {
		if _, ok := st.Decisions[d]; ok {
			continue
		}
		if s.InvalidationMode() == settings.ModePaths {
			continue // the settings' own list: nothing to decide or keep
		}
		cfg, err := distributionConfig(ctx, h, read, d)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var dec state.CacheDecision
		if s.InvalidationMode() == settings.ModeTags {
			var bad *step.Check
			if dec, bad = decideTags(s, d, cfg, err); bad != nil {
				checks = append(checks, *bad)
				continue
			}
		} else {
			if err == nil && release == nil {
				r, rerr := readReleaseOrigins(ctx, h, read, services)
				release, err = &r, rerr
			}
			var facts cacheFacts
			if err == nil {
				facts, err = readCacheFacts(ctx, h, read, cfg, *release)
			}
			switch {
			case ctx.Err() != nil:
				return nil, ctx.Err()
			case errors.Is(err, failure.ErrAccessDenied):
				checks = append(checks, step.Check{OK: false, Message: fmt.Sprintf("distribution %s: INVALIDATION_PATHS=auto reads the distribution's configuration and "+
					"the services' load balancers to decide what to invalidate, and %s; or set INVALIDATION_PATHS=/* (or the paths), which reads nothing", d, failure.FirstLine(err))})
				continue
			case err != nil:
				dec = state.CacheDecision{Mode: settings.ModeAuto, Paths: []string{"/*"}, Reason: fmt.Sprintf("/* because the distribution's configuration cannot be read: %s "+
					"(auto needs cloudfront:GetDistributionConfig)", failure.FirstLine(err))}
			default:
				dec = decideAuto(judgeBehaviors(cfg, facts), *release)
			}
		}
		dec.Reason = failure.ClipTo(dec.Reason, 400)
		st.Decisions[d] = dec
		checks = append(checks, step.Check{OK: true, Message: fmt.Sprintf("distribution %s: %s", d, dec.Say())})
	}
	return checks, nil
}

// DecisionFor is what the release invalidates on dist: the kept decision, or the settings' list.
func DecisionFor(h *step.Host, st *state.State, dist string) state.CacheDecision {
	if d, ok := st.Decisions[dist]; ok {
		return d
	}
	return state.CacheDecision{Mode: settings.ModePaths, Paths: h.Settings.Paths, Reason: "INVALIDATION_PATHS"}
}

// distributionConfig reads a distribution's configuration.
func distributionConfig(ctx context.Context, h *step.Host, read step.Reader, dist string) (*cftypes.DistributionConfig, error) {
	var out *cloudfront.GetDistributionConfigOutput
	err := read(ctx, "reading the distribution's configuration", func(ctx context.Context) (err error) {
		out, err = h.CloudFront.GetDistributionConfig(ctx, &cloudfront.GetDistributionConfigInput{Id: aws.String(dist)})
		return failure.Classify(err, "GetDistributionConfig "+dist)
	})
	if err == nil && (out == nil || out.DistributionConfig == nil) {
		err = errors.New("GetDistributionConfig " + dist + ": an answer without a configuration")
	}
	if err != nil {
		return nil, err
	}
	return out.DistributionConfig, nil
}

// releaseOrigins finds the services' load balancers. A read that cannot be made leaves the
// origins unknown, said; only a refusal and the end of ctx are errors.
func readReleaseOrigins(ctx context.Context, h *step.Host, read step.Reader, services map[string]ecstypes.Service) (releaseOrigins, error) {
	r := releaseOrigins{dns: map[string]string{}, arns: map[string]string{}}
	tgs := r.targetGroups(h.Settings.Services, services) // target group ARN → service
	if len(tgs) == 0 {
		return r, nil
	}
	if h.ELB == nil { // an engine built without an Elastic Load Balancing client
		r.unknown = append(r.unknown, "the services' load balancers cannot be read (no Elastic Load Balancing client)")
		return r, nil
	}
	lbService := map[string]string{}
	ok, err := readELB(ctx, read, &r, "target groups", "DescribeTargetGroups", slices.Sorted(maps.Keys(tgs)), func(ctx context.Context, chunk []string) error {
		out, err := h.ELB.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: chunk})
		for _, tg := range outOr(out, err).TargetGroups {
			for _, lb := range tg.LoadBalancerArns {
				lbService[lb] = tgs[aws.ToString(tg.TargetGroupArn)]
			}
		}
		return err
	})
	if !ok {
		return r, err
	}
	// "You can specify up to 20 load balancers in a single call."
	_, err = readELB(ctx, read, &r, "load balancers", "DescribeLoadBalancers", slices.Sorted(maps.Keys(lbService)), func(ctx context.Context, chunk []string) error {
		out, err := h.ELB.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: chunk})
		for _, lb := range outOr(out, err).LoadBalancers {
			arn := aws.ToString(lb.LoadBalancerArn)
			r.arns[arn] = lbService[arn]
			r.dns[strings.TrimSuffix(strings.ToLower(aws.ToString(lb.DNSName)), ".")] = lbService[arn]
		}
		return err
	})
	return r, err
}

// outOr is out when the call that returned it succeeded, else an empty answer.
func outOr[T any](out *T, err error) *T {
	if err != nil || out == nil {
		return new(T)
	}
	return out
}

// targetGroups is the target groups (ARN → service) of the release's services' load balancers,
// both of a blue/green pair; a service not read, on a Classic Load Balancer or on none is noted
// in r.unknown.
func (r *releaseOrigins) targetGroups(names []string, services map[string]ecstypes.Service) map[string]string {
	tgs := map[string]string{}
	for _, name := range names {
		svc, ok := services[name]
		if !ok {
			r.unknown = append(r.unknown, "service "+name+" was not read")
			continue
		}
		for _, lb := range svc.LoadBalancers {
			if lb.LoadBalancerName != nil && lb.TargetGroupArn == nil {
				r.unknown = append(r.unknown, fmt.Sprintf("service %s is on a Classic Load Balancer (%s)", name, aws.ToString(lb.LoadBalancerName)))
				continue
			}
			for _, tg := range []*string{lb.TargetGroupArn, alternateTG(lb)} {
				if aws.ToString(tg) != "" {
					tgs[aws.ToString(tg)] = name
				}
			}
		}
		if len(svc.LoadBalancers) == 0 {
			r.unknown = append(r.unknown, "service "+name+" has no load balancer, so no origin can be told to be its")
		}
	}
	return tgs
}

// readELB makes an Elastic Load Balancing read (action) of keys, 20 at a time. A refusal ends
// the run (ErrAccessDenied); another error leaves the origins unknown, noted in r.unknown, and
// ok false.
func readELB(ctx context.Context, read step.Reader, r *releaseOrigins, what, action string, keys []string, call func(context.Context, []string) error) (ok bool, err error) {
	for chunk := range slices.Chunk(keys, 20) {
		err := read(ctx, "reading the services' "+what, func(ctx context.Context) error {
			return failure.Classify(call(ctx, chunk), action)
		})
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if errors.Is(err, failure.ErrAccessDenied) {
			return false, err
		}
		if err != nil {
			r.unknown = append(r.unknown, "the services' "+what+" cannot be read: "+failure.FirstLine(err)+" (auto needs elasticloadbalancing:"+action+")")
			return false, nil
		}
	}
	return true, nil
}

// alternateTG is a blue/green service's alternate target group (nil without one).
func alternateTG(lb ecstypes.LoadBalancer) *string {
	if lb.AdvancedConfiguration == nil {
		return nil
	}
	return lb.AdvancedConfiguration.AlternateTargetGroupArn
}

// readCacheFacts reads the custom cache policies and VPC origins the configuration names. A read
// that cannot be made is kept as the reason; only a refusal and the end of ctx are errors.
func readCacheFacts(ctx context.Context, h *step.Host, read step.Reader, cfg *cftypes.DistributionConfig, release releaseOrigins) (cacheFacts, error) {
	f := cacheFacts{release: release, policies: map[string]policyTTL{}, missing: map[string]string{}, vpc: map[string]string{}}
	var ids []string
	if d := cfg.DefaultCacheBehavior; d != nil {
		ids = append(ids, aws.ToString(d.CachePolicyId))
	}
	if cfg.CacheBehaviors != nil {
		for _, b := range cfg.CacheBehaviors.Items {
			ids = append(ids, aws.ToString(b.CachePolicyId))
		}
	}
	for _, id := range ids {
		if _, managed := managedPolicies[id]; id == "" || managed || f.policies[id] != (policyTTL{}) || f.missing[id] != "" {
			continue
		}
		err := f.read(ctx, read, "a cache policy", "GetCachePolicy", id, func(ctx context.Context) (string, error) {
			out, err := h.CloudFront.GetCachePolicy(ctx, &cloudfront.GetCachePolicyInput{Id: aws.String(id)})
			if err != nil || out.CachePolicy == nil || out.CachePolicy.CachePolicyConfig == nil {
				return "an answer without a configuration", err
			}
			c := out.CachePolicy.CachePolicyConfig
			f.policies[id] = policyTTL{Name: aws.ToString(c.Name), Min: aws.ToInt64(c.MinTTL), Default: aws.ToInt64(c.DefaultTTL), Max: aws.ToInt64(c.MaxTTL)}
			return "", nil
		})
		if err != nil {
			return f, err
		}
	}
	for _, o := range originItems(cfg) {
		if o.VpcOriginConfig == nil {
			continue
		}
		id := aws.ToString(o.VpcOriginConfig.VpcOriginId)
		err := f.read(ctx, read, "a VPC origin", "GetVpcOrigin", id, func(ctx context.Context) (string, error) {
			out, err := h.CloudFront.GetVpcOrigin(ctx, &cloudfront.GetVpcOriginInput{Id: aws.String(id)})
			if err != nil || out.VpcOrigin == nil || out.VpcOrigin.VpcOriginEndpointConfig == nil {
				return "an answer without an endpoint", err
			}
			f.vpc[id] = aws.ToString(out.VpcOrigin.VpcOriginEndpointConfig.Arn)
			return "", nil
		})
		if err != nil {
			return f, err
		}
	}
	return f, nil
}

// read makes one CloudFront read auto needs (action of id); call keeps what it read, or says
// why the answer is of no use. A refusal ends the run (ErrAccessDenied); another error, or an
// answer of no use, is noted in f.missing: what it would have told cannot be known.
func (f *cacheFacts) read(ctx context.Context, read step.Reader, what, action, id string, call func(context.Context) (useless string, err error)) error {
	var useless string
	err := read(ctx, "reading "+what, func(ctx context.Context) (err error) {
		useless, err = call(ctx)
		return failure.Classify(err, action+" "+id)
	})
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, failure.ErrAccessDenied):
		return err
	case err != nil:
		f.missing[id] = failure.FirstLine(err) + " (auto needs cloudfront:" + action + ")"
	case useless != "":
		f.missing[id] = useless
	}
	return nil
}

// originItems is the distribution's origins.
func originItems(cfg *cftypes.DistributionConfig) []cftypes.Origin {
	if cfg.Origins == nil {
		return nil
	}
	return cfg.Origins.Items
}

// cacheHint explains a cached copy of path that the release's auto or tag invalidation left at
// the edge: per distribution, what was invalidated, and the behaviour that serves path with its
// cache policy (one read of the configuration, bounded; it is a failure's explanation).
func cacheHint(ctx context.Context, h *step.Host, st *state.State, path string) string {
	var parts []string
	for _, d := range h.Settings.Distributions {
		dec := DecisionFor(h, st, d)
		if dec.Mode == settings.ModeAuto && pathsCover(dec.Paths, path) {
			return "; the edge served a copy cached after the invalidation: the origin still served the old version then"
		}
		what := "nothing"
		if len(dec.Paths) > 0 {
			what = strings.Join(dec.Paths, " ")
		}
		msg := fmt.Sprintf("on %s, %s invalidated %s", d, dec.Mode, what)
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		cfg, err := distributionConfig(c, h, step.Once, d)
		var facts cacheFacts
		if err == nil {
			facts, err = readCacheFacts(c, h, step.Once, cfg, releaseOrigins{})
		}
		cancel()
		if err != nil {
			parts = append(parts, msg+" (the behaviour that serves "+path+" could not be read: "+failure.FirstLine(err)+")")
			continue
		}
		v := behaviorFor(cfg, judgeBehaviors(cfg, facts), path)
		msg += fmt.Sprintf(", and %s is served by %s (origin %s, cache policy %s)", path, v.name(), v.Origin, v.policyText())
		if dec.Mode == settings.ModeTags && cfg.CacheTagConfig != nil {
			msg += fmt.Sprintf(": does its origin tag %s with %s in %s?", path, strings.Join(dec.Paths, " "), aws.ToString(cfg.CacheTagConfig.HeaderName))
		} else if dec.Mode == settings.ModeAuto {
			msg += ", which auto did not count as the release's: if it is, set INVALIDATION_PATHS to include " + invalidationPath(v.Pattern)
		}
		parts = append(parts, msg)
	}
	return "; the edge serves a cached copy: " + strings.Join(parts, "; ")
}

// behaviorFor is the judged behaviour a viewer request for path goes to: the first cache
// behaviour whose pattern matches, else the default one.
func behaviorFor(cfg *cftypes.DistributionConfig, views []behaviorView, path string) behaviorView {
	for _, v := range views {
		if v.Pattern != "" && patternMatch(v.Pattern, path) {
			return v
		}
	}
	if len(views) > 0 && views[0].Pattern == "" {
		return views[0]
	}
	return behaviorView{Origin: "?", Policy: "unknown"}
}

// patternMatch is CloudFront's path-pattern match (Developer Guide, "Path pattern"): * matches
// any run of characters, ? one character, case-sensitive; the pattern's leading / is optional.
func patternMatch(pattern, path string) bool {
	if !strings.HasPrefix(pattern, "/") {
		pattern = "/" + pattern
	}
	// Dynamic programming over the pattern and the path: no backtracking blow-up.
	prev := make([]bool, len(path)+1)
	prev[0] = true
	for i := 0; i < len(pattern); i++ {
		cur := make([]bool, len(path)+1)
		if pattern[i] == '*' {
			cur[0] = prev[0]
		}
		for j := 1; j <= len(path); j++ {
			switch pattern[i] {
			case '*':
				cur[j] = prev[j] || cur[j-1]
			case '?':
				cur[j] = prev[j-1]
			default:
				cur[j] = prev[j-1] && pattern[i] == path[j-1]
			}
		}
		prev = cur
	}
	return prev[len(path)]
}

// AutoReads says which of auto's reads a distribution makes them need beyond its configuration:
// a custom cache policy's (GetCachePolicy) and a VPC origin's (GetVpcOrigin), for -print-policy.
func AutoReads(ctx context.Context, h *step.Host, read step.Reader, dist string) (customPolicies, vpcOrigins bool, err error) {
	cfg, err := distributionConfig(ctx, h, read, dist)
	if err != nil {
		return false, false, err
	}
	ids := []string{}
	if d := cfg.DefaultCacheBehavior; d != nil {
		ids = append(ids, aws.ToString(d.CachePolicyId))
	}
	if cfg.CacheBehaviors != nil {
		for _, b := range cfg.CacheBehaviors.Items {
			ids = append(ids, aws.ToString(b.CachePolicyId))
		}
	}
	for _, id := range ids {
		if _, managed := managedPolicies[id]; id != "" && !managed {
			customPolicies = true
		}
	}
	for _, o := range originItems(cfg) {
		vpcOrigins = vpcOrigins || o.VpcOriginConfig != nil
	}
	return customPolicies, vpcOrigins, nil
}
