package awsim

// Task definitions: families and their revisions, as RegisterTaskDefinition,
// DescribeTaskDefinition and ListTaskDefinitions keep them (ECS API reference 2014-11-13).
//
//   - A revision holds the members it was registered with, as sent; DescribeTaskDefinition
//     answers them with the read-only members ECS adds (taskDefinitionArn, revision, status,
//     compatibilities, requiresAttributes, registeredAt, registeredBy), and the tags with
//     include=TAGS ("If TAGS is specified, the tags are included in the response").
//   - Revisions of a family are numbered from 1, each registration the next ("Each time that
//     you register a task definition in the same family, the revision value always increases by
//     one", RegisterTaskDefinition).
//   - taskDefinition names "the family for the latest ACTIVE revision, family and revision
//     (family:revision) for a specific revision in the family, or full ARN" (DescribeTaskDefinition,
//     UpdateService); an unknown one is ClientException, as ECS answers it.
//   - A deployment's tasks run the revision's image for the service's container: by digest, that
//     digest; by tag, the digest the tag has in ECR when the deployment starts.
//
// Each world starts with one revision per service, the lab's task: one container named after
// the service, on the lab's moving tag (:latest, where the repository has it; else the service's
// image), in awsvpc mode on Fargate (ARM64), logging to CloudWatch.

