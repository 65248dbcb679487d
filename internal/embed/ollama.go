package embed

import (
	"context"
	"encoding/json"
	"fmt"
)

// DefaultOllamaBaseURL is the default server root of the Ollama client.
const DefaultOllamaBaseURL = "http://localhost:11434"

// Ollama is a client of Ollama's native POST {BaseURL}/api/embed endpoint
// ({"model","input":[…]} → {"embeddings":[[…],…]}). It is safe for
// concurrent use.
type Ollama struct {
	t *transport
}

var _ Embedder = (*Ollama)(nil)

// NewOllama returns an Ollama native-API embeddings client.
func NewOllama(cfg Config) (*Ollama, error) {
	t, err := newTransport("ollama", DefaultOllamaBaseURL, cfg)
	if err != nil {
		return nil, err
	}
	return &Ollama{t: t}, nil
}

// Name returns "ollama:<model>/<dim>".
func (o *Ollama) Name() string { return fmt.Sprintf("ollama:%s/%d", o.t.cfg.Model, o.t.cfg.Dim) }

// Dim returns the configured dimension.
func (o *Ollama) Dim() int { return o.t.cfg.Dim }

type ollamaRequest struct {
	Model string   `json:"model"`
	Input []string `json:"input"`
}

type ollamaResponse struct {
	Model      string      `json:"model"`
	Embeddings [][]float64 `json:"embeddings"`
}

// Embed embeds texts in batches of Config.BatchSize.
func (o *Ollama) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return batches(ctx, texts, o.t.cfg.BatchSize, o.embedBatch)
}

func (o *Ollama) embedBatch(ctx context.Context, texts []string) ([][]float32, error) {
	var resp ollamaResponse
	req := ollamaRequest{Model: o.t.cfg.Model, Input: texts}
	if err := o.t.post(ctx, o.t.cfg.BaseURL+"/api/embed", req, &resp, decodeOllamaError); err != nil {
		return nil, err
	}
	return checkVectors("ollama", resp.Embeddings, len(texts), o.t.cfg.Dim)
}

// decodeOllamaError reads {"error":"message"}.
func decodeOllamaError(b []byte) (code, typ, msg string) {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &e) != nil {
		return "", "", ""
	}
	return "", "", e.Error
}
