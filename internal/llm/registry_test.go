package llm_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/llm"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

func TestRegistryResolve(t *testing.T) {
	oa, err := llm.NewOpenAI(llm.Config{Name: "openrouter"})
	if err != nil {
		t.Fatal(err)
	}
	an, err := llm.NewAnthropic(llm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := llm.NewRegistry(oa, an)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in        string
		provider  string
		model     string
		wantError error
	}{
		{"anthropic/claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5", nil},
		{"openrouter/meta-llama/llama-3.1-70b", "openrouter", "meta-llama/llama-3.1-70b", nil},
		{"gpt-4o-mini", "openrouter", "gpt-4o-mini", nil},
		{" anthropic/claude-haiku-4-5 ", "anthropic", "claude-haiku-4-5", nil},
		{"groq/llama3", "", "", llm.ErrUnknownProvider},
		{"anthropic/", "", "", llm.ErrBadRequest},
		{"", "", "", llm.ErrBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			p, m, err := reg.Resolve(tc.in)
			if tc.wantError != nil {
				if !errors.Is(err, tc.wantError) {
					t.Fatalf("err = %v, want %v", err, tc.wantError)
				}
				return
			}
			if err != nil || p.Name() != tc.provider || m != tc.model {
				t.Fatalf("got %v %q %v", p, m, err)
			}
		})
	}
	if err := reg.Register(oa); err == nil {
		t.Error("duplicate registration accepted")
	}
	if got := strings.Join(reg.Names(), ","); got != "openrouter,anthropic" || reg.Len() != 2 {
		t.Errorf("names %q", got)
	}
	empty, _ := llm.NewRegistry()
	if _, _, err := empty.Resolve("x/y"); !errors.Is(err, llm.ErrNoProvider) {
		t.Errorf("empty registry: %v", err)
	}
}

func TestRegistryFromEnv(t *testing.T) {
	cases := []struct {
		name  string
		env   env
		names string
		urls  []string
	}{
		{"nothing", env{}, "", nil},
		{"openai key", env{"OPENAI_API_KEY": "k"}, "openai", []string{llm.DefaultOpenAIBaseURL}},
		{"ollama keyless", env{"OPENAI_BASE_URL": "http://localhost:11434/v1"}, "openai", []string{"http://localhost:11434/v1"}},
		{"anthropic key", env{"ANTHROPIC_API_KEY": "k"}, "anthropic", []string{llm.DefaultAnthropicBaseURL}},
		{"both", env{"OPENAI_API_KEY": "k", "ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": "https://proxy.example"},
			"openai,anthropic", []string{llm.DefaultOpenAIBaseURL, "https://proxy.example"}},
		{"blank values ignored", env{"OPENAI_API_KEY": "  ", "ANTHROPIC_API_KEY": ""}, "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfgs := llm.EnvConfigs(tc.env.get, llm.Config{})
			var names []string
			for i, c := range cfgs {
				names = append(names, c.Name)
				want := tc.urls[i]
				got := c.BaseURL
				if got == "" {
					got = map[llm.Kind]string{llm.KindOpenAI: llm.DefaultOpenAIBaseURL, llm.KindAnthropic: llm.DefaultAnthropicBaseURL}[c.Kind]
				}
				if got != want {
					t.Errorf("%s base URL %q, want %q", c.Name, got, want)
				}
			}
			if strings.Join(names, ",") != tc.names {
				t.Fatalf("providers %v, want %q", names, tc.names)
			}
			reg, err := llm.NewRegistryFromEnv(tc.env.get, llm.Config{})
			if tc.names == "" {
				if !errors.Is(err, llm.ErrNoProvider) {
					t.Fatalf("err = %v", err)
				}
				for _, s := range []string{"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL=http://localhost:11434/v1"} {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("ErrNoProvider message lacks %q", s)
					}
				}
				return
			}
			if err != nil || strings.Join(reg.Names(), ",") != tc.names {
				t.Fatalf("registry %v err %v", reg, err)
			}
		})
	}
}

// TestRegistryFromEnvEndToEnd: OPENAI_BASE_URL and ANTHROPIC_BASE_URL
// point at fake servers; the key env vars are sent the SDK way.
func TestRegistryFromEnvEndToEnd(t *testing.T) {
	oa := llmtest.NewOpenAI(llmtest.Options{APIKey: "oa-key"})
	defer oa.Close()
	an := llmtest.NewAnthropic(llmtest.Options{APIKey: "an-key"})
	defer an.Close()
	e := env{"OPENAI_API_KEY": "oa-key", "OPENAI_BASE_URL": oa.URL, "ANTHROPIC_API_KEY": "an-key", "ANTHROPIC_BASE_URL": an.URL}
	reg, err := llm.NewRegistryFromEnv(e.get, llm.Config{HTTPClient: oa.Client()})
	if err != nil {
		t.Fatal(err)
	}
	oa.Push(llmtest.Text("from openai"))
	an.Push(llmtest.Text("from anthropic"))
	for model, want := range map[string]string{"openai/gpt-x": "from openai", "anthropic/claude-x": "from anthropic"} {
		p, m, err := reg.Resolve(model)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := p.Chat(context.Background(), userReq(m, "hi"), func(llm.Delta) {})
		if err != nil || resp.Message.Content != want {
			t.Fatalf("%s: %+v %v", model, resp, err)
		}
	}
	if v := append(oa.Violations(), an.Violations()...); len(v) > 0 {
		t.Fatal(v)
	}
}
