package awsim

// Elastic Load Balancing (v2), the two reads deploystep makes to tell which CloudFront origin
// serves a released service: DescribeTargetGroups and DescribeLoadBalancers (awsQuery: a
// form-encoded POST with Version=2015-12-01, an XML answer in the 2015-12-01 namespace).
//
// The load balancers and target groups are the services': every service of the world (but one
// whose spec sets NoLoadBalancer) has its target group <service>-blue (and <service>-green for
// the strategies that shift traffic) on one application load balancer, <service>-alb, whose DNS
// name is <service>-alb-<10 digits>.<region>.elb.amazonaws.com, the form AWS gives an ALB's
// DNSName. What the model says of the calls (botocore's elbv2 model, the API reference):
//
//   - DescribeTargetGroups takes one of LoadBalancerArn, TargetGroupArns or Names; an ARN or name
//     that does not exist is TargetGroupNotFound (400), a load balancer that does not exist
//     LoadBalancerNotFound (400); DescribeLoadBalancers takes LoadBalancerArns or Names. Their
//     input rules (20 load balancers a call, PageSize 1 to 400, one filter) are contract rows.

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/deploystep/deploystep/awsim/contract"
)

const elbNS = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"

// elbVersion is the API version that routes an awsQuery request to Elastic Load Balancing.
const elbVersion = "2015-12-01"

type loadBalancer struct {
	name, arn, dns string
	targetGroups   []targetGroup
}

type targetGroup struct{ name, arn string }

// ServiceOriginDomain is the DNS name of the load balancer in front of "cluster/service" (the
// domain a CloudFront origin for it names), "" when it has none.
func (s *Server) ServiceOriginDomain(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if svc := s.ecs.originService(name); svc != nil {
		if lb, ok := s.ecs.loadBalancerOf(svc); ok {
			return lb.dns
		}
	}
	return ""
}

// serveELB answers DescribeTargetGroups and DescribeLoadBalancers.
func (s *Server) serveELB(w http.ResponseWriter, r *http.Request, form url.Values) {
	call := Call{Time: time.Now(), Service: "ELB", Op: form.Get("Action"), Params: map[string]string{}}
	fault, after := s.injectBefore(w, "ELB", call.Op, &call, queryProtocol)
	if fault {
		return
	}
	c := s.callerOf(r)
	call.Caller = c.identity.ARN
	if aerr := c.refusal("ELB"); aerr != nil {
		s.record(call, aerr.Status, aerr.Code)
		writeELBError(w, aerr)
		return
	}
	members := func(key string) []string {
		var out []string
		for i := 1; ; i++ {
			v, ok := form[fmt.Sprintf("%s.member.%d", key, i)]
			if !ok {
				return out
			}
			out = append(out, v...)
		}
	}
	s.mu.Lock()
	var lbs []loadBalancer
	if s.home(c) {
		lbs = s.ecs.loadBalancers()
	}
	s.mu.Unlock()
	var out any
	var aerr *apiError
	aerr = validate("ELB", call.Op, contract.QueryInput(form))
	if aerr == nil {
		aerr = s.authorize(queryAuthz("ELB", call.Op, c, form), &call)
	}
	switch {
	case aerr != nil:
	case call.Op == "DescribeTargetGroups":
		call.Params["targetGroupArns"] = strings.Join(members("TargetGroupArns"), ",")
		out, aerr = describeTargetGroups(lbs, form.Get("LoadBalancerArn"), members("TargetGroupArns"), members("Names"))
	case call.Op == "DescribeLoadBalancers":
		call.Params["loadBalancerArns"] = strings.Join(members("LoadBalancerArns"), ",")
		out, aerr = describeLoadBalancers(lbs, members("LoadBalancerArns"), members("Names"), s.cfg.Region)
	default:
		aerr = errf(400, "InvalidAction", "Could not find operation %s for version %s", call.Op, elbVersion)
	}
	if s.answered(w, call, after, aerr, writeELBError) {
		return
	}
	s.record(call, 200, "")
	b, _ := xml.Marshal(out)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(200)
	w.Write(b) //nolint:errcheck
}

type elbMeta struct {
	RequestID string `xml:"RequestId"`
}

