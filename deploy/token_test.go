package deploy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func tokenSettings() Settings {
	return Settings{Cluster: "c", Services: []string{"api", "web"}, Distributions: []string{"E2QWRUHAPOMQZL"}, Paths: []string{"/*"}}
}

func tokenState(now time.Time) *State {
	return &State{Phase: PhaseFollow, Started: now.Add(-time.Minute), Run: Identity{Key: "job", Marker: "0123456789abcdef", CallerRef: "deploystep-job"},
		Digest: "sha256:" + strings.Repeat("a", 64), Before: map[string]string{"api": "ecs-svc/1", "web": "ecs-svc/2"},
		Deployments: map[string]string{"api": "ecs-svc/3", "web": "ecs-svc/4"}, Finished: map[string]bool{"api": true},
		Digests: map[string][]string{"api": {"sha256:" + strings.Repeat("a", 64), "sha256:" + strings.Repeat("a", 64)}},
		Phases:  map[string]float64{PhaseDeploy: 0.2, PhaseFollow: 60.5}}
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
	if got.Deployments["web"] != "ecs-svc/4" || !got.Finished["api"] || got.Run.Key != "job" || len(got.Digests["api"]) != 2 {
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
	strange, _ := EncodeToken(&State{Phase: PhaseFollow, Started: now, Run: Identity{Key: "k", Marker: "m", CallerRef: "x"}, Deployments: map[string]string{"db": "ecs-svc/9"}}, s)
	flip := []byte(good)
	flip[10] ^= 1
	cases := map[string]struct{ tok, want string }{
		"empty":             {"", "not a deploystep token"},
		"other format":      {"eyJhbGciOi.abc", "not a deploystep token"},
		"truncated":         {good[:len(good)-5], "checksum mismatch"},
		"cut before sum":    {good[:40], "truncated"},
		"one bit flipped":   {string(flip), "checksum mismatch"},
		"oversized":         {"ds1." + strings.Repeat("A", 3000), "more than CodePipeline's 2048"},
		"another action":    {foreign, "belongs to another action"},
		"no run identity":   {noKey, "run identity missing"},
		"started in future": {future, "in the future"},
		"unknown phase":     {badPhase, "unknown phase"},
		"unknown service":   {strange, `names service "db"`},
		"not base64":        {"ds1.!!!!." + "000000000000", "checksum mismatch"},
	}
	for name, c := range cases {
		_, err := DecodeToken(c.tok, s, now)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want a configuration error with %q", name, err, c.want)
		}
	}
}

func TestTokenTooManyServices(t *testing.T) {
	now := time.Now()
	s := tokenSettings()
	st := &State{Phase: PhaseFollow, Started: now, Run: Identity{Key: "k", Marker: "m", CallerRef: "x"}, Deployments: map[string]string{}, Before: map[string]string{}}
	for i := 0; i < 200; i++ {
		name := strings.Repeat("s", 40) + string(rune('a'+i%26)) + string(rune('a'+i/26))
		s.Services = append(s.Services, name)
		st.Deployments[name] = "ecs-svc/" + strings.Repeat("7", 19)
		st.Before[name] = "ecs-svc/" + strings.Repeat("3", 19) + name
	}
	if _, err := EncodeToken(st, s); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "deploy fewer services per action") {
		t.Fatalf("err = %v", err)
	}
	// The same settings are refused up front, before any state exists (issue: an oversized token
	// used to surface only at the first hand-over, after UpdateService had run).
	if err := tokenFits(s); !errors.Is(err, ErrConfig) {
		t.Fatalf("tokenFits(200 services) = %v, want a configuration error", err)
	}
	if err := tokenFits(tokenSettings()); err != nil {
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
		if err != nil && !errors.Is(err, ErrConfig) {
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
