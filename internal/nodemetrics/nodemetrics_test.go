package nodemetrics

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/metrics"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		err  error
		want Outcome
	}{
		{nil, OK},
		{errors.New("boom"), Error},
		{fmt.Errorf("wrapped: %w", context.Canceled), Canceled},
		{context.DeadlineExceeded, Canceled},
		{fmt.Errorf("x: %w", authority.ErrDenied), Refused},
		{fmt.Errorf("x: %w", authority.ErrCapability), Refused},
		{authority.ErrLedger, Refused},
	}
	for _, c := range cases {
		if got := Classify(c.err); got != c.want {
			t.Errorf("Classify(%v) = %s, want %s", c.err, got, c.want)
		}
	}
}

func scrape(t *testing.T, r *metrics.Registry) string {
	t.Helper()
	var b strings.Builder
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestInstruments(t *testing.T) {
	m := New()
	r := metrics.NewRegistry()
	var st authority.Stats
	if err := errors.Join(m.Register(r), RegisterGate(r, &st)); err != nil {
		t.Fatal(err)
	}
	m.LLMCall("openai", "gpt", OK, Usage{InputTokens: 10, OutputTokens: 4}, 300*time.Millisecond)
	m.LLMNotSent("openai", "gpt", Refused)
	m.ToolCall("read_file", OK, time.Millisecond)
	m.ToolCall("nope", Refused, 0)
	m.Committed(3, 1)
	m.Synced(2 * time.Millisecond)
	if n := m.ChainSyncs(); n != 1 {
		t.Errorf("ChainSyncs %d, want 1", n)
	}
	m.Searched(time.Millisecond, 2, nil)
	m.Searched(time.Millisecond, 0, errors.New("x"))
	st.Permitted.Add(2)
	st.Refused.Add(1)
	out := scrape(t, r)
	for _, want := range []string{
		`weftos_llm_calls_total{model="gpt",outcome="ok",provider="openai"} 1`,
		`weftos_llm_calls_total{model="gpt",outcome="refused",provider="openai"} 1`,
		`weftos_llm_tokens_total{model="gpt",provider="openai",type="prompt"} 10`,
		`weftos_llm_tokens_total{model="gpt",provider="openai",type="completion"} 4`,
		`weftos_llm_request_duration_seconds_count{model="gpt",provider="openai"} 1`,
		`weftos_llm_request_duration_seconds_bucket{le="0.5",model="gpt",provider="openai"} 1`,
		`weftos_tool_calls_total{outcome="refused",tool="nope"} 1`,
		`weftos_tool_call_duration_seconds_count{tool="read_file"} 1`,
		"weftos_chain_appended_events_total 3",
		"weftos_chain_commits_total 1",
		"weftos_chain_checkpoints_written_total 1",
		"weftos_chain_fsync_duration_seconds_count 1",
		`weftos_memory_searches_total{outcome="error"} 1`,
		"weftos_memory_search_hits_total 2",
		`weftos_gate_decisions_total{outcome="permit"} 2`,
		`weftos_gate_decisions_total{outcome="refused"} 1`,
		"# TYPE weftos_chain_fsync_duration_seconds histogram",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("scrape lacks %q", want)
		}
	}
	if strings.Contains(out, `weftos_tool_call_duration_seconds_count{tool="nope"}`) {
		t.Error("a refused tool call was timed")
	}
}
