package awsim

// A distribution's configuration: origins, cache behaviours, cache policies, VPC origins and
// CacheTagConfig, as GetDistribution, GetDistributionConfig, GetCachePolicy and GetVpcOrigin
// answer them, and as the edge (edge.go) applies them. What it models, and where from:
//
//   - a request goes to the first cache behaviour whose PathPattern matches its path, else to
//     the default behaviour; in a pattern * matches 0 or more characters and ? exactly one, the
//     match is case-sensitive, and the leading / may be left out (Developer Guide, "Path pattern");
//   - an object's TTL is the policy's DefaultTTL when the origin sends no Cache-Control (awsim's
//     origins send none), within MinTTL and MaxTTL; a MaxTTL of 0 caches nothing (Developer Guide,
//     "Manage how long content stays in the cache (expiration)");
//   - the managed cache policies by id, with their TTLs (Developer Guide, "Use managed cache
//     policies"); GetCachePolicy answers them as AWS does, Type managed;
//   - a behaviour with ForwardedValues (legacy cache settings) caches for its own MinTTL,
//     DefaultTTL and MaxTTL (defaults 0, 86400, 31536000: API reference, CacheBehavior);
//   - CacheTagConfig.HeaderName names the origin response header whose comma-separated values
//     are the object's cache tags (API reference, CacheTagConfig).
//
// Without Behaviors a distribution is what it always was: one origin, Fargate-Endpoint, the load
// balancer of its Origin service, and a default behaviour that caches for CacheTTL (a custom
// policy with that TTL, or Managed-CachingDisabled at 0).

import (
	"encoding/xml"
	"fmt"
	"strings"
	"time"
)

// OriginSpec is one origin of a distribution.
type OriginSpec struct {
	ID string `json:"id"`
	// Service is "cluster/service": the origin is that service's load balancer (its DNS name, or
	// with VPC a VPC origin to its ARN). S3 makes it an S3 bucket's REST endpoint; Domain a
	// custom origin of that domain name that is none of the world's load balancers (with Service
	// too, a proxy in front of the service: the configuration names Domain, the service answers).
	Service string `json:"service,omitempty"`
	VPC     bool   `json:"vpc,omitempty"`
	S3      bool   `json:"s3,omitempty"`
	Domain  string `json:"domain,omitempty"`
}

// BehaviorSpec is one cache behaviour; a distribution's first is its default behaviour (no
// PathPattern).
type BehaviorSpec struct {
	PathPattern string `json:"pathPattern,omitempty"`
	Origin      string `json:"origin"`
	// CachePolicy is a managed policy's name ("Managed-CachingDisabled") or id, or the id of a
	// Config.CachePolicies entry; "" with Legacy.
	CachePolicy string     `json:"cachePolicy,omitempty"`
	Legacy      *LegacyTTL `json:"legacy,omitempty"`
}

// LegacyTTL is a behaviour's legacy cache settings (ForwardedValues), in seconds.
type LegacyTTL struct {
	MinTTL     int64 `json:"minTTL"`
	DefaultTTL int64 `json:"defaultTTL"`
	MaxTTL     int64 `json:"maxTTL"`
}

// CachePolicySpec is a custom cache policy, in seconds.
type CachePolicySpec struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	MinTTL     int64  `json:"minTTL"`
	DefaultTTL int64  `json:"defaultTTL"`
	MaxTTL     int64  `json:"maxTTL"`
}

