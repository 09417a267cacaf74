// Package taskdef is the register step: a release deploys a task-definition revision that names the pushed image
// by its digest, registered once from a base.
//
//	base ─► input (copied faithfully, or read from a file) ─► pin IMAGE ─► register once ─► UpdateService / AppSpec
//
// The base is TASK_DEFINITION (a family, family:revision, an ARN, or a JSON file as
// `aws ecs register-task-definition --cli-input-json` takes it) or else the service's current
// revision. With IMAGE, every container whose image is in IMAGE's repository (any tag or digest),
// or is the placeholder <IMAGE1_NAME> (the taskdef.json convention of CodePipeline's ECS
// blue/green action), gets <registry>/<repository>@<digest>; every other member is copied as
// DescribeTaskDefinition returned it (copyInput; a test over the SDK's types keeps the copy
// whole). Services that share a base share the revision. Without IMAGE a named revision is
// deployed as it is and a file is registered as it is.
//
// Exactly once: the revision carries the tag deploystep:release = "<release marker> <base
// hash>"; before registering, the family's newest revisions are read for it (a re-run, a
// re-delivered Lambda event, a registration whose answer was lost), and an unknown outcome is
// resolved by that read before the call is sent again (Host.SendOnce).
package taskdef

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/report"
	"github.com/deploystep/deploystep/deploy/settings"
	"github.com/deploystep/deploystep/deploy/state"
	"github.com/deploystep/deploystep/deploy/step"
)

// ImagePlaceholder is the image a taskdef.json names where the pushed image goes.
const ImagePlaceholder = "<IMAGE1_NAME>"

// releaseTag is the task-definition tag that marks the revision a release registered.
const releaseTag = "deploystep:release"

// revisionPlan is what the release deploys from one base.
type Plan struct {
	// key names the base across re-runs: "file:<path>", the TASK_DEFINITION named, or
	// "services:<names>" for services on their own revision (which the release moves on)
	key      string
	ref      string   // what is read: the revision (ARN or family[:revision]), or the file
	From     string   // the base in words
	Services []string // the services that deploy it
	// in is what RegisterTaskDefinition sends; nil when the base is deployed as it is (asIs).
	In      *ecs.RegisterTaskDefinitionInput
	AsIs    string
	changes []string // what differs from the base (images), or from the service's revision (a file)
}

// basesOf groups the services by their base, in the order of SERVICE.
func basesOf(h *step.Host, services map[string]ecstypes.Service) []*Plan {
	var out []*Plan
	byRef := map[string]*Plan{}
	for _, name := range h.Settings.Services {
		ref := aws.ToString(services[name].TaskDefinition)
		from := failure.ShortARN(ref) + " (the service's)"
		if td := h.Settings.TaskDefinition; td != "" {
			ref, from = td, "TASK_DEFINITION "+td
		}
		if p, ok := byRef[ref]; ok {
			p.Services = append(p.Services, name)
			continue
		}
		p := &Plan{ref: ref, From: from, Services: []string{name}}
		byRef[ref] = p
		out = append(out, p)
	}
	for _, p := range out {
		switch td := h.Settings.TaskDefinition; {
		case td != "" && settings.TaskDefIsFile(td):
			p.key = "file:" + td
		case td != "":
			p.key = td
		default:
			p.key = "services:" + strings.Join(p.Services, ",")
		}
	}
	return out
}

// Plans reads each base and builds what the release registers: every base is read and
// checked before anything is registered. digest is IMAGE's ("" in a dry run that could not
// resolve it: the plan then shows <digest>).
func Plans(ctx context.Context, h *step.Host, read step.Reader, services map[string]ecstypes.Service, digest string) ([]*Plan, error) {
	plans := basesOf(h, services)
	var problems []string
	for _, p := range plans {
		if err := planRevision(ctx, h, read, p, services, digest); err != nil {
			if !failure.IsFinal(err) {
				return nil, err
			}
			problems = append(problems, strings.TrimPrefix(err.Error(), "configuration: "))
		}
	}
	if len(problems) > 0 {
		return nil, failure.New(failure.ErrConfig, "configuration: %s", strings.Join(problems, "; "))
	}
	return plans, nil
}

