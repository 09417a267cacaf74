package cdn

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/deploystep/deploystep/deploy/settings"
)

// The lab's names: the API's load balancer (as DescribeLoadBalancers spells an ALB's DNS name),
// the bucket behind /static/*, the managed policies of infra.yaml.
const (
	labALB      = "tsa-gallery-apial-1a2b3c4d5e6f-1234567890.us-east-1.elb.amazonaws.com"
	labALBArn   = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/tsa-gallery-apial-1a2b3c4d5e6f/50dc6c495c0c9188"
	labBucket   = "tsa-gallery-databucket-1x2y3z4w5v6u.s3.us-east-1.amazonaws.com"
	cachingOff  = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
	cachingOpt  = "658327ea-f89d-4fab-a63d-7e88639e58f6"
	photosCache = "c2f3a4b5-6d7e-4f80-9a1b-2c3d4e5f6a7b"
)

type origin struct{ id, domain, kind, vpc string }
type behaviour struct {
	pattern, target, policy string
	legacyMax               *int64
}

func distConfig(origins []origin, bs []behaviour) *cftypes.DistributionConfig {
	cfg := &cftypes.DistributionConfig{Origins: &cftypes.Origins{}, CacheBehaviors: &cftypes.CacheBehaviors{}}
	for _, o := range origins {
		x := cftypes.Origin{Id: aws.String(o.id), DomainName: aws.String(o.domain)}
		switch o.kind {
		case "s3":
			x.S3OriginConfig = &cftypes.S3OriginConfig{OriginAccessIdentity: aws.String("")}
		case "vpc":
			x.VpcOriginConfig = &cftypes.VpcOriginConfig{VpcOriginId: aws.String(o.vpc)}
		default:
			x.CustomOriginConfig = &cftypes.CustomOriginConfig{OriginProtocolPolicy: cftypes.OriginProtocolPolicyHttpOnly}
		}
		cfg.Origins.Items = append(cfg.Origins.Items, x)
	}
	for i, b := range bs {
		var policy *string
		if b.policy != "" {
			policy = aws.String(b.policy)
		}
		if i == 0 {
			cfg.DefaultCacheBehavior = &cftypes.DefaultCacheBehavior{TargetOriginId: aws.String(b.target), CachePolicyId: policy, MaxTTL: b.legacyMax}
			continue
		}
		cfg.CacheBehaviors.Items = append(cfg.CacheBehaviors.Items, cftypes.CacheBehavior{PathPattern: aws.String(b.pattern),
			TargetOriginId: aws.String(b.target), CachePolicyId: policy, MaxTTL: b.legacyMax})
	}
	return cfg
}

