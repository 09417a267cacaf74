package awsim

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/deploystep/deploystep/awsim/contract"
)

const cfNS = "http://cloudfront.amazonaws.com/doc/2020-05-31/"

// cfWorld holds distributions and their invalidations. Every method runs under Server.mu.
type cfWorld struct {
	s        *Server
	dists    map[string]*distribution
	order    []string          // distribution ids as configured
	policies []CachePolicySpec // custom cache policies
}

type distribution struct {
	spec          DistributionSpec
	invalidations []*invalidation
	byRef         map[string]*invalidation
	edge          *edge // the viewer-facing listener (edge.go), once served
}

type invalidation struct {
	id, callerRef string
	paths         []string
	created, done time.Time
}

func (iv *invalidation) status(now time.Time) string {
	if now.Before(iv.done) {
		return "InProgress"
	}
	return "Completed"
}

func newCloudFront(s *Server, specs []DistributionSpec, policies []CachePolicySpec) *cfWorld {
	w := &cfWorld{s: s, dists: map[string]*distribution{}, policies: append([]CachePolicySpec(nil), policies...)}
	for _, d := range specs {
		if d.InvalidationTime == 0 {
			d.InvalidationTime = Duration(time.Second)
		}
		w.resolveConfig(&d)
		w.dists[d.ID] = &distribution{spec: d, byRef: map[string]*invalidation{}}
		w.order = append(w.order, d.ID)
	}
	return w
}

type xmlPaths struct {
	Quantity int      `xml:"Quantity"`
	Items    []string `xml:"Items>Path"`
}

type xmlBatch struct {
	XMLName         xml.Name `xml:"InvalidationBatch"`
	Paths           xmlPaths `xml:"Paths"`
	CallerReference string   `xml:"CallerReference"`
}

type xmlInvalidation struct {
	XMLName    xml.Name `xml:"Invalidation"`
	NS         string   `xml:"xmlns,attr"`
	ID         string   `xml:"Id"`
	Status     string   `xml:"Status"`
	CreateTime string   `xml:"CreateTime"`
	Batch      xmlBatch `xml:"InvalidationBatch"`
}

func (w *cfWorld) render(iv *invalidation, now time.Time) xmlInvalidation {
	return xmlInvalidation{NS: cfNS, ID: iv.id, Status: iv.status(now),
		CreateTime: iv.created.UTC().Format("2006-01-02T15:04:05.000Z"),
		Batch:      xmlBatch{Paths: xmlPaths{Quantity: len(iv.paths), Items: iv.paths}, CallerReference: iv.callerRef}}
}

