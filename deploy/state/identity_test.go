package state

import (
	"strings"
	"testing"

	"github.com/deploystep/deploystep/deploy/settings"
)

func TestIdentity(t *testing.T) {
	api := settings.Settings{Cluster: "c", Services: []string{"api"}, Distributions: []string{"E2QWRUHAPOMQZL"}, Paths: []string{"/*"}}
	web := api
	web.Services = []string{"web"}
	newImage := api
	newImage.Image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tsa/gallery:4a1b2c3"
	build := "tsa-gallery-build:0b5f3c52-8a8e-4c0e-9d1b-6d2a3f9e1c77"

	a, again := NewIdentity(api, build), NewIdentity(api, build)
	if a != again || a.Marker == "" || !strings.HasPrefix(a.CallerRef, "deploystep-"+build+"-") {
		t.Errorf("same step, same build: %+v vs %+v", a, again)
	}
	// Another step of the same build is another release: its own marker and invalidation.
	for name, other := range map[string]settings.Settings{"other service": web, "other image": newImage} {
		if b := NewIdentity(other, build); b.Marker == a.Marker || b.CallerRef == a.CallerRef {
			t.Errorf("%s shares the identity: %+v vs %+v", name, b, a)
		}
	}
	if b := NewIdentity(api, "tsa-gallery-build:11111111-2222-3333-4444-555555555555"); b.Marker == a.Marker || b.CallerRef == a.CallerRef {
		t.Errorf("another build shares the identity")
	}
	explicit := api
	explicit.CallerReference = "mine"
	if got := NewIdentity(explicit, build).CallerRef; got != "mine" {
		t.Errorf("CALLER_REFERENCE: %q", got)
	}
	if x, y := NewIdentity(api, ""), NewIdentity(api, ""); x.CallerRef == y.CallerRef || x.Marker != "" {
		t.Errorf("without a key: %+v %+v", x, y)
	}
	long := NewIdentity(api, strings.Repeat("x", 200))
	if len(long.CallerRef) > 128 || NewIdentity(api, strings.Repeat("x", 199)+"y").CallerRef == long.CallerRef {
		t.Errorf("long key: %q", long.CallerRef)
	}
}
