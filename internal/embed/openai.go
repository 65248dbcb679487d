package embed

import (
	"context"
	"encoding/json"
	"fmt"
)

// DefaultOpenAIBaseURL is the default base URL of the OpenAI client.
const DefaultOpenAIBaseURL = "https://api.openai.com/v1"

// OpenAI is a client of the OpenAI-compatible POST {BaseURL}/embeddings
// endpoint. It is safe for concurrent use.
type OpenAI struct {
	t *transport
}

var _ Embedder = (*OpenAI)(nil)

// NewOpenAI returns an OpenAI-compatible embeddings client.
func NewOpenAI(cfg Config) (*OpenAI, error) {
	t, err := newTransport("openai", DefaultOpenAIBaseURL, cfg)
	if err != nil {
		return nil, err
	}
	return &OpenAI{t: t}, nil
}

// Name returns "openai:<model>/<dim>".
func (o *OpenAI) Name() string { return fmt.Sprintf("openai:%s/%d", o.t.cfg.Model, o.t.cfg.Dim) }

// Dim returns the configured dimension.
func (o *OpenAI) Dim() int { return o.t.cfg.Dim }

type openAIRequest struct {
	Model          string   `json:"model"`
	Input          []string `json:"input"`
	EncodingFormat string   `json:"encoding_format"`
	Dimensions     int      `json:"dimensions,omitempty"`
}

type openAIResponse struct {
	Object string `json:"object"`
	Data   []struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float64 `json:"embedding"`
	} `json:"data"`
	Model string `json:"model"`
}

// Embed embeds texts in batches of Config.BatchSize.
func (o *OpenAI) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return batches(ctx, texts, o.t.cfg.BatchSize, o.embedBatch)
}

func (o *OpenAI) embedBatch(ctx context.Context, texts []string) ([][]float32, error) {
	req := openAIRequest{Model: o.t.cfg.Model, Input: texts, EncodingFormat: "float"}
	if o.t.cfg.SendDimensions {
		req.Dimensions = o.t.cfg.Dim
	}
	var resp openAIResponse
	if err := o.t.post(ctx, o.t.cfg.BaseURL+"/embeddings", req, &resp, decodeOpenAIError); err != nil {
		return nil, err
	}
	// data items carry their index; servers may return them in any order.
	vecs := make([][]float64, len(texts))
	for _, d := range resp.Data {
		if d.Index < 0 || d.Index >= len(texts) || vecs[d.Index] != nil {
			return nil, fmt.Errorf("embed: openai: %w: bad or repeated index %d", ErrBadResponse, d.Index)
		}
		vecs[d.Index] = d.Embedding
		if vecs[d.Index] == nil {
			vecs[d.Index] = []float64{}
		}
	}
	if len(resp.Data) != len(texts) {
		return nil, fmt.Errorf("embed: openai: %w: %d embeddings for %d inputs", ErrBadResponse, len(resp.Data), len(texts))
	}
	return checkVectors("openai", vecs, len(texts), o.t.cfg.Dim)
}

// decodeOpenAIError reads {"error":{"message","type","code"}}; code may be
// a string or a number.
func decodeOpenAIError(b []byte) (code, typ, msg string) {
	var e struct {
		Error struct {
			Message string          `json:"message"`
			Type    string          `json:"type"`
			Code    json.RawMessage `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &e) != nil {
		return "", "", ""
	}
	var s string
	if json.Unmarshal(e.Error.Code, &s) == nil {
		code = s
	} else if len(e.Error.Code) > 0 && string(e.Error.Code) != "null" {
		code = string(e.Error.Code)
	}
	return code, e.Error.Type, e.Error.Message
}
