package state

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/deploystep/deploystep/deploy/failure"
	"github.com/deploystep/deploystep/deploy/settings"
)

func tokenSettings() settings.Settings {
	return settings.Settings{Cluster: "c", Services: []string{"api", "web"}, Distributions: []string{"E2QWRUHAPOMQZL"}, Paths: []string{"/*"}}
}

func tokenState(now time.Time) *State {
	return &State{Phase: PhaseFollow, Started: now.Add(-time.Minute), Run: Identity{Key: "job", Marker: "0123456789abcdef", CallerRef: "deploystep-job"},
		Digest: "sha256:" + strings.Repeat("a", 64),
		Services: map[string]*ServiceState{
			"api": {Controller: ControllerECS, Sending: Sending{Before: "ecs-svc/1"}, Deployment: "ecs-svc/3", Finished: true,
				TaskDigests: TaskDigests{Digests: []string{"sha256:" + strings.Repeat("a", 64), "sha256:" + strings.Repeat("a", 64)}, DigestReads: 1}},
			"web": {Controller: ControllerECS, Sending: Sending{Before: "ecs-svc/2"}, Deployment: "ecs-svc/4"}},
		Phases: map[string]float64{PhaseDeploy: 0.2, PhaseFollow: 60.5}}
}

func TestTokenRoundTrip(t *testing.T) {
	now := time.Now()
	s := tokenSettings()
	tok, err := EncodeToken(tokenState(now), s)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) > 2048 || !strings.HasPrefix(tok, "ds1.") {
		t.Fatalf("token %d characters: %q", len(tok), tok)
	}
	got, err := DecodeToken(tok, s, now)
	if err != nil {
		t.Fatal(err)
	}
	if got.Services["web"].Deployment != "ecs-svc/4" || !got.Services["api"].Finished || got.Run.Key != "job" || len(got.Services["api"].Digests) != 2 {
		t.Fatalf("round trip lost state: %+v", got)
	}
}

func TestTokenRejects(t *testing.T) {
	now := time.Now()
	s := tokenSettings()
	good, _ := EncodeToken(tokenState(now), s)
	other := s
	other.Services = []string{"api"}
	foreign, _ := EncodeToken(&State{Phase: PhaseFollow, Started: now, Run: Identity{Key: "k", Marker: "m", CallerRef: "x"}}, other)
	noKey, _ := EncodeToken(&State{Phase: PhaseFollow, Started: now, Run: Identity{CallerRef: "x"}}, s)
	future, _ := EncodeToken(&State{Phase: PhaseFollow, Started: now.Add(time.Hour), Run: Identity{Key: "k", Marker: "m", CallerRef: "x"}}, s)
	badPhase, _ := EncodeToken(&State{Phase: "launch", Started: now, Run: Identity{Key: "k", Marker: "m", CallerRef: "x"}}, s)
	strange, _ := EncodeToken(&State{Phase: PhaseFollow, Started: now, Run: Identity{Key: "k", Marker: "m", CallerRef: "x"}, Services: map[string]*ServiceState{"db": {Deployment: "ecs-svc/9"}}}, s)
	badController, _ := EncodeToken(&State{Phase: PhaseFollow, Started: now, Run: Identity{Key: "k", Marker: "m", CallerRef: "x"}, Services: map[string]*ServiceState{"api": {Controller: "EXTERNAL"}}}, s)
	badVerified, _ := EncodeToken(&State{Phase: PhaseFollow, Started: now, Run: Identity{Key: "k", Marker: "m", CallerRef: "x"}, Verified: map[int]string{3: "3f2c1ab"}}, s)
	flip := []byte(good)
	flip[10] ^= 1
	cases := map[string]struct{ tok, want string }{
		"empty":              {"", "not a deploystep token"},
		"other format":       {"eyJhbGciOi.abc", "not a deploystep token"},
		"truncated":          {good[:len(good)-5], "checksum mismatch"},
		"cut before sum":     {good[:40], "truncated"},
		"one bit flipped":    {string(flip), "checksum mismatch"},
		"oversized":          {"ds1." + strings.Repeat("A", 3000), "more than CodePipeline's 2048"},
		"another action":     {foreign, "belongs to another action"},
		"no run identity":    {noKey, "run identity missing"},
		"started in future":  {future, "in the future"},
		"unknown phase":      {badPhase, "unknown phase"},
		"unknown service":    {strange, `names service "db"`},
		"unknown controller": {badController, `unknown controller "EXTERNAL"`},
		"unknown URL":        {badVerified, "verified URL 3"},
		"not base64":         {"ds1.!!!!." + "000000000000", "checksum mismatch"},
	}
	for name, c := range cases {
		_, err := DecodeToken(c.tok, s, now)
		if !errors.Is(err, failure.ErrConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want a configuration error with %q", name, err, c.want)
		}
	}
}