// managedPolicies are CloudFront's managed cache policies (Developer Guide, "Use managed cache
// policies": each policy's id and its minimum, default and maximum TTL).
var managedPolicies = []CachePolicySpec{
	{ID: "2e54312d-136d-493c-8eb9-b001f22f67d2", Name: "Amplify", MinTTL: 2, DefaultTTL: 2, MaxTTL: 600},
	{ID: "4135ea2d-6df8-44a3-9df3-4b5a84be39ad", Name: "Managed-CachingDisabled", MinTTL: 0, DefaultTTL: 0, MaxTTL: 0},
	{ID: "658327ea-f89d-4fab-a63d-7e88639e58f6", Name: "Managed-CachingOptimized", MinTTL: 1, DefaultTTL: 86400, MaxTTL: 31536000},
	{ID: "b2884449-e4de-46a7-ac36-70bc7f1ddd6d", Name: "Managed-CachingOptimizedForUncompressedObjects", MinTTL: 1, DefaultTTL: 86400, MaxTTL: 31536000},
	{ID: "08627262-05a9-4f76-9ded-b50ca2e3a84f", Name: "Managed-Elemental-MediaPackage", MinTTL: 0, DefaultTTL: 86400, MaxTTL: 31536000},
	{ID: "83da9c7e-98b4-4e11-a168-04f0df8e2c65", Name: "UseOriginCacheControlHeaders", MinTTL: 0, DefaultTTL: 0, MaxTTL: 31536000},
	{ID: "4cc15a8a-d715-48a4-82b8-cc0b614638fe", Name: "UseOriginCacheControlHeaders-QueryStrings", MinTTL: 0, DefaultTTL: 0, MaxTTL: 31536000},
}

// ManagedCachingDisabled and ManagedCachingOptimized are the managed policies the lab uses.
const (
	ManagedCachingDisabled  = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
	ManagedCachingOptimized = "658327ea-f89d-4fab-a63d-7e88639e58f6"
)

// policy is a cache policy by id or name: managed, the world's, or the one a distribution
// without behaviours makes of its CacheTTL.
func (w *cfWorld) policy(ref string) (CachePolicySpec, bool, bool) {
	for _, p := range managedPolicies {
		if p.ID == ref || p.Name == ref {
			return p, true, true
		}
	}
	for _, p := range w.policies {
		if p.ID == ref {
			return p, false, true
		}
	}
	return CachePolicySpec{}, false, false
}

// ttlPolicyID is the id of the custom policy a distribution without behaviours caches with.
func ttlPolicyID(dist string) string {
	h := fakeDigest("policy/" + dist)[7:]
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
}

// resolveConfig fills in a distribution's origins and behaviours when its spec has none.
func (w *cfWorld) resolveConfig(d *DistributionSpec) {
	if len(d.Behaviors) > 0 {
		return
	}
	d.Origins = []OriginSpec{{ID: "Fargate-Endpoint", Service: d.Origin}}
	b := BehaviorSpec{Origin: "Fargate-Endpoint", CachePolicy: ManagedCachingDisabled}
	if d.CacheTTL > 0 {
		secs := int64((d.CacheTTL.D() + time.Second - 1) / time.Second)
		p := CachePolicySpec{ID: ttlPolicyID(d.ID), Name: "awsim-" + d.ID + "-ttl", MinTTL: 0, DefaultTTL: secs, MaxTTL: secs}
		w.policies = append(w.policies, p)
		b.CachePolicy = p.ID
	}
	d.Behaviors = []BehaviorSpec{b}
}

// behaviorFor is the behaviour a viewer request for path goes to.
func (d *distribution) behaviorFor(path string) BehaviorSpec {
	for _, b := range d.spec.Behaviors[1:] {
		if pathMatch(b.PathPattern, path) {
			return b
		}
	}
	return d.spec.Behaviors[0]
}

// originOf is the origin a behaviour sends requests to.
func (d *distribution) originOf(b BehaviorSpec) OriginSpec {
	for _, o := range d.spec.Origins {
		if o.ID == b.Origin {
			return o
		}
	}
	return OriginSpec{ID: b.Origin}
}

// ttl is how long the edge keeps an object the behaviour got from an origin that sent no
// Cache-Control: DefaultTTL within MinTTL and MaxTTL. A distribution without behaviours keeps
// CacheTTL exactly (it may be under a second in scaled-down tests).
func (w *cfWorld) ttl(d *distribution, b BehaviorSpec) time.Duration {
	if len(d.spec.Behaviors) == 1 && b.CachePolicy == ttlPolicyID(d.spec.ID) {
		return d.spec.CacheTTL.D()
	}
	var p CachePolicySpec
	if b.Legacy != nil {
		p = CachePolicySpec{MinTTL: b.Legacy.MinTTL, DefaultTTL: b.Legacy.DefaultTTL, MaxTTL: b.Legacy.MaxTTL}
	} else if got, _, ok := w.policy(b.CachePolicy); ok {
		p = got
	}
	secs := min(max(p.DefaultTTL, p.MinTTL), p.MaxTTL)
	return time.Duration(secs) * time.Second
}

