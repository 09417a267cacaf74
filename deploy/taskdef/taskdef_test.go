package taskdef

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/settings"
	"github.com/deploystep/deploystep/internal/testtool"
)

// The copy that registers a base again is whole: every member of RegisterTaskDefinitionInput
// is taken from the description (same name, same type) but the tags, which come apart; every
// member of the description is registered again or is one ECS sets. A member the SDK adds later
// fails here instead of being dropped.
func TestCopyInputIsWhole(t *testing.T) {
	in, td := reflect.TypeOf(ecs.RegisterTaskDefinitionInput{}), reflect.TypeOf(ecstypes.TaskDefinition{})
	for i := 0; i < in.NumField(); i++ {
		f := in.Field(i)
		if !f.IsExported() || f.Name == "Tags" {
			continue
		}
		if g, ok := td.FieldByName(f.Name); !ok || g.Type != f.Type {
			t.Errorf("RegisterTaskDefinitionInput.%s has no twin in TaskDefinition: copyInput would drop it", f.Name)
		}
	}
	for i := 0; i < td.NumField(); i++ {
		f := td.Field(i)
		if _, ok := in.FieldByName(f.Name); f.IsExported() && !ok && !slices.Contains(readOnlyMembers, f.Name) {
			t.Errorf("TaskDefinition.%s is neither registered again nor in readOnlyMembers", f.Name)
		}
	}
	// Every member set: the copy has every member set, to the same value.
	full := &ecstypes.TaskDefinition{}
	fill(reflect.ValueOf(full).Elem())
	tags := []ecstypes.Tag{{Key: aws.String("team"), Value: aws.String("gallery")}, {Key: aws.String("aws:cloudformation:stack-name"), Value: aws.String("tsa")},
		{Key: aws.String(releaseTag), Value: aws.String("an earlier release")}}
	got := copyInput(full, tags)
	v := reflect.ValueOf(got).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		if !f.IsExported() || f.Name == "Tags" {
			continue
		}
		if want := reflect.ValueOf(full).Elem().FieldByName(f.Name); !reflect.DeepEqual(v.Field(i).Interface(), want.Interface()) {
			t.Errorf("%s was not copied", f.Name)
		}
	}
	if len(got.Tags) != 1 || aws.ToString(got.Tags[0].Key) != "team" {
		t.Errorf("tags = %v; want the user's only (no aws: tag, no earlier release's mark)", got.Tags)
	}
}

// fill sets every exported member of v, recursively, to a non-zero value.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Unix(1764000000, 0)))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		v.SetMapIndex(k, e)
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Float64:
		v.SetFloat(1.5)
	}
}

// The SDK's types against botocore's model (the API reference in machine-readable form): every
// member path the model gives RegisterTaskDefinition's request and DescribeTaskDefinition's
// TaskDefinition is a field of the SDK types deploystep decodes and sends. A member the pinned SDK
// lacks would be dropped silently from every revision the release registers.
func TestTaskDefinitionMembersAgainstBotocore(t *testing.T) {
	py := testtool.Python(t, "botocore")
	out, err := exec.Command(py, "testdata/taskdef_members.py").Output()
	if err != nil {
		t.Fatal(err)
	}
	roots := map[string]reflect.Type{"register": reflect.TypeOf(ecs.RegisterTaskDefinitionInput{}), "describe": reflect.TypeOf(ecstypes.TaskDefinition{})}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		root, path, _ := strings.Cut(line, " ")
		if _, ok := fieldAt(roots[root], path); !ok {
			t.Errorf("%s member %s (botocore) is not in the SDK's types", root, path)
		}
		n++
	}
	if n < 100 {
		t.Fatalf("only %d member paths from botocore's model", n)
	}
	if _, ok := fieldAt(roots["register"], "containerDefinitions[].notAMember"); ok {
		t.Fatal("fieldAt finds a member that does not exist: the test proves nothing")
	}
}

// fieldAt follows a model path (a.b[].c, m{}) through Go types, matching names as the SDK does
// (the model's name with its first letter upper-cased, compared case-insensitively).
func fieldAt(t reflect.Type, path string) (reflect.Type, bool) {
	for _, seg := range strings.Split(path, ".") {
		name := strings.TrimRight(seg, "[]{}")
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		f, ok := t.FieldByNameFunc(func(s string) bool { return strings.EqualFold(s, name) })
		if !ok {
			return nil, false
		}
		t = f.Type
		for rest := seg[len(name):]; rest != ""; rest = rest[2:] {
			for t.Kind() == reflect.Pointer {
				t = t.Elem()
			}
			t = t.Elem() // a slice's or a map's element
		}
	}
	return t, true
}

