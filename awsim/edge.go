package awsim

// The edge: one HTTP listener per distribution (127.0.0.1, closed with the server), standing for
// https://<distribution>.cloudfront.net in front of its origins: the ECS services' load
// balancers, an S3 bucket, another custom origin (cloudfront_config.go). It lets deploystep's
// VERIFY_URL be proven against something with CloudFront's caching behaviour. What it models,
// and where that comes from (CloudFront Developer Guide):
//
//   - a request goes to the cache behaviour its path matches, and from there to its origin;
//   - responses to GET and HEAD are cached per path for the behaviour's TTL ("CloudFront
//     always caches responses to GET and HEAD requests"; the TTL is its cache policy's DefaultTTL
//     within MinTTL and MaxTTL, as for an origin that sends no Cache-Control);
//   - error responses (4xx, 5xx) are cached for ErrorTTL, default 10 s ("CloudFront caches error
//     responses for a default duration of 10 seconds");
//   - a cached path is dropped when an invalidation that covers it completes: the exact path, or
//     a path ending in * as a prefix ("/*" covers everything), or #tag for an object whose
//     CacheTagConfig header named that tag, case-insensitively (Developer Guide, "What you need
//     to know when invalidating tags");
//   - every answer carries X-Cache ("Hit from cloudfront", "Miss from cloudfront", "Error from
//     cloudfront"), Via ("1.1 <id>.cloudfront.net (CloudFront)") and, on hits, Age (seconds in
//     the cache);
//   - a service origin answers /api/health with {"status":"ok","version":V}, V the image tag of
//     the deployment serving traffic (the PRIMARY once COMPLETED or, with traffic shifting, once
//     it takes all production traffic; else the deployment before it); other paths with a page
//     that names V; under a prefix of its CacheTags, with the cache tags in the distribution's
//     CacheTagConfig header. A service whose spec sets OriginStatus answers that status from its
//     new revision. An S3 origin answers every path with a static asset no release changes.
//
// Simplified: one edge location (no per-POP caches, no regional edge cache); the cache key is
// the path (no query strings, headers or cookies); origins send no Cache-Control; an expired
// object is refetched even when the origin answers 5xx (CloudFront may serve the stale object
// then); invalidation is instant at completion.

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
)

// defaultErrorTTL is CloudFront's default error caching minimum TTL.
const defaultErrorTTL = 10 * time.Second

type edge struct {
	s     *Server
	dist  *distribution
	url   string
	http  *http.Server
	cache map[string]*cached
	log   []EdgeHit
	seq   int
}

type cached struct {
	origin  string   // the origin's id
	tags    []string // its cache tags, lower case
	version string   // the version the origin reported ("" for an error)
	status  int
	body    []byte
	ctype   string
	stored  time.Time
	ttl     time.Duration
}

// EdgeHit is one viewer request the edge answered.
type EdgeHit struct {
	Time         time.Time `json:"time"`
	Distribution string    `json:"distribution"`
	Path         string    `json:"path"`
	Status       int       `json:"status"`
	XCache       string    `json:"xCache"`
	Version      string    `json:"version,omitempty"` // the version the answer carried
	Origin       string    `json:"origin,omitempty"`  // the id of the origin behind the answer
}

// startEdges serves each distribution's edge on 127.0.0.1 and warms its cache with the paths
// its spec lists (what the release before this one left there).
func (s *Server) startEdges() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.cf.order {
		d := s.cf.dists[id]
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		e := &edge{s: s, dist: d, url: "http://" + ln.Addr().String(), cache: map[string]*cached{}}
		e.http = &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
		d.edge = e
		go e.http.Serve(ln) //nolint:errcheck // returns on Close
		now := time.Now()
		for _, p := range d.spec.Warm {
			e.fetch(p, now)
		}
	}
	return nil
}

// EdgeURL is the viewer URL of a distribution's edge (http://127.0.0.1:port), "" when unknown.
func (s *Server) EdgeURL(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.cf.dists[id]; ok && d.edge != nil {
		return d.edge.url
	}
	return ""
}

// EdgeHits returns a copy of the edges' request log.
func (s *Server) EdgeHits() []EdgeHit {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []EdgeHit
	for _, id := range s.cf.order {
		if e := s.cf.dists[id].edge; e != nil {
			out = append(out, e.log...)
		}
	}
	return out
}

func (s *Server) closeEdges(ctx context.Context) {
	s.mu.Lock()
	var servers []*http.Server
	for _, d := range s.cf.dists {
		if d.edge != nil {
			servers = append(servers, d.edge.http)
		}
	}
	s.mu.Unlock()
	for _, h := range servers {
		h.Shutdown(ctx) //nolint:errcheck // closing
	}
}