// pathMatch is CloudFront's path-pattern match: * any run of characters, ? one character, the
// leading / optional in the pattern, case-sensitive.
func pathMatch(pattern, path string) bool {
	if !strings.HasPrefix(pattern, "/") {
		pattern = "/" + pattern
	}
	var match func(p, s string) bool
	match = func(p, s string) bool {
		for len(p) > 0 {
			switch p[0] {
			case '*':
				for i := 0; i <= len(s); i++ {
					if match(p[1:], s[i:]) {
						return true
					}
				}
				return false
			case '?':
				if len(s) == 0 {
					return false
				}
			default:
				if len(s) == 0 || s[0] != p[0] {
					return false
				}
			}
			p, s = p[1:], s[1:]
		}
		return len(s) == 0
	}
	return match(pattern, path)
}

// vpcOriginID is the id of the VPC origin an origin of a distribution names.
func vpcOriginID(dist, origin string) string {
	return "vo_" + strings.ToUpper(fakeDigest(dist + "/" + origin)[7:29])
}

// The configuration as the API renders it (REST-XML, 2020-05-31).
type (
	xmlQuantity struct {
		Quantity int `xml:"Quantity"`
	}
	xmlOrigin struct {
		ID                 string       `xml:"Id"`
		DomainName         string       `xml:"DomainName"`
		OriginPath         string       `xml:"OriginPath"`
		CustomHeaders      xmlQuantity  `xml:"CustomHeaders"`
		S3OriginConfig     *xmlS3Origin `xml:"S3OriginConfig,omitempty"`
		CustomOriginConfig *struct {
			HTTPPort             int    `xml:"HTTPPort"`
			HTTPSPort            int    `xml:"HTTPSPort"`
			OriginProtocolPolicy string `xml:"OriginProtocolPolicy"`
		} `xml:"CustomOriginConfig,omitempty"`
		VpcOriginConfig *struct {
			VpcOriginID string `xml:"VpcOriginId"`
		} `xml:"VpcOriginConfig,omitempty"`
		ConnectionAttempts    int    `xml:"ConnectionAttempts"`
		ConnectionTimeout     int    `xml:"ConnectionTimeout"`
		OriginAccessControlID string `xml:"OriginAccessControlId"`
	}
	xmlS3Origin struct {
		OriginAccessIdentity string `xml:"OriginAccessIdentity"`
	}
	xmlBehavior struct {
		PathPattern          string `xml:"PathPattern,omitempty"`
		TargetOriginID       string `xml:"TargetOriginId"`
		ViewerProtocolPolicy string `xml:"ViewerProtocolPolicy"`
		CachePolicyID        string `xml:"CachePolicyId,omitempty"`
		ForwardedValues      *struct {
			QueryString bool `xml:"QueryString"`
			Cookies     struct {
				Forward string `xml:"Forward"`
			} `xml:"Cookies"`
		} `xml:"ForwardedValues,omitempty"`
		MinTTL     *int64 `xml:"MinTTL,omitempty"`
		DefaultTTL *int64 `xml:"DefaultTTL,omitempty"`
		MaxTTL     *int64 `xml:"MaxTTL,omitempty"`
	}
	xmlDistributionConfig struct {
		XMLName         xml.Name    `xml:"DistributionConfig"`
		NS              string      `xml:"xmlns,attr,omitempty"`
		CallerReference string      `xml:"CallerReference"`
		Aliases         xmlQuantity `xml:"Aliases"`
		Origins         struct {
			Quantity int         `xml:"Quantity"`
			Items    []xmlOrigin `xml:"Items>Origin"`
		} `xml:"Origins"`
		DefaultCacheBehavior xmlBehavior `xml:"DefaultCacheBehavior"`
		CacheBehaviors       struct {
			Quantity int           `xml:"Quantity"`
			Items    []xmlBehavior `xml:"Items>CacheBehavior"`
		} `xml:"CacheBehaviors"`
		Comment        string `xml:"Comment"`
		Enabled        bool   `xml:"Enabled"`
		CacheTagConfig *struct {
			HeaderName string `xml:"HeaderName"`
		} `xml:"CacheTagConfig,omitempty"`
	}
)

