package step

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/deploystep/deploystep/deploy/failure"
)

// Describe reads services (at most 10 a call), paced by the read budget. Missing services come
// back as absent keys; each is keyed by its name and its ARN (SERVICE may give either).
func (h *Host) Describe(ctx context.Context, names []string) (map[string]ecstypes.Service, error) {
	return h.DescribeWith(ctx, names, nil)
}

// DescribeWith is Describe with the fields to include (the tags, which the run marker is).
func (h *Host) DescribeWith(ctx context.Context, names []string, include []ecstypes.ServiceField) (map[string]ecstypes.Service, error) {
	out := map[string]ecstypes.Service{}
	for i := 0; i < len(names); i += 10 {
		batch := names[i:min(i+10, len(names))]
		var res *ecs.DescribeServicesOutput
		err := h.Read(ctx, false, func() (err error) {
			res, err = h.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(h.Settings.Cluster), Services: batch, Include: include})
			return err
		})
		if err != nil {
			return nil, failure.Classify(err, "DescribeServices")
		}
		for _, s := range res.Services {
			out[aws.ToString(s.ServiceName)] = s
			out[aws.ToString(s.ServiceArn)] = s
		}
	}
	return out, nil
}

// KeepPreflight keeps the preflight's read of the services for the steps of this invocation.
func (h *Host) KeepPreflight(services map[string]ecstypes.Service) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.preflight = services
}

// ForgetPreflight drops it: the deploy step changes the services.
func (h *Host) ForgetPreflight() { h.KeepPreflight(nil) }

// ServicesNow is the services (with their tags) as this invocation's preflight read them, or, in
// a later invocation, as they are now.
func (h *Host) ServicesNow(ctx context.Context, names []string) (map[string]ecstypes.Service, error) {
	h.mu.Lock()
	services := h.preflight
	h.mu.Unlock()
	for _, name := range names {
		if _, ok := services[name]; !ok {
			services = nil // resumed in a later invocation, or not read: read now
		}
	}
	if services != nil {
		return services, nil
	}
	err := h.Attempt(ctx, "reading the services", func(ctx context.Context) (err error) {
		services, err = h.DescribeWith(ctx, names, []ecstypes.ServiceField{ecstypes.ServiceFieldTags})
		return err
	})
	return services, err
}