func (e *edge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	h := w.Header()
	h.Set("Via", "1.1 "+fakeDigest(e.dist.spec.ID)[7:39]+".cloudfront.net (CloudFront)")
	h.Set("X-Amz-Cf-Pop", "IAD89-C1")
	e.seq++
	h.Set("X-Amz-Cf-Id", fmt.Sprintf("%s-%06d", e.dist.spec.ID, e.seq))
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("X-Cache", "Error from cloudfront")
		w.WriteHeader(http.StatusForbidden)
		e.log = append(e.log, EdgeHit{time.Now(), e.dist.spec.ID, r.URL.Path, http.StatusForbidden, "Error from cloudfront", "", ""})
		return
	}
	now := time.Now()
	c, hit := e.cache[r.URL.Path], false
	if c != nil && now.Before(c.stored.Add(c.ttl)) && !e.invalidated(r.URL.Path, c, now) {
		hit = true
	} else {
		c = e.fetch(r.URL.Path, now)
	}
	xcache := "Miss from cloudfront"
	if hit {
		xcache = "Hit from cloudfront"
		h.Set("Age", fmt.Sprint(int(now.Sub(c.stored).Seconds())))
	}
	if c.status >= 400 {
		xcache = "Error from cloudfront"
	}
	h.Set("X-Cache", xcache)
	h.Set("Content-Type", c.ctype)
	if hd := e.dist.spec.CacheTagHeader; hd != "" && len(c.tags) > 0 {
		h.Set(hd, strings.Join(c.tags, ", "))
	}
	e.log = append(e.log, EdgeHit{now, e.dist.spec.ID, r.URL.Path, c.status, xcache, c.version, c.origin})
	w.WriteHeader(c.status)
	if r.Method == http.MethodGet {
		w.Write(c.body) //nolint:errcheck // the viewer went away
	}
}

// fetch asks the origin of the path's behaviour and caches the answer for its TTL.
func (e *edge) fetch(path string, now time.Time) *cached {
	b := e.dist.behaviorFor(path)
	o := e.dist.originOf(b)
	status, ctype, body, version, tags := e.origin(o, path, now)
	ttl := e.s.cf.ttl(e.dist, b)
	if status >= 400 {
		ttl = e.dist.spec.ErrorTTL.D()
		if ttl == 0 {
			ttl = defaultErrorTTL
		}
	}
	if e.dist.spec.CacheTagHeader == "" {
		tags = nil // "Distributions without CacheTagConfig do not extract tags"
	}
	c := &cached{origin: o.ID, tags: tags, version: version, status: status, body: body, ctype: ctype, stored: now, ttl: ttl}
	if ttl > 0 {
		e.cache[path] = c
	} else {
		delete(e.cache, path)
	}
	return c
}

// invalidated reports whether an invalidation covering the object at path completed after it
// was stored, by now.
func (e *edge) invalidated(path string, c *cached, now time.Time) bool {
	for _, iv := range e.dist.invalidations {
		if !iv.done.After(c.stored) || now.Before(iv.done) {
			continue
		}
		for _, p := range iv.paths {
			if tag, ok := strings.CutPrefix(p, "#"); ok {
				for _, t := range c.tags {
					if strings.EqualFold(t, tag) {
						return true
					}
				}
				continue
			}
			if p == path || strings.HasSuffix(p, "*") && strings.HasPrefix(path, strings.TrimSuffix(p, "*")) {
				return true
			}
		}
	}
	return false
}

// EdgeObject is an object in a distribution's edge cache.
type EdgeObject struct {
	Path    string `json:"path"`
	Origin  string `json:"origin"`
	Version string `json:"version,omitempty"`
	// Fresh: within its TTL and not invalidated; the next request is a hit.
	Fresh bool `json:"fresh"`
}

// EdgeObjects lists what a distribution's edge holds, by path.
func (s *Server) EdgeObjects(dist string) []EdgeObject {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.cf.dists[dist]
	if !ok || d.edge == nil {
		return nil
	}
	now := time.Now()
	var out []EdgeObject
	for _, p := range slices.Sorted(maps.Keys(d.edge.cache)) {
		c := d.edge.cache[p]
		out = append(out, EdgeObject{p, c.origin, c.version, now.Before(c.stored.Add(c.ttl)) && !d.edge.invalidated(p, c, now)})
	}
	return out
}

// origin answers a request to o: the application of its service (the version of the deployment
// serving traffic, or the status its spec makes the new revision answer), an S3 bucket's static
// asset, or another application.
func (e *edge) origin(o OriginSpec, path string, now time.Time) (status int, ctype string, body []byte, version string, tags []string) {
	switch {
	case o.S3:
		return http.StatusOK, "application/javascript", []byte("/* static asset " + path + " */"), "static", nil
	case o.Domain != "" && o.Service == "":
		return http.StatusOK, "text/html", []byte("<html><body>" + o.Domain + "</body></html>"), "other", nil
	}
	svc := e.s.ecs.originService(cmp.Or(o.Service, e.dist.spec.Origin))
	if svc == nil {
		return http.StatusBadGateway, "text/html", []byte("<html><body>502 Bad Gateway: no origin</body></html>"), "", nil
	}
	e.s.ecs.advance(svc, now)
	d := svc.serving()
	if svc.spec.OriginStatus != 0 && d != svc.initial {
		return svc.spec.OriginStatus, "text/html", []byte(fmt.Sprintf("<html><body>%d %s</body></html>", svc.spec.OriginStatus, http.StatusText(svc.spec.OriginStatus))), "", nil
	}
	for prefix, v := range svc.spec.CacheTags {
		if strings.HasPrefix(path, prefix) {
			for _, t := range strings.Split(v, ",") {
				if t = strings.ToLower(strings.TrimSpace(t)); t != "" {
					tags = append(tags, t)
				}
			}
		}
	}
	version = e.s.ecr.versionOf(d.digest)
	if path == "/api/health" {
		b, _ := json.Marshal(map[string]string{"status": "ok", "version": version})
		return http.StatusOK, "application/json", b, version, tags
	}
	return http.StatusOK, "text/html", []byte("<html><body>TSA Gallery, build " + version + "</body></html>"), version, tags
}