func TestTokenTooManyServices(t *testing.T) {
	now := time.Now()
	s := tokenSettings()
	st := &State{Phase: PhaseFollow, Started: now, Run: Identity{Key: "k", Marker: "m", CallerRef: "x"}, Services: map[string]*ServiceState{}}
	for i := 0; i < 200; i++ {
		name := fmt.Sprintf("tsa-gallery-worker-%03d", i)
		s.Services = append(s.Services, name)
		st.Services[name] = &ServiceState{Deployment: fmt.Sprintf("ecs-svc/%019d", 1234567890123456789+i*7919),
			Sending: Sending{Before: fmt.Sprintf("ecs-svc/%019d", 2234567890123456789+i*104729)}}
	}
	if _, err := EncodeToken(st, s); !errors.Is(err, failure.ErrConfig) || !strings.Contains(err.Error(), "deploy fewer services per action") {
		t.Fatalf("err = %v", err)
	}
	// The same settings are refused up front, before any state exists (issue: an oversized token
	// used to surface only at the first hand-over, after UpdateService had run).
	if err := TokenFits(s); !errors.Is(err, failure.ErrConfig) {
		t.Fatalf("tokenFits(200 services) = %v, want a configuration error", err)
	}
	if err := TokenFits(tokenSettings()); err != nil {
		t.Fatalf("tokenFits(2 services) = %v", err)
	}
}

func FuzzDecodeToken(f *testing.F) {
	now := time.Now()
	s := tokenSettings()
	good, _ := EncodeToken(tokenState(now), s)
	for _, seed := range []string{good, good[:len(good)/2], "ds1.", "ds1..", "ds1.AAAA.000000000000", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		st, err := DecodeToken(tok, s, now)
		if err == nil && st == nil {
			t.Fatal("no state and no error")
		}
		if err != nil && !errors.Is(err, failure.ErrConfig) {
			t.Fatalf("error of the wrong class: %v", err)
		}
	})
}

func BenchmarkTokenRoundTrip(b *testing.B) {
	now := time.Now()
	s := tokenSettings()
	st := tokenState(now)
	for i := 0; i < b.N; i++ {
		tok, _ := EncodeToken(st, s)
		if _, err := DecodeToken(tok, s, now); err != nil {
			b.Fatal(err)
		}
	}
}

// The worst case fills every field of the state, found by reflection: a field added later that
// the worst case leaves out fails here, instead of overflowing a token in production.
func TestWorstStateFillsEveryField(t *testing.T) {
	s := tokenSettings()
	s.VerifyURLs = []string{"https://d111111abcdef8.cloudfront.net/api/health", "https://d111111abcdef8.cloudfront.net/static/app.js"}
	s.PredeployCommand = "npm run migrate"
	for _, missing := range zeroFields(reflect.ValueOf(*worstState(s)), "State") {
		t.Errorf("the worst-case state leaves %s empty", missing)
	}
}

// zeroFields lists the fields of v (a struct), and of the structs every entry of its maps,
// slices and pointers holds, that are zero; a field a token does not carry (json:"-") is not one.
func zeroFields(v reflect.Value, path string) []string {
	var out []string
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			if v.Interface().(time.Time).IsZero() {
				out = append(out, path)
			}
			return out
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).Tag.Get("json") == "-" { // not in a token
				continue
			}
			out = append(out, zeroFields(v.Field(i), path+"."+v.Type().Field(i).Name)...)
		}
	case reflect.Map, reflect.Slice:
		if v.Len() == 0 {
			return append(out, path)
		}
		// Every entry: a worst case whose one service is filled and whose others are not is not
		// the worst case.
		if v.Kind() == reflect.Map {
			for _, k := range v.MapKeys() {
				out = append(out, zeroFields(v.MapIndex(k), fmt.Sprintf("%s[%v]", path, k))...)
			}
		} else {
			for i := 0; i < v.Len(); i++ {
				out = append(out, zeroFields(v.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	case reflect.Pointer:
		if v.IsNil() {
			return append(out, path)
		}
		out = append(out, zeroFields(v.Elem(), path)...)
	default:
		if v.IsZero() {
			out = append(out, path)
		}
	}
	return out
}