func planRevision(ctx context.Context, h *step.Host, read step.Reader, p *Plan, services map[string]ecstypes.Service, digest string) error {
	var in *ecs.RegisterTaskDefinitionInput
	var baseARN string
	if path, ok := strings.CutPrefix(p.key, "file:"); ok {
		path = p.ref
		var err error
		if in, err = readTaskDefFile(path); err != nil {
			return err
		}
		cur, _, err := Describe(ctx, h, read, aws.ToString(services[p.Services[0]].TaskDefinition))
		if err == nil {
			p.changes = diffInputs(cur, in)
		}
	} else {
		var err error
		if in, baseARN, err = Describe(ctx, h, read, p.ref); err != nil {
			return err
		}
	}
	if h.Settings.Image != "" {
		ref := h.Settings.ImageRef
		images, err := pinImage(in, ref, digest, p.From)
		if err != nil {
			return err
		}
		p.changes = append(images, p.changes...)
	} else if baseARN != "" {
		p.AsIs = baseARN // a revision named (or the service's), deployed as it is
		return nil
	}
	if problems := checkInput(in); len(problems) > 0 {
		return failure.New(failure.ErrConfig, "configuration: %s: %s", p.From, strings.Join(problems, "; "))
	}
	p.In = in
	return nil
}

// Describe reads a revision (with its tags) as the input that registers it again, and
// its ARN.
func Describe(ctx context.Context, h *step.Host, read step.Reader, ref string) (*ecs.RegisterTaskDefinitionInput, string, error) {
	var out *ecs.DescribeTaskDefinitionOutput
	err := read(ctx, "DescribeTaskDefinition", func(ctx context.Context) (err error) {
		out, err = h.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref),
			Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
		return failure.Classify(err, "DescribeTaskDefinition "+failure.ShortARN(ref))
	})
	if err != nil {
		return nil, "", err
	}
	if out.TaskDefinition == nil {
		return nil, "", failure.New(failure.ErrConfig, "DescribeTaskDefinition %s: no task definition in the answer", failure.ShortARN(ref))
	}
	return copyInput(out.TaskDefinition, out.Tags), aws.ToString(out.TaskDefinition.TaskDefinitionArn), nil
}

// readOnlyMembers are the members DescribeTaskDefinition returns that RegisterTaskDefinition does
// not take: ECS sets them ("ignored" in a file, as the CLI's describe output carries them).
var readOnlyMembers = []string{"TaskDefinitionArn", "Revision", "Status", "RequiresAttributes", "Compatibilities",
	"RegisteredAt", "RegisteredBy", "DeregisteredAt", "DeleteRequestedAt"}

// copyInput is the RegisterTaskDefinitionInput that registers td again: every member of the
// input that the description has, by name (TestCopyInputIsWhole holds every member of both
// types to it), and the tags but the reserved aws: ones and an earlier release's mark.
func copyInput(td *ecstypes.TaskDefinition, tags []ecstypes.Tag) *ecs.RegisterTaskDefinitionInput {
	in := &ecs.RegisterTaskDefinitionInput{}
	src, dst := reflect.ValueOf(td).Elem(), reflect.ValueOf(in).Elem()
	for i := 0; i < dst.NumField(); i++ {
		f := dst.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		if v := src.FieldByName(f.Name); v.IsValid() && v.Type() == f.Type {
			dst.Field(i).Set(v)
		}
	}
	for _, t := range tags {
		if k := strings.ToLower(aws.ToString(t.Key)); !strings.HasPrefix(k, "aws:") && aws.ToString(t.Key) != releaseTag {
			in.Tags = append(in.Tags, t)
		}
	}
	return in
}

// pinImage points every container of in that runs IMAGE's repository, or names the placeholder,
// at the digest; none is a configuration error naming the containers.
func pinImage(in *ecs.RegisterTaskDefinitionInput, ref settings.ImageRef, digest, from string) ([]string, error) {
	repo := fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s", ref.Registry, ref.Region, ref.Repository)
	pinned := cmp.Or(digest, "<digest>")
	var changes, seen []string
	for i := range in.ContainerDefinitions {
		c := &in.ContainerDefinitions[i]
		img := aws.ToString(c.Image)
		seen = append(seen, fmt.Sprintf("%s (%s)", aws.ToString(c.Name), failure.ClipTo(img, 200)))
		if img != ImagePlaceholder && ImageRepo(img) != repo {
			continue
		}
		c.Image = aws.String(repo + "@" + pinned)
		changes = append(changes, fmt.Sprintf("container %s: image %s -> %s", aws.ToString(c.Name), img, aws.ToString(c.Image)))
	}
	if len(changes) == 0 {
		return nil, failure.New(failure.ErrConfig, "configuration: IMAGE %s matches no container of %s (a container whose image is in %s, or %s): its containers are %s",
			ref, from, repo, ImagePlaceholder, strings.Join(seen, ", "))
	}
	return changes, nil
}

