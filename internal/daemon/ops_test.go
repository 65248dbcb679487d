package daemon

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

// scrape returns /metrics as series → value.
func scrape(t *testing.T, c *client.Client) map[string]float64 {
	t.Helper()
	text, err := c.Metrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// opsDaemon boots a daemon whose OpenAI-compatible provider is srv.
func opsDaemon(t *testing.T, srv *llmtest.Server) (*Daemon, *client.Client, string) {
	t.Helper()
	t.Setenv("OPENAI_BASE_URL", srv.URL)
	t.Setenv("OPENAI_API_KEY", "sk-test-0123456789abcdefghij")
	t.Setenv("ANTHROPIC_API_KEY", "")
	home := t.TempDir()
	d, c := openClient(t, home)
	return d, c, home
}

// TestMetricsAfterAgentRun: a scripted agent run — two model calls, a
// file read, a memory search and a call to a tool that does not exist —
// moves every instrument by exactly what happened.
func TestMetricsAfterAgentRun(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{})
	defer srv.Close()
	_, c, _ := opsDaemon(t, srv)
	ws := t.TempDir()
	if err := os.WriteFile(filepath.Join(ws, "notes.txt"), []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv.Push(
		llmtest.Turn{ToolCalls: []llmtest.ToolCall{
			{ID: "c1", Name: "read_file", Arguments: `{"path":"notes.txt"}`},
			{ID: "c2", Name: "memory_search", Arguments: `{"query":"hello"}`},
			{ID: "c3", Name: "no_such_tool", Arguments: `{}`},
		}, Usage: llmtest.Usage{InputTokens: 100, OutputTokens: 20}},
		llmtest.Turn{Text: "done", Usage: llmtest.Usage{InputTokens: 130, OutputTokens: 5}},
	)
	before := scrape(t, c)
	var answer string
	err := c.AgentRun(context.Background(), apitype.RunRequest{Session: "metrics", Workspace: ws, Message: "read notes.txt", Model: "openai/test-model", Once: true},
		func(ev apitype.RunEvent) error {
			switch ev.Type {
			case apitype.RunFinal:
				answer = ev.Answer
			case apitype.RunError:
				return errors.New(ev.Message)
			}
			return nil
		})
	if err != nil || answer != "done" {
		t.Fatalf("run: %q %v", answer, err)
	}
	after := scrape(t, c)
	delta := func(series string) float64 { return after[series] - before[series] }
	llm := `{model="test-model",provider="openai"`
	exact := []struct {
		series string
		want   float64
	}{
		{`weftos_llm_calls_total{model="test-model",outcome="ok",provider="openai"}`, 2},
		{`weftos_llm_tokens_total` + llm + `,type="prompt"}`, 230},
		{`weftos_llm_tokens_total` + llm + `,type="completion"}`, 25},
		{`weftos_llm_request_duration_seconds_count` + llm + `}`, 2},
		{`weftos_llm_request_duration_seconds_bucket` + strings.Replace(llm, "{", `{le="+Inf",`, 1) + `}`, 2},
		{`weftos_tool_calls_total{outcome="ok",tool="read_file"}`, 1},
		{`weftos_tool_calls_total{outcome="ok",tool="memory_search"}`, 1},
		{`weftos_tool_calls_total{outcome="refused",tool="no_such_tool"}`, 1},
		{`weftos_tool_call_duration_seconds_count{tool="read_file"}`, 1},
		{`weftos_tool_call_duration_seconds_count{tool="no_such_tool"}`, 0},
		{`weftos_gate_decisions_total{outcome="refused"}`, 1}, // the unknown tool
		{`weftos_gate_decisions_total{outcome="deny"}`, 0},
	}
	for _, e := range exact {
		if got := delta(e.series); got != e.want {
			t.Errorf("%s moved by %v, want %v", e.series, got, e.want)
		}
	}
	// Two model calls, a read and a search, each permitted (some with a
	// warning), plus the recall each turn.
	if got := delta(`weftos_gate_decisions_total{outcome="permit"}`) + delta(`weftos_gate_decisions_total{outcome="permit_with_warning"}`); got < 4 {
		t.Errorf("permits moved by %v, want at least 4", got)
	}
	searches := delta(`weftos_memory_searches_total{outcome="ok"}`)
	if searches < 1 || delta("weftos_memory_search_duration_seconds_count") != searches {
		t.Errorf("memory searches moved by %v, timed %v", searches, delta("weftos_memory_search_duration_seconds_count"))
	}
	if delta("weftos_chain_commits_total") < 1 || delta("weftos_chain_fsync_duration_seconds_count") < delta("weftos_chain_commits_total") {
		t.Errorf("chain: %v commits, %v fsyncs", delta("weftos_chain_commits_total"), delta("weftos_chain_fsync_duration_seconds_count"))
	}
	// Every event on this fresh chain was counted as it became durable:
	// once the last commit is reported the two agree exactly.
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := scrape(t, c)
		appended, length := m["weftos_chain_appended_events_total"], m["weftos_chain_length"]
		if appended == length && appended > before["weftos_chain_appended_events_total"] {
			break
		}
		if appended > length || time.Now().After(deadline) {
			t.Fatalf("appended %v events, chain length %v", appended, length)
		}
	}
}

// TestMetricsRefusedModelCall: a model call the pipeline refuses (an agent
// without can_network, a provider off this machine) is counted as
// refused, and not timed: it never left.
func TestMetricsRefusedModelCall(t *testing.T) {
	t.Setenv("OPENAI_BASE_URL", "http://llm.remote.example:9/v1") // never dialled
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("ANTHROPIC_API_KEY", "")
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "agents"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "agents", "offline.yaml"),
		[]byte("name: offline\nsystem_prompt: You work offline.\ncapabilities:\n  can_exec_tools: true\n  can_ipc: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, c := openClient(t, home)
	before := scrape(t, c)
	var runErr string
	err := c.AgentRun(context.Background(), apitype.RunRequest{Agent: "offline", Session: "refused", Workspace: t.TempDir(), Message: "hi", Model: "openai/m", Once: true},
		func(ev apitype.RunEvent) error {
			if ev.Type == apitype.RunError {
				runErr = ev.Message
			}
			return nil
		})
	if err != nil || !strings.Contains(runErr, "can_network") {
		t.Fatalf("run: %v, error event %q", err, runErr)
	}
	after := scrape(t, c)
	refused := `weftos_llm_calls_total{model="m",outcome="refused",provider="openai"}`
	if got := after[refused] - before[refused]; got != 1 {
		t.Fatalf("refused model calls moved by %v", got)
	}
	if n := after[`weftos_llm_request_duration_seconds_count{model="m",provider="openai"}`]; n != 0 {
		t.Fatalf("a refused call was timed: %v", n)
	}
}
