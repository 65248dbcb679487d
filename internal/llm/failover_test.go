package llm_test

import (
	"context"
	"errors"
	"testing"

	"github.com/weftos/weftos/internal/llm"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

func failoverPair(t *testing.T) (*fixture, *fixture, *llm.Failover) {
	t.Helper()
	noRetry := func(c *llm.Config) { c.MaxRetries = -1 }
	a := newFixture(t, llm.KindAnthropic, llmtest.Options{}, noRetry)
	b := newFixture(t, llm.KindOpenAI, llmtest.Options{}, noRetry)
	reg, err := llm.NewRegistry(a.p, b.p)
	if err != nil {
		t.Fatal(err)
	}
	fo, err := reg.Failover("anthropic/claude-x", "openai/gpt-y")
	if err != nil {
		t.Fatal(err)
	}
	return a, b, fo
}

func TestFailover(t *testing.T) {
	cases := []struct {
		name       string
		first      llmtest.Turn
		stream     bool
		wantFrom   string
		wantErr    error
		secondUsed bool
	}{
		{"503 fails over", llmtest.Fail(503), false, "openai", nil, true},
		{"529 overloaded fails over", llmtest.Fail(529), true, "openai", nil, true},
		{"429 fails over", llmtest.RateLimited("120"), true, "openai", nil, true},
		{"cut before output fails over", llmtest.Turn{Text: "x y", CutAfter: 1}, true, "openai", nil, true},
		{"400 does not", llmtest.Fail(400), true, "", llm.ErrBadRequest, false},
		{"401 does not", llmtest.Fail(401), true, "", llm.ErrAuth, false},
		{"cut after output does not", llmtest.Turn{Text: "a b c d", CutAfter: 4}, true, "", llm.ErrUnavailable, false},
		{"success stays", llmtest.Text("first"), true, "anthropic", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b, fo := failoverPair(t)
			a.srv.Push(tc.first)
			b.srv.Push(llmtest.Text("second"))
			var cb func(llm.Delta)
			if tc.stream {
				cb = func(llm.Delta) {}
			}
			resp, err := fo.Chat(context.Background(), userReq("ignored", "hi"), cb)
			if tc.wantErr != nil {
				if tc.wantErr == llm.ErrBadRequest {
					var ae *llm.APIError
					if !errors.As(err, &ae) || ae.Status != 400 {
						t.Fatalf("err = %v", err)
					}
				} else if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
			} else if err != nil || resp.Provider != tc.wantFrom {
				t.Fatalf("resp %+v err %v", resp, err)
			}
			if used := b.srv.Served() > 0; used != tc.secondUsed {
				t.Fatalf("second route used = %v", used)
			}
			if tc.secondUsed {
				if m := b.srv.ChatRequests()[0].Map()["model"]; m != "gpt-y" {
					t.Errorf("second route got model %v", m)
				}
			}
			if m := a.srv.ChatRequests()[0].Map()["model"]; m != "claude-x" {
				t.Errorf("first route got model %v", m)
			}
		})
	}
}

func TestFailoverAllFail(t *testing.T) {
	a, b, fo := failoverPair(t)
	a.srv.Push(llmtest.Fail(500))
	b.srv.Push(llmtest.RateLimited("1"))
	_, err := fo.Chat(context.Background(), userReq("m", "hi"), nil)
	if !errors.Is(err, llm.ErrUnavailable) || !errors.Is(err, llm.ErrRateLimited) {
		t.Fatalf("joined error lost a cause: %v", err)
	}
	ms, err := fo.Models(context.Background())
	if err != nil || len(ms) != 2 || ms[0].Provider != "anthropic" || ms[1].Provider != "openai" {
		t.Fatalf("models %+v err %v", ms, err)
	}
	if _, err := llm.NewFailover("x", nil); !errors.Is(err, llm.ErrNoProvider) {
		t.Fatalf("empty failover: %v", err)
	}
}