func describeTargetGroups(lbs []loadBalancer, lbARN string, arns, names []string) (any, *apiError) {
	type tgOut struct {
		TargetGroupArn   string   `xml:"TargetGroupArn"`
		TargetGroupName  string   `xml:"TargetGroupName"`
		Protocol         string   `xml:"Protocol"`
		Port             int      `xml:"Port"`
		VpcID            string   `xml:"VpcId"`
		TargetType       string   `xml:"TargetType"`
		LoadBalancerArns []string `xml:"LoadBalancerArns>member"`
	}
	var all []tgOut
	foundLB := lbARN == ""
	for _, lb := range lbs {
		if lb.arn == lbARN {
			foundLB = true
		}
		for _, tg := range lb.targetGroups {
			if lbARN != "" && lb.arn != lbARN {
				continue
			}
			all = append(all, tgOut{tg.arn, tg.name, "HTTP", 80, "vpc-0a1b2c3d4e5f60718", "ip", []string{lb.arn}})
		}
	}
	if !foundLB {
		return nil, errf(400, "LoadBalancerNotFound", "Load balancer '%s' not found", lbARN)
	}
	pick := func(want []string, key func(tgOut) string) ([]tgOut, *apiError) {
		var out []tgOut
		for _, w := range want {
			found := false
			for _, tg := range all {
				if key(tg) == w {
					out, found = append(out, tg), true
				}
			}
			if !found {
				return nil, errf(400, "TargetGroupNotFound", "One or more target groups not found")
			}
		}
		return out, nil
	}
	var aerr *apiError
	switch {
	case len(arns) > 0:
		all, aerr = pick(arns, func(t tgOut) string { return t.TargetGroupArn })
	case len(names) > 0:
		all, aerr = pick(names, func(t tgOut) string { return t.TargetGroupName })
	}
	if aerr != nil {
		return nil, aerr
	}
	return struct {
		XMLName xml.Name `xml:"DescribeTargetGroupsResponse"`
		NS      string   `xml:"xmlns,attr"`
		Result  struct {
			TargetGroups []tgOut `xml:"TargetGroups>member"`
		} `xml:"DescribeTargetGroupsResult"`
		Meta elbMeta `xml:"ResponseMetadata"`
	}{NS: elbNS, Result: struct {
		TargetGroups []tgOut `xml:"TargetGroups>member"`
	}{all}, Meta: elbMeta{fmt.Sprintf("awsim-%d", time.Now().UnixNano())}}, nil
}

func describeLoadBalancers(lbs []loadBalancer, arns, names []string, region string) (any, *apiError) {
	type lbOut struct {
		LoadBalancerArn       string `xml:"LoadBalancerArn"`
		DNSName               string `xml:"DNSName"`
		CanonicalHostedZoneID string `xml:"CanonicalHostedZoneId"`
		CreatedTime           string `xml:"CreatedTime"`
		LoadBalancerName      string `xml:"LoadBalancerName"`
		Scheme                string `xml:"Scheme"`
		VpcID                 string `xml:"VpcId"`
		State                 struct {
			Code string `xml:"Code"`
		} `xml:"State"`
		Type          string `xml:"Type"`
		IPAddressType string `xml:"IpAddressType"`
	}
	var out []lbOut
	render := func(lb loadBalancer) lbOut {
		o := lbOut{LoadBalancerArn: lb.arn, DNSName: lb.dns, CanonicalHostedZoneID: "Z35SXDOTRQ7X7K",
			CreatedTime: "2026-11-02T09:14:07.510Z", LoadBalancerName: lb.name, Scheme: "internet-facing",
			VpcID: "vpc-0a1b2c3d4e5f60718", Type: "application", IPAddressType: "ipv4"}
		o.State.Code = "active"
		return o
	}
	want, key := arns, func(lb loadBalancer) string { return lb.arn }
	if len(names) > 0 {
		want, key = names, func(lb loadBalancer) string { return lb.name }
	}
	if len(want) == 0 {
		for _, lb := range lbs {
			out = append(out, render(lb))
		}
	}
	for _, w := range want {
		found := false
		for _, lb := range lbs {
			if key(lb) == w {
				out, found = append(out, render(lb)), true
			}
		}
		if !found {
			return nil, errf(400, "LoadBalancerNotFound", "One or more load balancers not found")
		}
	}
	return struct {
		XMLName xml.Name `xml:"DescribeLoadBalancersResponse"`
		NS      string   `xml:"xmlns,attr"`
		Result  struct {
			LoadBalancers []lbOut `xml:"LoadBalancers>member"`
		} `xml:"DescribeLoadBalancersResult"`
		Meta elbMeta `xml:"ResponseMetadata"`
	}{NS: elbNS, Result: struct {
		LoadBalancers []lbOut `xml:"LoadBalancers>member"`
	}{out}, Meta: elbMeta{fmt.Sprintf("awsim-%d", time.Now().UnixNano())}}, nil
}

// writeELBError writes an error as the awsQuery protocol does, in ELB's namespace.
func writeELBError(w http.ResponseWriter, e *apiError) {
	typ := "Sender"
	if e.Status >= 500 {
		typ = "Receiver"
	}
	type errBody struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	b, _ := xml.Marshal(struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		NS        string   `xml:"xmlns,attr"`
		Error     errBody  `xml:"Error"`
		RequestID string   `xml:"RequestId"`
	}{NS: elbNS, Error: errBody{typ, e.Code, e.Message}, RequestID: fmt.Sprintf("awsim-%d", time.Now().UnixNano())})
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.Status)
	w.Write(b) //nolint:errcheck
}
