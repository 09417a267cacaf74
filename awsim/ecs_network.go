package awsim

import (
	"fmt"
	"hash/crc32"
	"strings"
)

// What the other services read of the ECS world: the services' load balancers (Elastic Load
// Balancing's answers), and which service an origin domain reaches (CloudFront's origins and the
// edge).

// loadBalancers are the world's load balancers: one per service with a load balancer.
func (w *ecsWorld) loadBalancers() []loadBalancer {
	var out []loadBalancer
	for _, cn := range w.order {
		c := w.clusters[cn]
		for _, sn := range c.order {
			svc := c.services[sn]
			if lb, ok := w.loadBalancerOf(svc); ok {
				out = append(out, lb)
			}
		}
	}
	return out
}

// loadBalancerOf is the service's load balancer, with its target groups.
func (w *ecsWorld) loadBalancerOf(svc *service) (loadBalancer, bool) {
	if svc.spec.NoLoadBalancer {
		return loadBalancer{}, false
	}
	name := svc.spec.Name + "-alb"
	sum := crc32.ChecksumIEEE([]byte(svc.cl.name + "/" + svc.spec.Name))
	lb := loadBalancer{name: name,
		arn: fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:loadbalancer/app/%s/%016x", w.s.cfg.Region, w.s.cfg.Account, name, uint64(sum)*2654435761),
		dns: fmt.Sprintf("%s-%010d.%s.elb.amazonaws.com", name, uint64(sum)%10000000000, w.s.cfg.Region)}
	tg := func(color string) targetGroup {
		return targetGroup{svc.spec.Name + "-" + color, fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:targetgroup/%s-%s/0123456789abcdef", w.s.cfg.Region, w.s.cfg.Account, svc.spec.Name, color)}
	}
	lb.targetGroups = []targetGroup{tg("blue")}
	if s := svc.spec.Strategy; s != "" && s != "ROLLING" || svc.spec.CodeDeploy != nil {
		lb.targetGroups = append(lb.targetGroups, tg("green"))
	}
	return lb, true
}

// originDomain is the DNS name of the load balancer of "cluster/service" (an unknown name, or
// a service without one, gets a domain no load balancer has).
func (w *ecsWorld) originDomain(name string) string {
	if svc := w.originService(name); svc != nil {
		if lb, ok := w.loadBalancerOf(svc); ok {
			return lb.dns
		}
	}
	return "origin.invalid"
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
