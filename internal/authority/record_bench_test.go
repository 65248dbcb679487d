package authority

import (
	"context"
	"testing"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/governance"
)

// preparingLedger does to each record what the chain does before its
// commit path (chain.prepare): encode the payload canonically and hash
// it. It acknowledges at once.
type preparingLedger struct{ bytes *int }

func (l preparingLedger) Append(_ context.Context, recs ...Record) (uint64, error) {
	for _, r := range recs {
		p, err := chain.CanonicalPayload(r.Payload)
		if err != nil {
			return 0, err
		}
		_ = chain.PayloadHash(p)
		*l.bytes += len(p)
	}
	return 1, nil
}

// fixedGate decides every request as the default constitution does an
// agent's memory recall and model call in dev: permitted.
type fixedGate struct{}

func (fixedGate) Check(_ context.Context, req *governance.Request) governance.Decision {
	eff := governance.Effect{Risk: 0.1, Fairness: 0.2, Privacy: 0.3}
	return governance.Decision{Outcome: governance.Permit, Effect: eff, Magnitude: eff.Magnitude(), Reason: governance.ReasonNoRule,
		Env: "dev", Threshold: 0.9, ConstitutionHash: "338cc95948ee066616b01b9996b4f13c71e5eb8ed6d6312085bea29612b1cea9"}
}

// BenchmarkTurnRecords measures the records of an agent turn's two acts
// — a memory recall (Internal, carried) and a model call, each a
// decision and an outcome with its detail — from the pipeline to the
// chain's canonical payload and its hash: one op is one turn's four
// records.
func BenchmarkTurnRecords(b *testing.B) {
	var n int
	p, err := New(Options{Ledger: preparingLedger{&n}, Gate: fixedGate{}, NewActionID: func() string { return "c466d684-5" }})
	if err != nil {
		b.Fatal(err)
	}
	const hash = "8b63b4da23d23e65957b0d6d88c64172dff5818946b41a3c9cd2a24c31c82c90"
	subject := Subject{Agent: "default@s1", PID: 1, Caps: []string{"can_ipc", "can_exec_tools", "can_network"}, Session: "s1"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		carry := p.NewCarry()
		pm, err := p.Authorize(ctx, Act{Action: "memory.search", Kind: "memory.search", Source: "memory", Subject: subject, Carry: carry, Internal: true,
			Context: governance.Context{Extra: map[string]string{"scope": "own", "via": "recall"}}})
		if err != nil {
			b.Fatal(err)
		}
		if err := pm.Later(ctx, governance.MemoryDetail{K: 5, QueryHash: hash, Scope: "own"}, nil); err != nil {
			b.Fatal(err)
		}
		pm, err = p.Authorize(ctx, Act{Action: "llm.call", Kind: "llm.call", Source: "agent", Subject: subject, Carry: carry,
			Context: governance.Context{Host: "127.0.0.1", Model: "m", Extra: map[string]string{"loopback": "true", "provider": "openai"}}})
		if err != nil {
			b.Fatal(err)
		}
		if err := pm.Later(ctx, governance.LLMCallDetail{Provider: "openai", Model: "m", Host: "127.0.0.1", Loopback: true, InputTokens: 1241,
			OutputTokens: 1, PromptHash: hash, ReplyHash: hash, ReplyLen: 2, StopReason: "end"}, nil); err != nil {
			b.Fatal(err)
		}
		if err := carry.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/float64(b.N), "payload-B/op")
}