// ImageRepo is an image reference without its tag or digest.
func ImageRepo(img string) string {
	if i := strings.IndexByte(img, '@'); i >= 0 {
		img = img[:i]
	}
	if i := strings.LastIndexByte(img, ':'); i > strings.LastIndexByte(img, '/') {
		img = img[:i]
	}
	return img
}

// maxTaskDefBytes is the largest task definition ECS registers ("Task definition size: 64 KiB",
// Amazon ECS service quotas).
const maxTaskDefBytes = 64 << 10

// checkInput checks what RegisterTaskDefinition will be sent against the documented contract
// (the API reference and the service quotas), so a bad file is exit 2 before anything changes.
func checkInput(in *ecs.RegisterTaskDefinitionInput) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	switch f := aws.ToString(in.Family); {
	case f == "":
		bad("family is required")
	case !settings.TaskDefName.MatchString(f):
		bad("family %q: up to 255 letters, numbers, underscores and hyphens", failure.Clip(f))
	}
	if len(in.ContainerDefinitions) == 0 {
		bad("containerDefinitions is required (at least one container)")
	}
	names := map[string]bool{}
	for i, c := range in.ContainerDefinitions {
		name := aws.ToString(c.Name)
		switch {
		case name == "":
			bad("containerDefinitions[%d].name is required", i)
		case !settings.TaskDefName.MatchString(name):
			bad("containerDefinitions[%d].name %q: up to 255 letters, numbers, underscores and hyphens", i, failure.Clip(name))
		case names[name]:
			bad("containerDefinitions[%d].name %q is used twice", i, name)
		}
		names[name] = true
		switch img := aws.ToString(c.Image); {
		case img == "":
			bad("containerDefinitions[%d].image is required", i)
		case img == ImagePlaceholder:
			bad("container %s names the image placeholder %s and IMAGE is not set", name, ImagePlaceholder)
		}
	}
	enum := func(member, v string, values []string) {
		if v != "" && !slices.Contains(values, v) {
			bad("%s %q is not one of %s", member, failure.Clip(v), strings.Join(values, ", "))
		}
	}
	enum("networkMode", string(in.NetworkMode), enumValues(ecstypes.NetworkMode("").Values()))
	enum("pidMode", string(in.PidMode), enumValues(ecstypes.PidMode("").Values()))
	enum("ipcMode", string(in.IpcMode), enumValues(ecstypes.IpcMode("").Values()))
	for _, c := range in.RequiresCompatibilities {
		enum("requiresCompatibilities", string(c), enumValues(ecstypes.Compatibility("").Values()))
	}
	if len(in.Tags) > 49 { // 50 a resource, one of them the release's mark
		bad("%d tags: at most 49 (50 a task definition, one of them deploystep's %s)", len(in.Tags), releaseTag)
	}
	for _, t := range in.Tags {
		if strings.HasPrefix(strings.ToLower(aws.ToString(t.Key)), "aws:") {
			bad("tag %q: the aws: prefix is reserved for AWS", failure.Clip(aws.ToString(t.Key)))
		}
	}
	if b, _ := json.Marshal(in); len(b) > maxTaskDefBytes {
		bad("%d bytes: a task definition is at most 64 KiB", len(b))
	}
	return out
}