import (
	"cmp"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// revision is one registered task definition.
type revision struct {
	family     string
	number     int
	arn        string
	status     string         // ACTIVE or INACTIVE
	body       map[string]any // the members registered, tags apart
	tags       []map[string]string
	registered time.Time
	by         string
}

// register adds the next revision of body's family; the caller holds Server.mu.
func (w *ecsWorld) register(body map[string]any, tags []map[string]string, by string, now time.Time) *revision {
	if w.defs == nil {
		w.defs = map[string][]*revision{}
	}
	family, _ := body["family"].(string)
	r := &revision{family: family, number: len(w.defs[family]) + 1, status: "ACTIVE", body: body, tags: tags, registered: now, by: by}
	r.arn = w.arn(fmt.Sprintf("task-definition/%s:%d", family, r.number))
	w.defs[family] = append(w.defs[family], r)
	return r
}

// revisionOf finds a revision by family (its latest ACTIVE revision), family:revision or ARN.
func (w *ecsWorld) revisionOf(ref string) (*revision, *apiError) {
	name := ref
	if strings.HasPrefix(ref, "arn:") {
		i := strings.Index(ref, ":task-definition/")
		if i < 0 {
			return nil, errf(400, "ClientException", "Unable to describe task definition.")
		}
		name = ref[i+len(":task-definition/"):]
	}
	family, num, numbered := strings.Cut(name, ":")
	revs := w.defs[family]
	if !numbered {
		for i := len(revs) - 1; i >= 0; i-- {
			if revs[i].status == "ACTIVE" {
				return revs[i], nil
			}
		}
		return nil, errf(400, "ClientException", "Unable to describe task definition.")
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > len(revs) {
		return nil, errf(400, "ClientException", "Unable to describe task definition.")
	}
	return revs[n-1], nil
}

// out is a revision as DescribeTaskDefinition and RegisterTaskDefinition answer it.
func (r *revision) out() map[string]any {
	out := map[string]any{}
	for k, v := range r.body {
		out[k] = v
	}
	out["taskDefinitionArn"], out["revision"], out["status"] = r.arn, r.number, r.status
	out["registeredAt"], out["registeredBy"] = epoch(r.registered), r.by
	compat := []string{"EC2"}
	if req, _ := r.body["requiresCompatibilities"].([]any); len(req) > 0 {
		for _, c := range req {
			if c == "FARGATE" {
				compat = append(compat, "FARGATE")
			}
		}
	}
	out["compatibilities"] = compat
	out["requiresAttributes"] = []map[string]string{{"name": "com.amazonaws.ecs.capability.docker-remote-api.1.18"}}
	return out
}

// image is the image the revision runs in container (the first container when none has the name).
func (r *revision) image(container string) string {
	defs, _ := r.body["containerDefinitions"].([]any)
	first := ""
	for _, d := range defs {
		c, _ := d.(map[string]any)
		img, _ := c["image"].(string)
		if first == "" {
			first = img
		}
		if c["name"] == container {
			return img
		}
	}
	return first
}

// digestFor is the digest a deployment of the service on revision ref runs.
func (w *ecsWorld) digestFor(svc *service, ref string) string {
	r, err := w.revisionOf(ref)
	if err != nil {
		return w.s.ecr.digestOf(svc.spec.Image, "")
	}
	img := r.image(svc.spec.Name)
	if _, d, ok := strings.Cut(img, "@"); ok {
		return d
	}
	// repo:tag of this world's registry, as ECR resolves the tag now
	_, path, _ := strings.Cut(img, ".amazonaws.com/")
	return w.s.ecr.digestOf(path, "")
}

// TaskSpec names the parts of a service's first revision that differ from the lab's defaults
// (family and container named after the service, the demo account's task roles, logs in
// /ecs/<cluster>/APITask), as a stack names them.
type TaskSpec struct {
	Family           string `json:"family,omitempty"`
	Container        string `json:"container,omitempty"`
	TaskRoleARN      string `json:"taskRoleArn,omitempty"`
	ExecutionRoleARN string `json:"executionRoleArn,omitempty"`
	LogGroup         string `json:"logGroup,omitempty"`
}

// container is the name of the service's container (the service's name by default).
func (ss ServiceSpec) container() string {
	if ss.Task != nil && ss.Task.Container != "" {
		return ss.Task.Container
	}
	return ss.Name
}

func (t *TaskSpec) family(service string) string {
	if t != nil && t.Family != "" {
		return t.Family
	}
	return service
}

// labTask is the lab's task definition for a service: its first revision.
func (w *ecsWorld) labTask(ss ServiceSpec, cluster string) map[string]any {
	role := func(name string) string { return fmt.Sprintf("arn:aws:iam::%s:role/%s", w.s.cfg.Account, name) }
	t := TaskSpec{Family: ss.Name, Container: ss.Name, TaskRoleARN: role("tsa-gallery-task"), ExecutionRoleARN: role("tsa-gallery-task-execution"),
		LogGroup: "/ecs/" + cluster + "/APITask"}
	if o := ss.Task; o != nil {
		t.Family, t.Container = cmp.Or(o.Family, t.Family), cmp.Or(o.Container, t.Container)
		t.TaskRoleARN, t.ExecutionRoleARN = cmp.Or(o.TaskRoleARN, t.TaskRoleARN), cmp.Or(o.ExecutionRoleARN, t.ExecutionRoleARN)
		t.LogGroup = cmp.Or(o.LogGroup, t.LogGroup)
	}
	return map[string]any{
		"family": t.Family, "networkMode": "awsvpc", "requiresCompatibilities": []any{"FARGATE"},
		"cpu": "512", "memory": "1024", "executionRoleArn": t.ExecutionRoleARN, "taskRoleArn": t.TaskRoleARN,
		"runtimePlatform": map[string]any{"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
		"containerDefinitions": []any{map[string]any{
			"name": t.Container, "image": w.s.ecr.imageURI(w.s.ecr.movingTag(ss.Image)), "essential": true,
			"portMappings": []any{map[string]any{"containerPort": 3000, "protocol": "tcp"}},
			"environment":  []any{map[string]any{"name": "NODE_ENV", "value": "production"}},
			// as infra.yaml's: logs in /ecs/<stack>/<task>, streams ecs/<container>/<task id>
			"logConfiguration": map[string]any{"logDriver": "awslogs", "options": map[string]any{
				"awslogs-group": t.LogGroup, "awslogs-region": w.s.cfg.Region, "awslogs-stream-prefix": "ecs"}},
		}},
	}
}

// --- operations ---

func (w *ecsWorld) registerTaskDefinition(in map[string]any, call *Call, now time.Time) (any, *apiError) {
	family, _ := in["family"].(string)
	call.Params = map[string]string{"family": family}
	defs, _ := in["containerDefinitions"].([]any)
	if len(defs) == 0 {
		return nil, errf(400, "ClientException", "Container list cannot be empty.")
	}
	for _, d := range defs {
		c, _ := d.(map[string]any)
		if name, _ := c["name"].(string); name == "" {
			return nil, errf(400, "ClientException", "Container.name should not be null or empty.")
		}
		if img, _ := c["image"].(string); img == "" {
			return nil, errf(400, "ClientException", "Container.image should not be null or empty.")
		}
	}
	var tags []map[string]string
	if raw, ok := in["tags"]; ok {
		b, _ := json.Marshal(raw)
		json.Unmarshal(b, &tags) //nolint:errcheck // the contract checked the shape
	}
	body := map[string]any{}
	for k, v := range in {
		if k != "tags" {
			body[k] = v
		}
	}
	r := w.register(body, tags, callerARN(call), now)
	w.s.effects.Registrations[family]++
	call.Params["revision"] = r.arn
	return map[string]any{"taskDefinition": r.out(), "tags": tagsOrEmpty(r.tags)}, nil
}

func tagsOrEmpty(t []map[string]string) []map[string]string {
	if t == nil {
		return []map[string]string{}
	}
	return t
}

// callerARN is who registers: the identity that signed the call.
func callerARN(call *Call) string {
	if call.Caller != "" {
		return call.Caller
	}
	return PlaceholderRoleARN
}

type describeTaskDefinitionIn struct {
	TaskDefinition string
	Include        []string
}

func (w *ecsWorld) describeTaskDefinition(in describeTaskDefinitionIn, call *Call, _ time.Time) (any, *apiError) {
	call.Params = map[string]string{"taskDefinition": in.TaskDefinition}
	r, err := w.revisionOf(in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"taskDefinition": r.out()}
	for _, inc := range in.Include {
		if inc == "TAGS" {
			out["tags"] = tagsOrEmpty(r.tags)
		}
	}
	return out, nil
}

type listTaskDefinitionsIn struct {
	FamilyPrefix, Status, Sort, NextToken string
	MaxResults                            int
}

// listTaskDefinitions lists revisions: of familyPrefix's family ("The full family name",
// ListTaskDefinitions), of the status asked (ACTIVE by default), by family name and then
// revision, ascending unless Sort is DESC; 100 a page unless MaxResults says fewer.
func (w *ecsWorld) listTaskDefinitions(in listTaskDefinitionsIn, call *Call, _ time.Time) (any, *apiError) {
	call.Params = map[string]string{"familyPrefix": in.FamilyPrefix}
	status := in.Status
	if status == "" {
		status = "ACTIVE"
	}
	var all []*revision
	for family, revs := range w.defs {
		if in.FamilyPrefix != "" && family != in.FamilyPrefix {
			continue
		}
		for _, r := range revs {
			if r.status == status {
				all = append(all, r)
			}
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].family != all[j].family {
			return all[i].family < all[j].family
		}
		return all[i].number < all[j].number
	})
	if in.Sort == "DESC" {
		for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
			all[i], all[j] = all[j], all[i]
		}
	}
	start, _ := strconv.Atoi(in.NextToken)
	size := in.MaxResults
	if size <= 0 {
		size = 100
	}
	out := map[string]any{"taskDefinitionArns": []string{}}
	arns := []string{}
	for i := start; i < len(all) && i < start+size; i++ {
		arns = append(arns, all[i].arn)
	}
	out["taskDefinitionArns"] = arns
	if start+size < len(all) {
		out["nextToken"] = strconv.Itoa(start + size)
	}
	return out, nil
}