func TestDecideAuto(t *testing.T) {
	lab := []origin{{"Fargate-Endpoint", labALB, "", ""}, {"S3-Website", labBucket, "s3", ""}}
	release := releaseOrigins{dns: map[string]string{labALB: "api"}, arns: map[string]string{labALBArn: "api"}}
	facts := cacheFacts{release: release, policies: map[string]policyTTL{photosCache: {"tsa-gallery-api-photos", 0, 3600, 86400}},
		missing: map[string]string{}, vpc: map[string]string{"vo_1a2b3c4d5e6f7a8b9c0d1e": labALBArn, "vo_other": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/other/0123456789abcdef"}}
	zero, hour := int64(0), int64(3600)
	cases := []struct {
		name    string
		origins []origin
		bs      []behaviour
		facts   func(cacheFacts) cacheFacts
		paths   string // "" for no invalidation
		reason  string
	}{
		{"the lab: the API does not cache, the bucket is not the release's", lab,
			[]behaviour{{"", "Fargate-Endpoint", cachingOff, nil}, {"/static/*", "S3-Website", cachingOpt, nil}}, nil,
			"", "the default behaviour (*) → api cannot cache (Managed-CachingDisabled, max TTL 0); behaviour /static/* goes to an S3 origin"},
		{"a cached API path", lab,
			[]behaviour{{"", "Fargate-Endpoint", cachingOff, nil}, {"/static/*", "S3-Website", cachingOpt, nil}, {"/api/photos*", "Fargate-Endpoint", photosCache, nil}}, nil,
			"/api/photos*", "behaviour /api/photos* → api's load balancer (tsa-gallery-api-photos, max TTL 86400)"},
		{"the API cached by default: /* covers the rest", lab,
			[]behaviour{{"", "Fargate-Endpoint", cachingOpt, nil}, {"/api/photos*", "Fargate-Endpoint", photosCache, nil}}, nil,
			"/*", "the default behaviour (*) → api's load balancer"},
		{"a pattern without a wildcard, and one without its slash", lab,
			[]behaviour{{"", "S3-Website", cachingOpt, nil}, {"/index.html", "Fargate-Endpoint", photosCache, nil}, {"api/v?/photos/*.jpg", "Fargate-Endpoint", photosCache, nil}}, nil,
			"/index.html* /api/v*", ""},
		{"patterns one covers", lab,
			[]behaviour{{"", "S3-Website", cachingOpt, nil}, {"/api/*", "Fargate-Endpoint", photosCache, nil}, {"/api/photos*", "Fargate-Endpoint", photosCache, nil}}, nil,
			"/api/*", ""},
		{"legacy TTLs: MaxTTL 0 cannot cache, unset MaxTTL is a year", lab,
			[]behaviour{{"", "Fargate-Endpoint", "", &zero}, {"/api/photos*", "Fargate-Endpoint", "", nil}}, nil,
			"/api/photos*", "legacy TTLs, max TTL 31536000"},
		{"legacy TTLs of an hour", lab,
			[]behaviour{{"", "Fargate-Endpoint", "", &hour}}, nil, "/*", "legacy TTLs, max TTL 3600"},
		{"upper-case DNS name with a dualstack prefix and a trailing dot", []origin{{"api", "dualstack." + strings.ToUpper(labALB) + ".", "", ""}},
			[]behaviour{{"", "api", cachingOpt, nil}}, nil, "/*", "→ api's load balancer"},
		{"an S3 website endpoint as a custom origin is S3", []origin{{"site", "tsa-gallery-site.s3-website-us-east-1.amazonaws.com", "", ""}, {"api", labALB, "", ""}},
			[]behaviour{{"", "site", cachingOpt, nil}, {"/api/*", "api", cachingOff, nil}}, nil, "", "goes to an S3 origin (site)"},
		{"a VPC origin to the release's load balancer", []origin{{"api", "vo.internal", "vpc", "vo_1a2b3c4d5e6f7a8b9c0d1e"}},
			[]behaviour{{"", "api", cachingOpt, nil}}, nil, "/*", "→ api's load balancer"},
		{"a VPC origin to another load balancer", []origin{{"api", labALB, "", ""}, {"other", "vo.internal", "vpc", "vo_other"}},
			[]behaviour{{"", "api", cachingOff, nil}, {"/other/*", "other", cachingOpt, nil}}, nil, "", "VPC origin to arn:aws:elasticloadbalancing"},
		{"another load balancer's domain is not the release's", []origin{{"api", labALB, "", ""}, {"legacy", "legacy-alb-987654321.us-east-1.elb.amazonaws.com", "", ""}},
			[]behaviour{{"", "api", cachingOff, nil}, {"/legacy/*", "legacy", cachingOpt, nil}}, nil, "", "another load balancer, legacy-alb-987654321"},
		// Fallbacks: never fewer paths than could be stale.
		{"a CNAME origin that can cache", []origin{{"api", "api.tsa-gallery.example.com", "", ""}},
			[]behaviour{{"", "api", cachingOpt, nil}}, nil, "/*", "/* because the default behaviour (*) can cache (Managed-CachingOptimized, max TTL 31536000) and custom origin api.tsa-gallery.example.com is none of the services' load balancers"},
		{"a CNAME origin that cannot cache needs nothing", []origin{{"api", "api.tsa-gallery.example.com", "", ""}},
			[]behaviour{{"", "api", cachingOff, nil}}, nil, "", "cannot cache"},
		{"a custom policy that cannot be read", lab,
			[]behaviour{{"", "Fargate-Endpoint", cachingOff, nil}, {"/api/photos*", "Fargate-Endpoint", "0f1e2d3c-4b5a-4968-8776-655443322110", nil}},
			func(f cacheFacts) cacheFacts {
				f.missing = map[string]string{"0f1e2d3c-4b5a-4968-8776-655443322110": "GetCachePolicy: access denied: AccessDenied"}
				return f
			}, "/*", "/* because behaviour /api/photos* (origin Fargate-Endpoint) uses cache policy 0f1e2d3c-4b5a-4968-8776-655443322110: GetCachePolicy: access denied"},
		{"a VPC origin that cannot be read", []origin{{"api", "vo.internal", "vpc", "vo_unread"}},
			[]behaviour{{"", "api", cachingOpt, nil}}, nil, "/*", "VPC origin vo_unread could not be read"},
		{"a service without a load balancer", lab,
			[]behaviour{{"", "Fargate-Endpoint", cachingOff, nil}, {"/api/photos*", "Fargate-Endpoint", photosCache, nil}},
			func(f cacheFacts) cacheFacts {
				f.release.unknown = []string{"service worker has no load balancer, so no origin can be told to be its"}
				return f
			}, "/*", "/* because service worker has no load balancer, so no origin can be told to be its, and behaviour /api/photos* can cache"},
		{"a service without a load balancer, nothing cacheable", lab,
			[]behaviour{{"", "Fargate-Endpoint", cachingOff, nil}, {"/static/*", "S3-Website", cachingOpt, nil}},
			func(f cacheFacts) cacheFacts {
				f.release.unknown = []string{"service worker has no load balancer"}
				return f
			}, "", "nothing the release serves can be cached"},
		{"a behaviour naming an origin the configuration lacks", lab,
			[]behaviour{{"", "Fargate-Endpoint", cachingOff, nil}, {"/x/*", "Gone", cachingOpt, nil}}, nil, "/*", "origin Gone is not in the configuration"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := facts
			if c.facts != nil {
				f = c.facts(f)
			}
			cfg := distConfig(c.origins, c.bs)
			d := decideAuto(judgeBehaviors(cfg, f), f.release)
			if got := strings.Join(d.Paths, " "); got != c.paths {
				t.Errorf("paths %q, want %q (reason: %s)", got, c.paths, d.Reason)
			}
			if !strings.Contains(d.Reason, c.reason) {
				t.Errorf("reason %q, want it to say %q", d.Reason, c.reason)
			}
			if d.Mode != settings.ModeAuto {
				t.Errorf("mode %q", d.Mode)
			}
		})
	}
}

// An origin group is the release's when a member is, and cannot be told when a member cannot.
func TestDecideAutoOriginGroups(t *testing.T) {
	f := cacheFacts{release: releaseOrigins{dns: map[string]string{labALB: "api"}}}
	group := func(members ...string) *cftypes.DistributionConfig {
		cfg := distConfig([]origin{{"api", labALB, "", ""}, {"backup", labBucket, "s3", ""}, {"cname", "api.example.com", "", ""}},
			[]behaviour{{"", "failover", cachingOpt, nil}})
		g := cftypes.OriginGroup{Id: aws.String("failover"), Members: &cftypes.OriginGroupMembers{}}
		for _, m := range members {
			g.Members.Items = append(g.Members.Items, cftypes.OriginGroupMember{OriginId: aws.String(m)})
		}
		cfg.OriginGroups = &cftypes.OriginGroups{Items: []cftypes.OriginGroup{g}}
		return cfg
	}
	if d := decideAuto(judgeBehaviors(group("backup", "api"), f), f.release); strings.Join(d.Paths, " ") != "/*" || !strings.Contains(d.Reason, "api's load balancer") {
		t.Errorf("api in a group with a bucket: %+v", d)
	}
	if d := decideAuto(judgeBehaviors(group("api", "cname"), f), f.release); !strings.HasPrefix(d.Reason, "/* because") {
		t.Errorf("a group with a CNAME member: %+v", d)
	}
}

// More wildcard paths than CloudFront lets be in progress, or than a token carries, give /*.
func TestDecideAutoLimits(t *testing.T) {
	f := cacheFacts{release: releaseOrigins{dns: map[string]string{labALB: "api"}}}
	bs := []behaviour{{"", "api", cachingOff, nil}}
	for i := 0; i < 16; i++ {
		bs = append(bs, behaviour{pattern: "/api/v" + string(rune('a'+i)) + "/*", target: "api", policy: cachingOpt})
	}
	d := decideAuto(judgeBehaviors(distConfig([]origin{{"api", labALB, "", ""}}, bs), f), f.release)
	if strings.Join(d.Paths, " ") != "/*" || !strings.Contains(d.Reason, "16 wildcard paths, more than the 15") {
		t.Errorf("16 behaviours: %+v", d)
	}
	long := []behaviour{{"", "api", cachingOff, nil}}
	for i := 0; i < 4; i++ {
		long = append(long, behaviour{pattern: "/" + strings.Repeat(string(rune('a'+i)), 200) + "/*", target: "api", policy: cachingOpt})
	}
	d = decideAuto(judgeBehaviors(distConfig([]origin{{"api", labALB, "", ""}}, long), f), f.release)
	if strings.Join(d.Paths, " ") != "/*" || !strings.Contains(d.Reason, "characters of paths") {
		t.Errorf("long patterns: %+v", d)
	}
}

// CloudFront's path-pattern rules (Developer Guide, "Path pattern"): * any run, ? one
// character, case-sensitive, the leading / optional.
func TestPatternMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, path string
		want          bool
	}{
		{"/api/photos*", "/api/photos", true},
		{"/api/photos*", "/api/photos/42", true},
		{"/api/photos*", "/api/photo", false},
		{"images/*.jpg", "/images/cat.jpg", true},
		{"/images/*.jpg", "/images/a/b.jpg", true},
		{"/images/*.jpg", "/images/cat.png", false},
		{"/v?/x", "/v1/x", true},
		{"/v?/x", "/v10/x", false},
		{"/API/*", "/api/x", false},
		{"*", "/anything", true},
		{"/*.gif", "/a.gif", true},
		{"/static/*", "/static", false},
	} {
		if got := patternMatch(c.pattern, c.path); got != c.want {
			t.Errorf("patternMatch(%q, %q) = %v, want %v", c.pattern, c.path, got, c.want)
		}
	}
	// Linear, not exponential: a long run of stars against a long path ends at once.
	if patternMatch(strings.Repeat("*a", 30)+"b", "/"+strings.Repeat("a", 2000)) {
		t.Error("no b in the path")
	}
}

func TestInvalidationPath(t *testing.T) {
	for pattern, want := range map[string]string{"": "/*", "/api/photos*": "/api/photos*", "images/*.jpg": "/images/*",
		"/index.html": "/index.html*", "/v?/x": "/v*", "*": "/*", "/*.gif": "/*"} {
		if got := invalidationPath(pattern); got != want {
			t.Errorf("invalidationPath(%q) = %q, want %q", pattern, got, want)
		}
	}
	if got := strings.Join(coverPaths([]string{"/api/photos*", "/api/*", "/static/x*", "/api/*"}), " "); got != "/api/* /static/x*" {
		t.Errorf("coverPaths = %q", got)
	}
}