// configXML renders a distribution's configuration.
func (w *cfWorld) configXML(d *distribution) xmlDistributionConfig {
	c := xmlDistributionConfig{CallerReference: "awsim-" + d.spec.ID, Comment: "awsim distribution", Enabled: true}
	for _, o := range d.spec.Origins {
		x := xmlOrigin{ID: o.ID, ConnectionAttempts: 3, ConnectionTimeout: 10}
		switch {
		case o.S3:
			x.DomainName = "tsa-gallery-data-" + strings.ToLower(d.spec.ID[1:9]) + ".s3." + w.s.cfg.Region + ".amazonaws.com"
			x.S3OriginConfig = &xmlS3Origin{}
			x.OriginAccessControlID = "E" + strings.ToUpper(fakeDigest("oac/" + d.spec.ID)[7:19])
		case o.Service != "" && o.VPC:
			x.DomainName = w.s.ecs.originDomain(o.Service)
			x.VpcOriginConfig = &struct {
				VpcOriginID string `xml:"VpcOriginId"`
			}{vpcOriginID(d.spec.ID, o.ID)}
		default:
			x.DomainName = o.Domain
			if x.DomainName == "" {
				x.DomainName = w.s.ecs.originDomain(o.Service)
			}
			x.CustomOriginConfig = &struct {
				HTTPPort             int    `xml:"HTTPPort"`
				HTTPSPort            int    `xml:"HTTPSPort"`
				OriginProtocolPolicy string `xml:"OriginProtocolPolicy"`
			}{80, 443, "http-only"}
		}
		c.Origins.Items = append(c.Origins.Items, x)
	}
	c.Origins.Quantity = len(c.Origins.Items)
	for i, b := range d.spec.Behaviors {
		x := xmlBehavior{PathPattern: b.PathPattern, TargetOriginID: b.Origin, ViewerProtocolPolicy: "redirect-to-https"}
		if b.Legacy != nil {
			x.ForwardedValues = &struct {
				QueryString bool `xml:"QueryString"`
				Cookies     struct {
					Forward string `xml:"Forward"`
				} `xml:"Cookies"`
			}{}
			x.ForwardedValues.Cookies.Forward = "none"
			l := *b.Legacy
			x.MinTTL, x.DefaultTTL, x.MaxTTL = &l.MinTTL, &l.DefaultTTL, &l.MaxTTL
		} else if p, _, ok := w.policy(b.CachePolicy); ok {
			x.CachePolicyID = p.ID
		} else {
			x.CachePolicyID = b.CachePolicy
		}
		if i == 0 {
			x.PathPattern = ""
			c.DefaultCacheBehavior = x
			continue
		}
		c.CacheBehaviors.Items = append(c.CacheBehaviors.Items, x)
	}
	c.CacheBehaviors.Quantity = len(c.CacheBehaviors.Items)
	if d.spec.CacheTagHeader != "" {
		c.CacheTagConfig = &struct {
			HeaderName string `xml:"HeaderName"`
		}{d.spec.CacheTagHeader}
	}
	return c
}

func (w *cfWorld) getDistributionConfig(d *distribution) cfAnswer {
	c := w.configXML(d)
	c.NS = cfNS
	return cfAnswer{200, c, map[string]string{"ETag": w.etag(d.spec.ID)}}
}

func (w *cfWorld) etag(id string) string {
	return "E" + strings.ToUpper(fakeDigest("etag/" + id)[7:19])
}