func enumValues[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// readTaskDefFile reads a task definition file: the object `aws ecs register-task-definition
// --cli-input-json` takes, or a saved `describe-task-definition` answer ({"taskDefinition": …,
// "tags": …}); the read-only members a description carries are ignored; any other member the
// request does not have is an error naming it.
func readTaskDefFile(path string) (*ecs.RegisterTaskDefinitionInput, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, failure.New(failure.ErrConfig, "configuration: TASK_DEFINITION %s: %v", path, failure.FirstPhrase(err))
	}
	if len(raw) > 4*maxTaskDefBytes {
		return nil, failure.New(failure.ErrConfig, "configuration: TASK_DEFINITION %s: %d bytes; a task definition is at most 64 KiB", path, len(raw))
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, failure.New(failure.ErrConfig, "configuration: TASK_DEFINITION %s is not a JSON object: %v", path, err)
	}
	if inner, ok := top["taskDefinition"]; ok { // a saved describe-task-definition answer
		var td map[string]json.RawMessage
		if err := json.Unmarshal(inner, &td); err != nil {
			return nil, failure.New(failure.ErrConfig, "configuration: TASK_DEFINITION %s: taskDefinition is not an object: %v", path, err)
		}
		if tags, ok := top["tags"]; ok {
			td["tags"] = tags
		}
		top = td
	}
	for _, m := range readOnlyMembers {
		for k := range top {
			if strings.EqualFold(k, m) {
				delete(top, k)
			}
		}
	}
	body, _ := json.Marshal(top)
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var in ecs.RegisterTaskDefinitionInput
	if err := dec.Decode(&in); err != nil {
		return nil, failure.New(failure.ErrConfig, "configuration: TASK_DEFINITION %s is not a task definition: %v", path, strings.TrimPrefix(err.Error(), "json: "))
	}
	if problems := checkInput(&in); len(problems) > 0 && !onlyPlaceholder(problems) {
		return nil, failure.New(failure.ErrConfig, "configuration: TASK_DEFINITION %s: %s", path, strings.Join(problems, "; "))
	}
	return &in, nil
}

// onlyPlaceholder: the one problem is a placeholder, which IMAGE may still fill.
func onlyPlaceholder(problems []string) bool {
	for _, p := range problems {
		if !strings.Contains(p, ImagePlaceholder) {
			return false
		}
	}
	return true
}

// diffInputs names the members a file changes against the service's revision (the dry run).
func diffInputs(cur, next *ecs.RegisterTaskDefinitionInput) []string {
	var out []string
	a, b := reflect.ValueOf(cur).Elem(), reflect.ValueOf(next).Elem()
	for i := 0; i < a.NumField(); i++ {
		f := a.Type().Field(i)
		if !f.IsExported() || f.Name == "Tags" {
			continue
		}
		x, _ := json.Marshal(a.Field(i).Interface())
		y, _ := json.Marshal(b.Field(i).Interface())
		if !bytes.Equal(x, y) {
			out = append(out, "changes "+lowerFirst(f.Name))
		}
	}
	return out
}

func lowerFirst(s string) string { return strings.ToLower(s[:1]) + s[1:] }