// pinImage pins the containers of IMAGE's repository and the placeholder, and only those.
func TestPinImage(t *testing.T) {
	ref, _ := settings.ParseImage("123456789012.dkr.ecr.us-east-1.amazonaws.com/tsa/gallery:3f2c1ab")
	digest := "sha256:" + strings.Repeat("a", 64)
	repo := "123456789012.dkr.ecr.us-east-1.amazonaws.com/tsa/gallery"
	cases := []struct {
		name   string
		images []string
		want   []string // the images after, or nil for a configuration error
	}{
		{"a tag", []string{repo + ":latest"}, []string{repo + "@" + digest}},
		{"an older digest", []string{repo + "@sha256:" + strings.Repeat("b", 64)}, []string{repo + "@" + digest}},
		{"no tag", []string{repo}, []string{repo + "@" + digest}},
		{"the placeholder", []string{ImagePlaceholder}, []string{repo + "@" + digest}},
		{"a sidecar is left alone", []string{repo + ":v1", "public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0"},
			[]string{repo + "@" + digest, "public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0"}},
		{"another repository with the same prefix", []string{repo + "-worker:v1"}, nil},
		{"another region", []string{"123456789012.dkr.ecr.eu-west-1.amazonaws.com/tsa/gallery:v1"}, nil},
		{"another account", []string{"999999999999.dkr.ecr.us-east-1.amazonaws.com/tsa/gallery:v1"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := &ecs.RegisterTaskDefinitionInput{Family: aws.String("api")}
			for i, img := range c.images {
				in.ContainerDefinitions = append(in.ContainerDefinitions, ecstypes.ContainerDefinition{Name: aws.String([]string{"api", "otel"}[i]), Image: aws.String(img)})
			}
			_, err := pinImage(in, ref, digest, "api:1 (the service's)")
			if c.want == nil {
				if err == nil || failure.ExitCode(err) != 2 || !strings.Contains(err.Error(), "matches no container of api:1 (the service's)") || !strings.Contains(err.Error(), "api ("+c.images[0]+")") {
					t.Fatalf("err = %v; want exit 2 naming the containers and their images", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range c.want {
				if got := aws.ToString(in.ContainerDefinitions[i].Image); got != w {
					t.Errorf("container %d: %s, want %s", i, got, w)
				}
			}
		})
	}
}

// A task definition file: the CLI's input object, or a saved describe answer; bad ones are
// exit 2 naming the member.
func TestReadTaskDefFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := `{"family":"api","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"512","memory":"1024",
	  "containerDefinitions":[{"name":"api","image":"<IMAGE1_NAME>","essential":true,"portMappings":[{"containerPort":3000,"protocol":"tcp"}]}],
	  "tags":[{"key":"team","value":"gallery"}]}`
	saved := `{"taskDefinition":{"taskDefinitionArn":"arn:aws:ecs:us-east-1:123456789012:task-definition/api:7","revision":7,"status":"ACTIVE",
	  "registeredAt":"2026-11-30T10:00:00.000Z","registeredBy":"arn:aws:iam::123456789012:user/alice","compatibilities":["EC2","FARGATE"],
	  "requiresAttributes":[{"name":"ecs.capability.execution-role-awslogs"}],"family":"api","networkMode":"awsvpc",
	  "containerDefinitions":[{"name":"api","image":"123456789012.dkr.ecr.us-east-1.amazonaws.com/tsa/gallery:v1"}]},"tags":[{"key":"team","value":"gallery"}]}`
	cases := []struct {
		name, body, want string // want "" for a good file
	}{
		{"the CLI's input", good, ""},
		{"a saved describe answer", saved, ""},
		{"a misspelled member", strings.Replace(good, `"essential"`, `"esential"`, 1), `unknown field "esential"`},
		{"no family", strings.Replace(good, `"family":"api",`, "", 1), "family is required"},
		{"a bad family", strings.Replace(good, `"family":"api"`, `"family":"tsa gallery"`, 1), `family "tsa gallery": up to 255 letters`},
		{"no containers", `{"family":"api","containerDefinitions":[]}`, "containerDefinitions is required"},
		{"a container without an image", `{"family":"api","containerDefinitions":[{"name":"api"}]}`, "containerDefinitions[0].image is required"},
		{"a bad network mode", strings.Replace(good, `"awsvpc"`, `"vpc"`, 1), `networkMode "vpc" is not one of`},
		{"a reserved tag", strings.Replace(good, `"key":"team"`, `"key":"aws:team"`, 1), "the aws: prefix is reserved"},
		{"not JSON", `family: api`, "is not a JSON object"},
		{"a wrong type", strings.Replace(good, `"cpu":"512"`, `"cpu":512`, 1), "cannot unmarshal number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in, err := readTaskDefFile(write(strings.ReplaceAll(c.name, " ", "_")+".json", c.body))
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if aws.ToString(in.Family) != "api" || len(in.ContainerDefinitions) != 1 || len(in.Tags) != 1 {
					t.Fatalf("read %+v", in)
				}
				return
			}
			if err == nil || failure.ExitCode(err) != 2 || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v; want exit 2 with %q", err, c.want)
			}
		})
	}
	if _, err := readTaskDefFile(filepath.Join(dir, "missing.json")); err == nil || failure.ExitCode(err) != 2 || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("a missing file: %v", err)
	}
}