// serveCloudFront routes the REST-XML API under /2020-05-31/.
func (s *Server) serveCloudFront(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/2020-05-31/"), "/"), "/")
	call := Call{Time: time.Now(), Service: "CloudFront"}
	switch {
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "distribution" && parts[2] == "invalidation":
		call.Op = "CreateInvalidation"
	case r.Method == http.MethodGet && len(parts) == 4 && parts[0] == "distribution" && parts[2] == "invalidation":
		call.Op = "GetInvalidation"
	case r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "distribution" && parts[2] == "invalidation":
		call.Op = "ListInvalidations"
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "distribution":
		call.Op = "GetDistribution"
	case r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "distribution" && parts[2] == "config":
		call.Op = "GetDistributionConfig"
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "cache-policy":
		call.Op = "GetCachePolicy"
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "vpc-origin":
		call.Op = "GetVpcOrigin"
	default:
		writeXMLError(w, errf(400, "InvalidArgument", "awsim does not implement %s %s", r.Method, r.URL.Path))
		return
	}
	call.Params = map[string]string{"id": parts[1]}
	if parts[0] == "distribution" {
		call.Params = map[string]string{"distributionId": parts[1]}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return
	}
	fault, after := s.injectBefore(w, "CloudFront", call.Op, &call, cloudFrontProtocol)
	if fault {
		return
	}
	c := s.callerOf(r)
	if aerr := c.refusal("CloudFront"); aerr != nil {
		s.record(call, aerr.Status, aerr.Code)
		writeXMLError(w, aerr)
		return
	}
	var status int
	var out any
	var extra map[string]string
	var aerr *apiError
	s.mu.Lock()
	if aerr = s.authorize(iamRequest{svc: "CloudFront", op: call.Op, c: c, path: parts}, &call); aerr != nil {
		// refused by IAM before CloudFront looks
	} else if c.identity.Account == s.cfg.Account { // CloudFront is global: the region does not matter
		status, out, extra, aerr = s.cf.handle(call.Op, parts, body, &call)
	} else {
		aerr = errf(404, "NoSuchDistribution", "The specified distribution does not exist.")
		if call.Op == "GetCachePolicy" {
			aerr = errf(404, "NoSuchCachePolicy", "The cache policy does not exist.")
		} else if call.Op == "GetVpcOrigin" {
			aerr = errf(404, "EntityNotFound", "The VPC origin does not exist.")
		}
	}
	s.mu.Unlock()
	if s.answered(w, call, after, aerr, writeXMLError) {
		return
	}
	s.record(call, status, "")
	b, _ := xml.Marshal(out)
	for k, v := range extra {
		w.Header().Set(k, v)
	}
	if loc := extra["Location"]; loc != "" {
		w.Header().Set("Location", s.url+loc)
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amz-request-id", fmt.Sprintf("awsim-%d", time.Now().UnixNano()))
	w.WriteHeader(status)
	io.WriteString(w, xml.Header) //nolint:errcheck
	w.Write(b)                    //nolint:errcheck
}

// cfAnswer is a CloudFront handler's answer: status, body, headers.
type cfAnswer struct {
	status  int
	body    any
	headers map[string]string
}

func (w *cfWorld) handle(op string, parts []string, body []byte, call *Call) (int, any, map[string]string, *apiError) {
	var a cfAnswer
	var aerr *apiError
	switch op {
	case "GetCachePolicy":
		a, aerr = w.getCachePolicy(parts[1])
		return a.status, a.body, a.headers, aerr
	case "GetVpcOrigin":
		a, aerr = w.getVpcOrigin(parts[1])
		return a.status, a.body, a.headers, aerr
	}
	d, ok := w.dists[parts[1]]
	if !ok {
		return 0, nil, nil, errf(404, "NoSuchDistribution", "The specified distribution does not exist.")
	}
	now := time.Now()
	switch op {
	case "GetDistribution":
		a = w.getDistribution(d, now)
	case "GetDistributionConfig":
		a = w.getDistributionConfig(d)
	case "GetInvalidation":
		call.Params["id"] = parts[3]
		a, aerr = w.getInvalidation(d, parts[3], now)
	case "ListInvalidations":
		a = w.listInvalidations(d, now)
	case "CreateInvalidation":
		a, aerr = w.createInvalidation(d, parts[1], body, call, now)
	default:
		aerr = errf(400, "InvalidArgument", "unknown operation %s", op)
	}
	return a.status, a.body, a.headers, aerr
}

func (w *cfWorld) getDistribution(d *distribution, now time.Time) cfAnswer {
	inProgress := 0
	for _, iv := range d.invalidations {
		if iv.status(now) == "InProgress" {
			inProgress++
		}
	}
	return cfAnswer{200, distributionXML(w.s, d, inProgress), map[string]string{"ETag": "E2QWRUHAPOMQZL"}}
}

func (w *cfWorld) getInvalidation(d *distribution, id string, now time.Time) (cfAnswer, *apiError) {
	for _, iv := range d.invalidations {
		if iv.id == id {
			return cfAnswer{200, w.render(iv, now), nil}, nil
		}
	}
	return cfAnswer{}, errf(404, "NoSuchInvalidation", "The specified invalidation does not exist.")
}

func (w *cfWorld) listInvalidations(d *distribution, now time.Time) cfAnswer {
	type summary struct {
		ID         string `xml:"Id"`
		CreateTime string `xml:"CreateTime"`
		Status     string `xml:"Status"`
	}
	type list struct {
		XMLName     xml.Name  `xml:"InvalidationList"`
		NS          string    `xml:"xmlns,attr"`
		Marker      string    `xml:"Marker"`
		MaxItems    int       `xml:"MaxItems"`
		IsTruncated bool      `xml:"IsTruncated"`
		Quantity    int       `xml:"Quantity"`
		Items       []summary `xml:"Items>InvalidationSummary"`
	}
	l := list{NS: cfNS, MaxItems: 100}
	for i := len(d.invalidations) - 1; i >= 0 && len(l.Items) < 100; i-- {
		iv := d.invalidations[i]
		l.Items = append(l.Items, summary{iv.id, iv.created.UTC().Format(time.RFC3339), iv.status(now)})
	}
	l.Quantity = len(l.Items)
	return cfAnswer{200, l, nil}
}

// createInvalidation creates an invalidation, or returns the one its CallerReference made: the
// same paths are the same invalidation, other paths are InvalidationBatchAlreadyExists.
func (w *cfWorld) createInvalidation(d *distribution, id string, body []byte, call *Call, now time.Time) (cfAnswer, *apiError) {
	var in xmlBatch
	if err := xml.Unmarshal(body, &in); err != nil {
		return cfAnswer{}, errf(400, "MalformedInput", "Could not parse the request body: %v", err)
	}
	call.Params["callerReference"] = in.CallerReference
	call.Params["paths"] = strings.Join(in.Paths.Items, ",")
	if aerr := validate("CloudFront", "CreateInvalidation", invalidationInput(id, body)); aerr != nil {
		return cfAnswer{}, aerr
	}
	if len(in.Paths.Items) == 0 {
		return cfAnswer{}, errf(400, "InvalidArgument", "Paths must contain at least one item.")
	}
	for _, p := range in.Paths.Items {
		if tag, ok := strings.CutPrefix(p, "#"); ok {
			if why := contract.BadTag(tag); why != "" {
				return cfAnswer{}, errf(400, "InvalidArgument", "Your request contains an invalid tag invalidation item %q: %s.", p, why)
			}
			continue
		}
		if !strings.HasPrefix(p, "/") {
			return cfAnswer{}, errf(400, "InvalidArgument", "Your request contains one or more invalid invalidation paths.")
		}
	}
	location := func(iv *invalidation) map[string]string {
		return map[string]string{"Location": "/2020-05-31/distribution/" + id + "/invalidation/" + iv.id}
	}
	if prev, ok := d.byRef[in.CallerReference]; ok {
		if strings.Join(prev.paths, "\x00") != strings.Join(in.Paths.Items, "\x00") {
			return cfAnswer{}, errf(409, "InvalidationBatchAlreadyExists",
				"The CallerReference you attempted to create the invalidation batch with is already in use.")
		}
		return cfAnswer{201, w.render(prev, now), location(prev)}, nil
	}
	paths, wild := countPaths(in.Paths.Items)
	for _, iv := range d.invalidations {
		if iv.status(now) == "InProgress" {
			p, w := countPaths(iv.paths)
			paths, wild = paths+p, wild+w
		}
	}
	if paths > 3000 || wild > 15 {
		return cfAnswer{}, errf(400, "TooManyInvalidationsInProgress",
			"Processing your request would cause you to exceed the maximum number of in-progress wildcard invalidations.")
	}
	iv := &invalidation{id: "I" + w.s.randID(13), callerRef: in.CallerReference, paths: in.Paths.Items,
		created: now, done: now.Add(d.spec.InvalidationTime.D())}
	d.invalidations = append(d.invalidations, iv)
	d.byRef[in.CallerReference] = iv
	w.s.effects.Invalidations[id]++
	return cfAnswer{201, w.render(iv, now), location(iv)}, nil
}

// countPaths counts paths and wildcard paths (CloudFront's in-progress limits: 3,000 and 15);
// a #tag item counts as one path.
func countPaths(paths []string) (n, wild int) {
	for _, p := range paths {
		n++
		if !strings.HasPrefix(p, "#") && strings.Contains(p, "*") {
			wild++
		}
	}
	return n, wild
}

// invalidationInput is CreateInvalidation's input as the model names it, for the contract: which
// members are present, not only their values.
func invalidationInput(dist string, body []byte) map[string]any {
	var raw struct {
		CallerReference *string `xml:"CallerReference"`
		Paths           *struct {
			Quantity *int     `xml:"Quantity"`
			Items    []string `xml:"Items>Path"`
		} `xml:"Paths"`
	}
	xml.Unmarshal(body, &raw) //nolint:errcheck // the caller already parsed it
	batch := map[string]any{}
	if raw.CallerReference != nil {
		batch["CallerReference"] = *raw.CallerReference
	}
	if raw.Paths != nil {
		paths := map[string]any{}
		if raw.Paths.Quantity != nil {
			paths["Quantity"] = float64(*raw.Paths.Quantity)
		}
		items := []any{}
		for _, p := range raw.Paths.Items {
			items = append(items, p)
		}
		paths["Items"] = items
		batch["Paths"] = paths
	}
	return map[string]any{"DistributionId": dist, "InvalidationBatch": batch}
}

func distributionXML(s *Server, d *distribution, inProgress int) any {
	type dist struct {
		XMLName                       xml.Name              `xml:"Distribution"`
		NS                            string                `xml:"xmlns,attr"`
		ID                            string                `xml:"Id"`
		ARN                           string                `xml:"ARN"`
		Status                        string                `xml:"Status"`
		LastModifiedTime              string                `xml:"LastModifiedTime"`
		InProgressInvalidationBatches int                   `xml:"InProgressInvalidationBatches"`
		DomainName                    string                `xml:"DomainName"`
		Config                        xmlDistributionConfig `xml:"DistributionConfig"`
	}
	return dist{NS: cfNS, ID: d.spec.ID, ARN: fmt.Sprintf("arn:aws:cloudfront::%s:distribution/%s", s.cfg.Account, d.spec.ID),
		Status: "Deployed", LastModifiedTime: time.Now().Add(-time.Hour).UTC().Format(time.RFC3339),
		InProgressInvalidationBatches: inProgress, DomainName: distributionDomain(d.spec.ID), Config: s.cf.configXML(d)}
}

// distributionDomain is a distribution's CloudFront domain name.
func distributionDomain(id string) string { return strings.ToLower("d"+id) + ".cloudfront.net" }

func writeXMLError(w http.ResponseWriter, e *apiError) {
	typ := "Sender"
	if e.Status >= 500 {
		typ = "Receiver"
	}
	type xmlErr struct {
		XMLName xml.Name `xml:"ErrorResponse"`
		NS      string   `xml:"xmlns,attr"`
		Type    string   `xml:"Error>Type"`
		Code    string   `xml:"Error>Code"`
		Message string   `xml:"Error>Message"`
		ReqID   string   `xml:"RequestId"`
	}
	b, _ := xml.Marshal(xmlErr{NS: cfNS, Type: typ, Code: e.Code, Message: e.Message, ReqID: fmt.Sprintf("awsim-%d", time.Now().UnixNano())})
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.Status)
	io.WriteString(w, xml.Header) //nolint:errcheck
	w.Write(b)                    //nolint:errcheck
}
