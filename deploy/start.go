package deploy

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// checkImage resolves IMAGE to its digest before anything changes.
func (e *Engine) checkImage(ctx context.Context, st *State) error {
	return e.attempt(ctx, "checking the image", func(ctx context.Context) error {
		digest, err := e.resolveDigest(ctx)
		if err == nil {
			st.Digest = digest
			e.emit(Event{Kind: KindImage, Message: fmt.Sprintf("%s is %s", e.Settings.Image, digest)})
		}
		return err
	})
}

// resolveDigest asks ECR once for the digest of IMAGE.
func (e *Engine) resolveDigest(ctx context.Context) (string, error) {
	ref, err := ParseImage(e.Settings.Image)
	if err != nil {
		return "", newError(ErrConfig, "IMAGE: %v", err)
	}
	id := ecrtypes.ImageIdentifier{}
	if ref.Digest != "" {
		id.ImageDigest = aws.String(ref.Digest)
	} else {
		id.ImageTag = aws.String(ref.Tag)
	}
	out, err := e.ECR.DescribeImages(ctx, &ecr.DescribeImagesInput{RegistryId: aws.String(ref.Registry),
		RepositoryName: aws.String(ref.Repository), ImageIds: []ecrtypes.ImageIdentifier{id}})
	if err != nil {
		return "", classify(err, "image "+ref.String())
	}
	if len(out.ImageDetails) == 0 || aws.ToString(out.ImageDetails[0].ImageDigest) == "" {
		return "", newError(ErrConfig, "image %s: ECR returned no digest", ref)
	}
	return aws.ToString(out.ImageDetails[0].ImageDigest), nil
}

// describe reads services (at most 10 a call), paced by the read budget. Missing services come
// back as absent keys.
func (e *Engine) describe(ctx context.Context, names []string) (map[string]ecstypes.Service, error) {
	return e.describeWith(ctx, names, nil)
}

func (e *Engine) describeWith(ctx context.Context, names []string, include []ecstypes.ServiceField) (map[string]ecstypes.Service, error) {
	out := map[string]ecstypes.Service{}
	for i := 0; i < len(names); i += 10 {
		batch := names[i:min(i+10, len(names))]
		if err := e.pace(ctx, false); err != nil {
			return nil, err
		}
		res, err := e.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(e.Settings.Cluster), Services: batch, Include: include})
		if err != nil {
			return nil, classify(err, "DescribeServices")
		}
		for _, s := range res.Services {
			out[aws.ToString(s.ServiceName)] = s
		}
		// Services may be given as ARNs: index those too.
		for _, s := range res.Services {
			out[aws.ToString(s.ServiceArn)] = s
		}
	}
	return out, nil
}

