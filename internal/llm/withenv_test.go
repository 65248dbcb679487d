package llm_test

import (
	"slices"
	"testing"

	"github.com/weftos/weftos/internal/llm"
)

func TestWithEnvConfigs(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cases := []struct {
		name string
		file []llm.Config
		env  map[string]string
		want []string
	}{
		{"nothing", nil, nil, nil},
		{"env only", nil, map[string]string{"OPENAI_API_KEY": "k", "ANTHROPIC_API_KEY": "k"}, []string{"openai", "anthropic"}},
		{"file first", []llm.Config{{Name: "ollama", Kind: llm.KindOpenAI}}, map[string]string{"ANTHROPIC_API_KEY": "k"}, []string{"ollama", "anthropic"}},
		{"the file's name wins", []llm.Config{{Name: "openai", Kind: llm.KindOpenAI, BaseURL: "http://127.0.0.1:1/v1"}},
			map[string]string{"OPENAI_API_KEY": "k"}, []string{"openai"}},
	}
	for _, c := range cases {
		got := llm.WithEnvConfigs(c.file, env(c.env), llm.Config{})
		var names []string
		for _, g := range got {
			names = append(names, g.Name)
		}
		if !slices.Equal(names, c.want) {
			t.Errorf("%s: %v, want %v", c.name, names, c.want)
		}
		if c.name == "the file's name wins" && got[0].BaseURL != "http://127.0.0.1:1/v1" {
			t.Errorf("the environment replaced the file's provider: %+v", got[0])
		}
	}
}
