package iamref

import "testing"

// Covers: a policy Resource against the reference's ARN formats, the cases the static check of
// infra.yaml depends on.
func TestCovers(t *testing.T) {
	const svc = "arn:${Partition}:ecs:${Region}:${Account}:service/${ClusterName}/${ServiceName}"
	const sd = "arn:${Partition}:ecs:${Region}:${Account}:service-deployment/${ClusterName}/${ServiceName}/${ServiceDeploymentId}"
	const stream = "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}"
	for _, c := range []struct {
		resource, format string
		want             bool
	}{
		{"*", svc, true},
		{"arn:aws:ecs:us-east-1:123456789012:service/tsa-gallery/api", svc, true},
		{"arn:aws:ecs:us-east-1:123456789012:service-deployment/tsa-gallery/api/*", sd, true},
		{"arn:aws:ecs:us-east-1:123456789012:service-deployment/tsa-gallery/api/*", svc, false},
		{"arn:aws:ecs:us-east-1:123456789012:service/tsa-gallery/api", sd, false},
		{"arn:aws:logs:us-east-1:123456789012:log-group:/ecs/tsa-gallery/APITask:*:*", stream, true},
		{"arn:aws:logs:us-east-1:123456789012:log-group:/ecs/tsa-gallery/APITask:log-stream:*", stream, true},
		{"arn:aws:ecs:*", svc, true},
		{"arn:aws:ecr:us-east-1:123456789012:repository/tsa-gallery/api-0f1e2d3c", svc, false},
		{"arn:aws:ecs:us-*:123456789012:service/*", svc, true},
	} {
		if got := Covers(c.resource, c.format); got != c.want {
			t.Errorf("Covers(%s, %s) = %v, want %v", c.resource, c.format, got, c.want)
		}
	}
}

func TestKeyMatches(t *testing.T) {
	for _, c := range []struct {
		ref, key string
		want     bool
	}{
		{"aws:RequestTag/${TagKey}", "aws:RequestTag/deploystep:release", true},
		{"aws:RequestTag/${TagKey}", "aws:RequestTag/", false},
		{"kms:EncryptionContext:${EncryptionContextKey}", "kms:EncryptionContext:aws:logs:arn", true},
		{"aws:PrincipalTag/tag-key", "aws:PrincipalTag/team", true},
		{"ecs:cluster", "ECS:Cluster", true},
		{"codeconnections:FullRepositoryId", "codestar-connections:FullRepositoryId", false},
	} {
		if got := KeyMatches(c.ref, c.key); got != c.want {
			t.Errorf("KeyMatches(%s, %s) = %v, want %v", c.ref, c.key, got, c.want)
		}
	}
}