// startDeployments checks every service before touching any, then forces a new deployment of
// each and pins it.
func (e *Engine) startDeployments(ctx context.Context, st *State) error {
	var todo []string
	for _, svc := range e.Settings.Services {
		if _, ok := st.Deployments[svc]; !ok {
			todo = append(todo, svc)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	services := e.preflightRead
	e.preflightRead = nil
	for _, name := range todo {
		if _, ok := services[name]; !ok {
			services = nil // resumed in a later invocation, or not read: read now
		}
	}
	if services == nil {
		if err := e.attempt(ctx, "reading the services", func(ctx context.Context) (err error) {
			services, err = e.describeWith(ctx, todo, []ecstypes.ServiceField{ecstypes.ServiceFieldTags})
			return err
		}); err != nil {
			return err
		}
	}
	// The preflight's checks again, on this read: a resumed Lambda action may come much later.
	var problems []string
	for _, name := range todo {
		s, ok := services[name]
		if c := serviceCheck(e.Settings, name, s, ok, nil); !c.OK {
			problems = append(problems, c.Message)
		}
	}
	if len(problems) > 0 {
		return newError(ErrConfig, "%s", strings.Join(problems, "; "))
	}
	for _, name := range todo {
		if isCodeDeploy(services[name]) {
			if err := e.startCodeDeploy(ctx, st, name, services[name]); err != nil {
				return err
			}
			continue
		}
		// Events up to now are history: the follow phase reports the ones after this id.
		if evs := services[name].Events; len(evs) > 0 && st.LastEvent[name] == "" {
			st.LastEvent[name] = aws.ToString(evs[0].Id)
		}
		if e.resume(st, name, services[name]) {
			continue
		}
		if _, ok := st.Before[name]; !ok {
			st.Before[name] = primaryID(services[name])
		}
		if err := e.startOne(ctx, st, name, services[name].ServiceArn); err != nil {
			return err
		}
	}
	return nil
}

// unknownWindow is how long an UpdateService whose outcome is unknown may still land: AWS
// applies a request it received within seconds or not at all. Each unknown outcome (5xx, reset,
// cut-off) that did not land costs this much before the call is sent again.
const unknownWindow = 8 * time.Second

// startOne forces the new deployment of one service and pins it. UpdateService is sent without
// SDK retries and never blindly again: after an unknown outcome the service is read until the
// deployment shows up (it is ours), and the call is sent again only after a successful read taken
// once unknownWindow has passed shows that it did not land. A failing read is no evidence.
func (e *Engine) startOne(ctx context.Context, st *State, name string, arn *string) error {
	noRetry := func(o *ecs.Options) { o.RetryMaxAttempts = 1 }
	for {
		if sent, ok := st.Unknown[name]; ok {
			readAt := e.now()
			services, err := e.describe(ctx, []string{name})
			if err == nil {
				if id := primaryID(services[name]); id != "" && id != st.Before[name] {
					delete(st.Unknown, name)
					st.Deployments[name] = id
					e.emit(Event{Kind: KindDeployment, Service: name, Deployment: id,
						Message: fmt.Sprintf("UpdateService's answer was lost, but deployment %s was started: following it", id)})
					return e.mark(ctx, st, name, arn, id)
				}
				if readAt.Sub(sent) >= unknownWindow {
					delete(st.Unknown, name) // read after the window, and it never landed: send again
				}
			} else if err := e.check(ctx, err, "reading "+name+" after an UpdateService with an unknown outcome", Event{Service: name}); err != nil {
				return err
			}
			if _, still := st.Unknown[name]; still {
				if err := sleep(ctx, e.Settings.Poll); err != nil {
					return err
				}
				continue
			}
		}
		if err := e.mark(ctx, st, name, arn, ""); err != nil {
			return err
		}
		st.Unknown[name] = e.now() // until an answer says otherwise
		in := &ecs.UpdateServiceInput{Cluster: aws.String(e.Settings.Cluster), Service: aws.String(name), ForceNewDeployment: true}
		if n := e.Settings.DesiredCount; n != nil {
			in.DesiredCount = aws.Int32(int32(*n))
		}
		out, err := e.ECS.UpdateService(ctx, in, noRetry)
		if err == nil && out.Service != nil {
			delete(st.Unknown, name)
			id := primaryID(*out.Service)
			st.Deployments[name] = id
			msg := fmt.Sprintf("started deployment %s of task definition %s", id, shortARN(aws.ToString(out.Service.TaskDefinition)))
			if in.DesiredCount != nil {
				msg += fmt.Sprintf(" with desired count %d", *in.DesiredCount)
			}
			e.emit(Event{Kind: KindDeployment, Service: name, Deployment: id, Message: msg})
			return e.mark(ctx, st, name, arn, id)
		}
		if rejected(err) {
			delete(st.Unknown, name) // a 4xx answer: nothing was applied
		}
		if err := e.check(ctx, classify(err, "UpdateService "+name), "UpdateService "+name, Event{Service: name}); err != nil {
			return err
		}
		if err := sleep(ctx, e.Settings.Poll); err != nil {
			return err
		}
	}
}

// rejected reports whether err is an answer that says the call was not applied (HTTP 4xx, such
// as throttling or validation), as opposed to no answer or a 5xx, whose outcome is unknown.
func rejected(err error) bool {
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() >= 400 && re.HTTPStatusCode() < 500
}

// runTag is the service tag that marks the deployment a release started:
// "<Identity.Marker> <the PRIMARY deployment it replaces> t=<unix seconds of the attempt>". It is
// written before each UpdateService, so a re-run of the same release or a re-delivered job event
// finds it whether or not the deployment was started, and knows whether an attempt may still
// land. Another release (another step of the same build) has another marker.
const runTag = "deploystep:run"

// resume adopts the deployment an earlier run of the same release started, if any; when that
// run's last attempt may still land, it makes startOne wait for it instead of sending another.
func (e *Engine) resume(st *State, name string, s ecstypes.Service) bool {
	if st.Run.Marker == "" {
		return false
	}
	var value string
	for _, t := range s.Tags {
		if aws.ToString(t.Key) == runTag {
			value = aws.ToString(t.Value)
		}
	}
	rest, ok := strings.CutPrefix(value, st.Run.Marker+" ")
	if !ok {
		return false
	}
	rest, started, _ := strings.Cut(rest, " d=")
	before, stamp, _ := strings.Cut(rest, " t=")
	st.Before[name] = before
	if started != "" {
		// The deployment this release started, PRIMARY or not (rolled back, replaced): the
		// re-run reports its outcome instead of deploying again.
		delete(st.Unknown, name)
		st.Deployments[name] = started
		e.emit(Event{Kind: KindDeployment, Service: name, Deployment: started,
			Message: fmt.Sprintf("resuming: deployment %s was started by an earlier run of this release; following it instead of starting another", started)})
		return true
	}
	id := primaryID(s)
	if id == "" || id == before {
		if secs, err := strconv.ParseInt(stamp, 10, 64); err == nil {
			if at := time.Unix(secs, 0); e.now().Sub(at) < unknownWindow {
				if prev, ok := st.Unknown[name]; !ok || at.After(prev) {
					st.Unknown[name] = at
				}
			}
		}
		return false // marked, but no deployment of ours yet: startOne waits or sends
	}
	delete(st.Unknown, name)
	st.Deployments[name] = id
	e.emit(Event{Kind: KindDeployment, Service: name, Deployment: id,
		Message: fmt.Sprintf("resuming: deployment %s was started by an earlier run of this release; following it instead of starting another", id)})
	return true
}

// mark tags the service with the run marker before an UpdateService, and again with the
// deployment it started once that is known. Without the permission the run goes on, but a re-run
// of the same release would start a second deployment.
func (e *Engine) mark(ctx context.Context, st *State, name string, arn *string, started string) error {
	if st.Run.Marker == "" {
		return nil
	}
	value := fmt.Sprintf("%s %s t=%d", st.Run.Marker, st.Before[name], e.now().Unix())
	if started != "" {
		value += " d=" + started
	}
	err := e.attempt(ctx, "TagResource "+name, func(ctx context.Context) error {
		_, err := e.ECS.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: arn,
			Tags: []ecstypes.Tag{{Key: aws.String(runTag), Value: aws.String(value)}}})
		return classify(err, "TagResource "+name)
	})
	if err != nil && ctx.Err() == nil && errors.Is(err, ErrConfig) {
		// Denied: the one final error that does not end the run, since the marker only serves a re-run.
		e.emit(Event{Kind: KindWarning, Service: name,
			Message: fmt.Sprintf("%v; going on without the re-run marker (a re-run of this release would start a second deployment)", err)})
		return nil
	}
	return err
}

func primaryID(s ecstypes.Service) string {
	for _, d := range s.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			return aws.ToString(d.Id)
		}
	}
	return ""
}

func shortARN(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }
