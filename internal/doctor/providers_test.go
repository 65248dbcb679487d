//go:build !nollm

package doctor

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/llm"
)

func TestLandlock(t *testing.T) {
	for _, mode := range []string{"required", "best_effort", "off"} {
		got := one(t, Landlock(mode))
		if got.Status == apitype.DoctorFail || (mode == "off" && got.Status != apitype.DoctorWarn) {
			t.Errorf("%s: %+v", mode, got)
		}
	}
}

func TestProviders(t *testing.T) {
	if got := one(t, Providers(nil)); got.Status != apitype.DoctorWarn || got.Name != "providers" {
		t.Fatalf("none: %+v", got)
	}
	var calls atomic.Int32
	ps := []Provider{
		{Name: "up", Endpoint: "http://127.0.0.1:1/v1", Models: func(ctx context.Context) ([]llm.Model, error) {
			calls.Add(1)
			if _, ok := ctx.Deadline(); !ok {
				return nil, errors.New("no deadline")
			}
			return []llm.Model{{ID: "a"}, {ID: "b"}}, nil
		}},
		{Name: "down", Endpoint: "https://api.example.com", Models: func(context.Context) ([]llm.Model, error) {
			calls.Add(1)
			return nil, errors.New("401: Incorrect API key provided: sk-abcdefghijklmnopqrstuvwx")
		}},
	}
	out := Run(context.Background(), Providers(ps))
	if len(out) != 2 || calls.Load() != 2 {
		t.Fatalf("%+v", out)
	}
	if out[0].Name != "provider up" || out[0].Status != apitype.DoctorOK || !strings.Contains(out[0].Message, "2 models") {
		t.Errorf("up: %+v", out[0])
	}
	if out[1].Status != apitype.DoctorFail || strings.Contains(out[1].Message, "abcdefghijklmnop") || out[1].Fix == "" {
		t.Errorf("down: %+v", out[1])
	}
	ps = FromConfigs([]llm.Config{{Name: "bad", Kind: "nonsense"}})
	if got := Run(context.Background(), Providers(ps)); got[0].Status != apitype.DoctorFail || !strings.Contains(got[0].Message, "kind") {
		t.Errorf("unbuildable provider: %+v", got)
	}
}

func TestEndpointName(t *testing.T) {
	for in, want := range map[string]string{
		"":                                   "the vendor's API",
		"https://user:pw@llm.example/v1?k=1": "https://llm.example/v1",
		"http://localhost:11434/v1":          "http://localhost:11434/v1",
		"::bad":                              "the configured base URL",
	} {
		if got := EndpointName(in); got != want {
			t.Errorf("EndpointName(%q) = %q, want %q", in, got, want)
		}
	}
}
