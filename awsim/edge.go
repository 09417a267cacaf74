package awsim

// The edge: one HTTP listener per distribution (127.0.0.1, closed with the server), standing for
// https://<distribution>.cloudfront.net in front of an origin, the ECS service the distribution
// names. It lets deploystep's VERIFY_URL be proven against something with CloudFront's caching
// behaviour. What it models, and where that comes from (CloudFront Developer Guide):
//
//   - responses to GET and HEAD are cached per path for the distribution's CacheTTL ("CloudFront
//     always caches responses to GET and HEAD requests"; the TTL stands for the cache policy's);
//   - error responses (4xx, 5xx) are cached for ErrorTTL, default 10 s ("CloudFront caches error
//     responses for a default duration of 10 seconds");
//   - a cached path is dropped when an invalidation that covers it completes: the exact path, or
//     a path ending in * as a prefix ("/*" covers everything);
//   - every answer carries X-Cache ("Hit from cloudfront", "Miss from cloudfront", "Error from
//     cloudfront"), Via ("1.1 <id>.cloudfront.net (CloudFront)") and, on hits, Age (seconds in
//     the cache);
//   - the origin answers /api/health with {"status":"ok","version":V}, V the image tag of the
//     deployment serving traffic (the PRIMARY once COMPLETED or, with traffic shifting, once it
//     takes all production traffic; else the deployment before it); other paths with a page that
//     names V. A service whose spec sets OriginStatus answers that status from its new revision.
//
// Simplified: one edge location (no per-POP caches, no regional edge cache); the cache key is
// the path (no query strings, headers or cookies); TTLs are fixed per distribution (no
// Cache-Control from the origin); an expired object is refetched even when the origin answers
// 5xx (CloudFront may serve the stale object then); invalidation is instant at completion.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
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
	version string // the version the origin reported ("" for an error)
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
		e.log = append(e.log, EdgeHit{time.Now(), e.dist.spec.ID, r.URL.Path, http.StatusForbidden, "Error from cloudfront", ""})
		return
	}
	now := time.Now()
	c, hit := e.cache[r.URL.Path], false
	if c != nil && now.Before(c.stored.Add(c.ttl)) && !e.invalidated(r.URL.Path, c.stored, now) {
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
	e.log = append(e.log, EdgeHit{now, e.dist.spec.ID, r.URL.Path, c.status, xcache, c.version})
	w.WriteHeader(c.status)
	if r.Method == http.MethodGet {
		w.Write(c.body) //nolint:errcheck // the viewer went away
	}
}

// fetch asks the origin and caches the answer for its TTL.
func (e *edge) fetch(path string, now time.Time) *cached {
	status, ctype, body, version := e.origin(path, now)
	ttl := e.dist.spec.CacheTTL.D()
	if status >= 400 {
		ttl = e.dist.spec.ErrorTTL.D()
		if ttl == 0 {
			ttl = defaultErrorTTL
		}
	}
	c := &cached{version: version, status: status, body: body, ctype: ctype, stored: now, ttl: ttl}
	if ttl > 0 {
		e.cache[path] = c
	} else {
		delete(e.cache, path)
	}
	return c
}

// invalidated reports whether an invalidation covering path completed after stored, by now.
func (e *edge) invalidated(path string, stored, now time.Time) bool {
	for _, iv := range e.dist.invalidations {
		if !iv.done.After(stored) || now.Before(iv.done) {
			continue
		}
		for _, p := range iv.paths {
			if p == path || strings.HasSuffix(p, "*") && strings.HasPrefix(path, strings.TrimSuffix(p, "*")) {
				return true
			}
		}
	}
	return false
}

// origin is the application behind the distribution: the version of the deployment serving
// traffic, or the status its spec makes the new revision answer.
func (e *edge) origin(path string, now time.Time) (status int, ctype string, body []byte, version string) {
	svc := e.s.ecs.originService(e.dist.spec.Origin)
	if svc == nil {
		return http.StatusBadGateway, "text/html", []byte("<html><body>502 Bad Gateway: no origin</body></html>"), ""
	}
	e.s.ecs.advance(svc, now)
	d := svc.serving()
	if svc.spec.OriginStatus != 0 && d != svc.initial {
		return svc.spec.OriginStatus, "text/html", []byte(fmt.Sprintf("<html><body>%d %s</body></html>", svc.spec.OriginStatus, http.StatusText(svc.spec.OriginStatus))), ""
	}
	version = e.s.ecr.versionOf(d.digest)
	if path == "/api/health" {
		b, _ := json.Marshal(map[string]string{"status": "ok", "version": version})
		return http.StatusOK, "application/json", b, version
	}
	return http.StatusOK, "text/html", []byte("<html><body>TSA Gallery, build " + version + "</body></html>"), version
}

// originService is the service named "cluster/service", or the first service of the world.
func (w *ecsWorld) originService(name string) *service {
	cl, sv, _ := strings.Cut(name, "/")
	if name == "" && len(w.order) > 0 {
		c := w.clusters[w.order[0]]
		if len(c.order) > 0 {
			return c.services[c.order[0]]
		}
	}
	if c, ok := w.clusters[cl]; ok {
		return c.services[sv]
	}
	return nil
}

// serving is the deployment that takes production traffic.
func (svc *service) serving() *deployment {
	for _, d := range svc.deployments {
		if d.rolloutState == "COMPLETED" || d.sd != nil && d.sd.prod != nil && *d.sd.prod >= 100 {
			return d
		}
	}
	return svc.deployments[len(svc.deployments)-1]
}

// versionOf is what an application built from the image with this digest reports: the image's
// tag other than "latest", else a short form of the digest.
func (w *ecrWorld) versionOf(digest string) string {
	for _, imgs := range w.repos {
		for _, im := range imgs {
			if im.digest != digest {
				continue
			}
			for _, t := range im.tags {
				if t != "latest" {
					return t
				}
			}
		}
	}
	if len(digest) >= 19 {
		return "sha-" + digest[7:19]
	}
	return "unknown"
}
