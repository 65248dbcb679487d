package memory_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/embed"
	"github.com/weftos/weftos/internal/memory"
)

// conceptServer is a fake OpenAI-compatible embeddings server with a tiny
// "semantic" model: each dimension is a concept, and a text's vector
// counts the words of each concept it contains — so "artwork" and "I
// painted a sunrise" are similar without sharing a word.
func conceptServer(t *testing.T) *httptest.Server {
	concepts := [][]string{
		{"art", "artwork", "paint", "painted", "painting", "canvas", "sunrise"},
		{"pet", "pets", "dog", "puppy", "cat", "kitten"},
		{"travel", "trip", "flight", "journey", "beach"},
		{"food", "dinner", "pizza", "recipe", "cook"},
	}
	embedText := func(text string) []float64 {
		v := make([]float64, len(concepts))
		for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return r < 'a' || r > 'z' }) {
			for i, c := range concepts {
				for _, cw := range c {
					if w == cw {
						v[i]++
					}
				}
			}
		}
		return v
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/embeddings" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		var req struct {
			Model string   `json:"model"`
			Input []string `json:"input"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		type item struct {
			Object    string    `json:"object"`
			Index     int       `json:"index"`
			Embedding []float64 `json:"embedding"`
		}
		out := struct {
			Object string `json:"object"`
			Data   []item `json:"data"`
			Model  string `json:"model"`
		}{Object: "list", Model: req.Model}
		for i, in := range req.Input {
			out.Data = append(out.Data, item{"embedding", i, embedText(in)})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestDenseJoinsFusion: with a semantic (HTTP) embedder, the vectors are
// part of the default fusion and find what shares no word with the query.
func TestDenseJoinsFusion(t *testing.T) {
	ctx := context.Background()
	srv := conceptServer(t)
	emb, err := embed.NewOpenAI(embed.Config{BaseURL: srv.URL + "/v1", Model: "concepts", Dim: 4, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	if w := memory.DefaultWeightsFor(emb); w.Vector == 0 {
		t.Fatalf("default weights for a semantic embedder leave the vectors out: %+v", w)
	}
	if w := memory.DefaultWeightsFor(lexical(t, 0).Embedder); w.Vector != 0 {
		t.Fatalf("default weights for the lexical embedder use its vectors: %+v", w)
	}
	s := open(t, t.TempDir(), emb, true)
	defer closeStore(t, s)
	for _, text := range []string{
		"I painted a sunrise over the lake.",
		"We adopted a puppy last week.",
		"The flight to Lisbon was delayed.",
		"Grandma's pizza recipe uses honey.",
	} {
		if _, _, err := s.Put(ctx, text, memory.Meta{}, 1); err != nil {
			t.Fatal(err)
		}
	}
	hits, err := s.SearchWith(ctx, "tell me about the artwork", 1, memory.Filter{}, memory.SearchOptions{Explain: true})
	if err != nil || len(hits) != 1 || hits[0].Record.Text != "I painted a sunrise over the lake." {
		t.Fatalf("dense search: %v %v", ids(hits), err)
	}
	var vec memory.Contribution
	for _, c := range hits[0].Explain {
		if c.Component == memory.CompVector {
			vec = c
		}
	}
	if vec.Rank != 1 || vec.Score < 0.99 || vec.Fused <= 0 {
		t.Fatalf("vector contribution %+v", hits[0].Explain)
	}
	// Without the vectors, nothing shares a word with the query.
	w, _ := memory.DefaultWeightsFor(emb).Without(memory.CompVector)
	if hits, err := s.SearchWith(ctx, "tell me about the artwork", 1, memory.Filter{}, memory.SearchOptions{Weights: &w}); err != nil || len(hits) != 0 {
		t.Fatalf("without vectors: %v %v", ids(hits), err)
	}
}