// getCachePolicy answers GetCachePolicy: a managed policy (Type managed) or the world's.
func (w *cfWorld) getCachePolicy(id string) (cfAnswer, *apiError) {
	p, managed, ok := w.policy(id)
	if !ok || p.ID != id {
		return cfAnswer{}, errf(404, "NoSuchCachePolicy", "The cache policy does not exist.")
	}
	type config struct {
		Comment    string `xml:"Comment"`
		Name       string `xml:"Name"`
		DefaultTTL int64  `xml:"DefaultTTL"`
		MaxTTL     int64  `xml:"MaxTTL"`
		MinTTL     int64  `xml:"MinTTL"`
		Params     struct {
			Gzip    bool   `xml:"EnableAcceptEncodingGzip"`
			Headers string `xml:"HeadersConfig>HeaderBehavior"`
			Cookies string `xml:"CookiesConfig>CookieBehavior"`
			Queries string `xml:"QueryStringsConfig>QueryStringBehavior"`
		} `xml:"ParametersInCacheKeyAndForwardedToOrigin"`
	}
	out := struct {
		XMLName  xml.Name `xml:"CachePolicy"`
		NS       string   `xml:"xmlns,attr"`
		ID       string   `xml:"Id"`
		Modified string   `xml:"LastModifiedTime"`
		Config   config   `xml:"CachePolicyConfig"`
	}{NS: cfNS, ID: p.ID, Modified: "2026-10-01T08:00:00Z", Config: config{Name: p.Name, DefaultTTL: p.DefaultTTL, MaxTTL: p.MaxTTL, MinTTL: p.MinTTL}}
	out.Config.Params.Headers, out.Config.Params.Cookies, out.Config.Params.Queries = "none", "none", "none"
	if managed {
		out.Config.Comment = "Managed policy"
	}
	return cfAnswer{200, out, map[string]string{"ETag": w.etag(p.ID)}}, nil
}

// getVpcOrigin answers GetVpcOrigin for the VPC origins the distributions' specs name.
func (w *cfWorld) getVpcOrigin(id string) (cfAnswer, *apiError) {
	for _, did := range w.order {
		d := w.dists[did]
		for _, o := range d.spec.Origins {
			if !o.VPC || vpcOriginID(d.spec.ID, o.ID) != id {
				continue
			}
			svc := w.s.ecs.originService(o.Service)
			lb, ok := loadBalancer{}, false
			if svc != nil {
				lb, ok = w.s.ecs.loadBalancerOf(svc)
			}
			if !ok {
				break
			}
			type endpoint struct {
				Name     string `xml:"Name"`
				Arn      string `xml:"Arn"`
				HTTPPort int    `xml:"HTTPPort"`
				HTTPS    int    `xml:"HTTPSPort"`
				Policy   string `xml:"OriginProtocolPolicy"`
			}
			out := struct {
				XMLName  xml.Name `xml:"VpcOrigin"`
				NS       string   `xml:"xmlns,attr"`
				ID       string   `xml:"Id"`
				Arn      string   `xml:"Arn"`
				Account  string   `xml:"AccountId"`
				Status   string   `xml:"Status"`
				Created  string   `xml:"CreatedTime"`
				Modified string   `xml:"LastModifiedTime"`
				Endpoint endpoint `xml:"VpcOriginEndpointConfig"`
			}{NS: cfNS, ID: id, Arn: fmt.Sprintf("arn:aws:cloudfront::%s:vpcorigin/%s", w.s.cfg.Account, id), Account: w.s.cfg.Account,
				Status: "Deployed", Created: "2026-10-01T08:00:00Z", Modified: "2026-10-01T08:00:00Z",
				Endpoint: endpoint{lb.name, lb.arn, 80, 443, "http-only"}}
			return cfAnswer{200, out, map[string]string{"ETag": w.etag(id)}}, nil
		}
	}
	return cfAnswer{}, errf(404, "EntityNotFound", "The VPC origin does not exist.")
}
