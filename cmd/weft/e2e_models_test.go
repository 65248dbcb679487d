package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/llm/llmtest"
)

// TestDefaultModel: with one provider and no agents.model, a run without
// --model uses the provider's only model (as a llama.cpp or vLLM server
// serves one); a provider entry's own model wins; with two providers the
// run must name one, and the error says which exist.
func TestDefaultModel(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{Models: []string{"only-model"}, Handler: func(llmtest.Request) llmtest.Turn { return llmtest.Text("hi there") }})
	defer srv.Close()
	c := newWeft(t, srv)
	if out, errs, code := c.run("agent", "-m", "hello"); code != 0 || !strings.Contains(out, "hi there") {
		t.Fatalf("run without --model: %d %q %q", code, out, errs)
	}
	if got := srv.ChatRequests()[0].Map()["model"]; got != "only-model" {
		t.Fatalf("the run used model %v", got)
	}
	out, errs, code := c.run("models")
	if code != 0 || !strings.Contains(out, "openai/only-model") || !strings.Contains(out, "default") {
		t.Fatalf("models: %d %q %q", code, out, errs)
	}

	// Several models on the one server: the run must choose, and is told
	// which exist.
	many := llmtest.NewOpenAI(llmtest.Options{Models: []string{"a", "b"}})
	defer many.Close()
	c2 := newWeft(t, many)
	if _, errs, code := c2.run("agent", "-m", "hello"); code != 2 || !strings.Contains(errs, "openai/a, openai/b") {
		t.Fatalf("two models, no choice: %d %q", code, errs)
	}
	// A [[providers]] entry may name its default model.
	writeFile(t, filepath.Join(c2.home, "weftos.toml"), "[[providers]]\nname = \"openai\"\nkind = \"openai\"\nbase_url = \""+many.URL+"\"\napi_key_env = \"OPENAI_API_KEY\"\nmodel = \"b\"\n")
	many.Push(llmtest.Text("from b"))
	if out, errs, code := c2.run("agent", "-m", "hello"); code != 0 || !strings.Contains(out, "from b") {
		t.Fatalf("provider's model: %d %q %q", code, out, errs)
	}
	if got := many.ChatRequests()[0].Map()["model"]; got != "b" {
		t.Fatalf("the run used model %v, want the provider entry's b", got)
	}
}

// TestModelsWithAFailingProvider: `weft models` lists the models of every
// provider that answers and names the one that does not; it fails only
// when none answers.
func TestModelsWithAFailingProvider(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{Models: []string{"m1", "m2"}})
	defer srv.Close()
	c := newWeft(t, srv)
	writeFile(t, filepath.Join(c.home, "weftos.toml"), "[[providers]]\nname = \"deadlocal\"\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:1/v1\"\n")
	out, errs, code := c.run("models")
	if code != 0 || !strings.Contains(out, "openai/m1") || !strings.Contains(out, "openai/m2") || !strings.Contains(errs, "provider deadlocal:") {
		t.Fatalf("models: %d\n%s\n%s", code, out, errs)
	}
	if _, errs, code := c.run("models", "deadlocal"); code != 1 || !strings.Contains(errs, "deadlocal") {
		t.Fatalf("models of the dead provider only: %d %q", code, errs)
	}
}
