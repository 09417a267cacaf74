package step

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"deploystep/deploy/failure"
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
