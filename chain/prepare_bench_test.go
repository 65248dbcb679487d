package chain

import (
	"encoding/json"
	"testing"

	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/jcs"
)

// turnIPC has the members of the daemon's ipc.send record.
type turnIPC struct {
	ID            uint64 `json:"id"`
	From          uint64 `json:"from"`
	Target        string `json:"target"`
	PayloadKind   string `json:"payload_kind"`
	Size          int    `json:"size"`
	CorrelationID uint64 `json:"correlation_id,omitempty"`
	TraceID       string `json:"trace_id,omitempty"`
	Reason        string `json:"reason,omitempty"`
	Action        string `json:"action,omitempty"`
	ActionID      string `json:"action_id,omitempty"`
	Agent         string `json:"agent,omitempty"`
	PayloadHash   string `json:"payload_hash"`
}

// turnEntries are the six records an agent turn writes to the chain
// (BenchmarkConcurrentAgents), as the daemon hands them to the log; act
// details are canonical bytes, as the authority pipeline encodes them.
func turnEntries(tb testing.TB) []Entry {
	tb.Helper()
	const hash = "338cc95948ee066616b01b9996b4f13c71e5eb8ed6d6312085bea29612b1cea9"
	caps := []string{"can_ipc", "can_exec_tools", "can_network"}
	decision := func(id, action string, ctx governance.Context, eff governance.Effect) governance.DecisionRecord {
		req := governance.Request{Action: action, Process: "default@s1", Agent: "default@s1", PID: 1, Capabilities: caps, Context: ctx, Effect: eff}
		return governance.DecisionRecord{ActionID: id, Request: req, Decision: governance.Decision{Outcome: governance.Permit, Effect: eff,
			Magnitude: eff.Magnitude(), Reason: governance.ReasonNoRule, Env: "dev", Threshold: 0.9, ConstitutionHash: hash}}
	}
	detail := func(v any) json.RawMessage {
		b, err := jcs.Marshal(v)
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	return []Entry{
		{"kernel", "ipc.send", turnIPC{ID: 2, From: 1, Target: "process:0", PayloadKind: "json", Size: 89, CorrelationID: 1, PayloadHash: hash}},
		{"governance", governance.KindDecision, decision("c466d684-4", "memory.search",
			governance.Context{Extra: map[string]string{"scope": "own", "via": "recall"}}, governance.Effect{Privacy: 0.2})},
		{"memory", "memory.search", governance.ActRecord{ActionID: "c466d684-4", Action: "memory.search", Agent: "default@s1", PID: 1, Session: "s1", OK: true, Micros: 32,
			Detail: detail(governance.MemoryDetail{K: 5, QueryHash: hash, Scope: "own"})}},
		{"governance", governance.KindDecision, decision("c466d684-5", "llm.call",
			governance.Context{Host: "127.0.0.1", Model: "m", Extra: map[string]string{"loopback": "true", "provider": "openai"}},
			governance.Effect{Risk: 0.1, Fairness: 0.2, Privacy: 0.3})},
		{"kernel", "ipc.send", turnIPC{ID: 3, From: 0, Target: "process:1", PayloadKind: "json", Size: 16, PayloadHash: hash}},
		{"agent", "llm.call", governance.ActRecord{ActionID: "c466d684-5", Action: "llm.call", Agent: "default@s1", PID: 1, Session: "s1", OK: true, Micros: 1916,
			Detail: detail(governance.LLMCallDetail{Provider: "openai", Model: "m", Host: "127.0.0.1", Loopback: true, InputTokens: 1241, OutputTokens: 1,
				PromptHash: hash, ReplyHash: hash, ReplyLen: 2, ToolCalls: 0, StopReason: "end"})}},
	}
}

// BenchmarkPrepare measures what the log does to each entry outside the
// commit path — validate, encode canonically, hash the payload — for the
// six records of an agent turn (one op is one turn's records).
func BenchmarkPrepare(b *testing.B) {
	entries := turnEntries(b)
	var n int
	b.ReportAllocs()
	for b.Loop() {
		for _, e := range entries {
			p, err := prepare(e)
			if err != nil {
				b.Fatal(err)
			}
			n += len(p.payload)
		}
	}
	b.ReportMetric(float64(n)/float64(b.N), "payload-B/op")
}