// Register registers each base's revision once and records, per service, the revision it
// deploys.
func Register(ctx context.Context, h *step.Host, st *state.State, check func(plans []*Plan, services map[string]ecstypes.Service) error) error {
	var todo []string
	for _, name := range h.Settings.Services {
		if st.Services[name].TaskDef == "" {
			todo = append(todo, name)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	services, err := h.ServicesNow(ctx, todo)
	if err != nil {
		return err
	}
	plans, err := Plans(ctx, h, h.Attempt, services, st.Digest)
	if err != nil {
		return err
	}
	if err := check(plans, services); err != nil {
		return err // the pre-deploy task's container is checked before anything is registered
	}
	for _, p := range plans {
		arn := p.AsIs
		if p.In != nil {
			if arn, err = registerOnce(ctx, h, st, p); err != nil {
				return err
			}
		}
		for _, name := range p.Services {
			st.Services[name].TaskDef = arn
		}
	}
	return nil
}

// registerOnce registers p's revision, or adopts the one this release registered before.
func registerOnce(ctx context.Context, h *step.Host, st *state.State, p *Plan) (string, error) {
	state.Ensure(&st.TaskDefs)
	tds := st.TaskDefs[p.key]
	if tds == nil {
		tds = &state.TaskDefState{}
		st.TaskDefs[p.key] = tds
	}
	if tds.ARN != "" {
		return tds.ARN, nil
	}
	mark := st.Mark(p.key)
	family := aws.ToString(p.In.Family)
	find := func(ctx context.Context) (string, error) { return findRevision(ctx, h, family, mark) }
	if st.Run.Marker != "" && tds.Sent.IsZero() {
		// The look before the first send goes through the retry rule like any read: a throttle or
		// a 5xx here is no reason to end the release (the fault matrix's 20 seeds found it).
		var arn string
		err := h.Attempt(ctx, "looking for this release's revision", func(ctx context.Context) (err error) {
			arn, err = find(ctx)
			return err
		})
		if err != nil {
			return "", err
		}
		if arn != "" {
			tds.ARN = arn
			h.Emit(report.Event{Kind: report.KindTaskDefinition, Service: strings.Join(p.Services, ","), TaskDefinition: arn,
				Message: fmt.Sprintf("resuming: task definition %s was registered by an earlier run of this release", failure.ShortARN(arn))})
			return arn, nil
		}
	}
	in := *p.In
	in.Tags = append(slices.Clone(p.In.Tags), ecstypes.Tag{Key: aws.String(releaseTag), Value: aws.String(mark)})
	send := func(ctx context.Context) (string, error) {
		out, err := h.ECS.RegisterTaskDefinition(ctx, &in, func(o *ecs.Options) { o.RetryMaxAttempts = 1 })
		if err != nil || out.TaskDefinition == nil {
			return "", failure.Classify(err, "RegisterTaskDefinition "+family)
		}
		return aws.ToString(out.TaskDefinition.TaskDefinitionArn), nil
	}
	arn, lost, err := h.SendOnce(ctx, "registering task definition "+family, &tds.Sent, send, find)
	if err != nil {
		return "", err
	}
	tds.ARN = arn
	msg := fmt.Sprintf("registered task definition %s from %s", failure.ShortARN(arn), p.From)
	if lost {
		msg = fmt.Sprintf("RegisterTaskDefinition's answer was lost, but %s was registered: deploying it", failure.ShortARN(arn))
	}
	if len(p.changes) > 0 {
		msg += ": " + strings.Join(p.changes, "; ")
	}
	h.Emit(report.Event{Kind: report.KindTaskDefinition, Service: strings.Join(p.Services, ","), TaskDefinition: arn, Message: msg})
	return arn, nil
}

// findRevisions is how many of a family's newest revisions are read for the release's mark.
const findRevisions = 3

// findRevision looks among the family's newest revisions for the one carrying mark ("" when
// none). The reads are few a release and go at once, like the digest reads.
func findRevision(ctx context.Context, h *step.Host, family, mark string) (string, error) {
	var list *ecs.ListTaskDefinitionsOutput
	err := h.Read(ctx, true, func() (err error) {
		list, err = h.ECS.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family),
			Sort: ecstypes.SortOrderDesc, MaxResults: aws.Int32(findRevisions)})
		return err
	})
	if err != nil {
		return "", failure.Classify(err, "ListTaskDefinitions "+family)
	}
	for _, arn := range list.TaskDefinitionArns {
		var out *ecs.DescribeTaskDefinitionOutput
		err := h.Read(ctx, true, func() (err error) {
			out, err = h.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn),
				Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
			return err
		})
		if err != nil {
			return "", failure.Classify(err, "DescribeTaskDefinition "+failure.ShortARN(arn))
		}
		for _, t := range out.Tags {
			if aws.ToString(t.Key) == releaseTag && aws.ToString(t.Value) == mark {
				return arn, nil
			}
		}
	}
	return "", nil
}

// Deploys is the revision a service deploys in the dry run's words ("" for its own).
func (p *Plan) Deploys() string {
	switch {
	case p == nil:
		return ""
	case p.In == nil:
		return p.AsIs
	}
	return aws.ToString(p.In.Family) + ":<the revision step 2 registers>"
}

// Render says what the release registers from the base, for which services, and what differs.
func (p *Plan) Render() string {
	who := strings.Join(p.Services, ", ")
	if p.In == nil {
		return fmt.Sprintf("%s: %s, deployed as it is", who, p.From)
	}
	msg := fmt.Sprintf("%s: registers a revision of %s from %s", who, aws.ToString(p.In.Family), p.From)
	if len(p.changes) > 0 {
		msg += ": " + strings.Join(p.changes, "; ")
	}
	return msg
}
