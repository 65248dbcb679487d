//go:build !nomemory

package agenthost

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/embed"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/llm"
	"github.com/weftos/weftos/internal/memory"
	"github.com/weftos/weftos/internal/nodemetrics"
)

// preparingLedger does to each record what the chain does before its
// commit path (canonical encoding, payload hash) and acknowledges at
// once: the gate's own cost, without the fsync.
type preparingLedger struct{ n atomic.Uint64 }

func (l *preparingLedger) Append(_ context.Context, recs ...authority.Record) (uint64, error) {
	for _, r := range recs {
		p, err := chain.CanonicalPayload(r.Payload)
		if err != nil {
			return 0, err
		}
		_ = chain.PayloadHash(p)
	}
	return l.n.Add(uint64(len(recs))), nil
}

// fixedReply is a provider answering every call with the same reply.
type fixedReply struct{}

func (fixedReply) Name() string { return "fake" }
func (fixedReply) Chat(context.Context, *llm.Request, func(llm.Delta)) (*llm.Response, error) {
	return &llm.Response{Message: llm.Message{Role: llm.RoleAssistant, Content: "ok"}, StopReason: llm.StopEnd,
		Usage: llm.Usage{InputTokens: 1241, OutputTokens: 1}}, nil
}
func (fixedReply) Models(context.Context) ([]llm.Model, error) { return nil, nil }

// BenchmarkGatedTurnActs measures the gate path of one agent turn as the
// daemon runs it, without the model, the journal or the fsync: the
// automatic memory recall (memory.search on an empty store, as in
// BenchmarkConcurrentAgents; decided and carried), the model
// call through the gated wrapper (llm.call, decided with the carried
// recall, its outcome carried) and the end-of-turn flush — four chain
// records, each canonically encoded and hashed as the chain does.
func BenchmarkGatedTurnActs(b *testing.B) {
	ctx := context.Background()
	k, err := kernel.New(kernel.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = k.Close(cctx)
	})
	pid, err := k.Spawn(ctx, kernel.SpawnSpec{Name: "default@s1", Kind: "test", InheritCaps: true,
		Handler: kernel.HandlerFunc(func(ctx context.Context, p *kernel.Process) error { <-ctx.Done(); return nil })})
	if err != nil {
		b.Fatal(err)
	}
	p, err := k.Process(pid)
	if err != nil {
		b.Fatal(err)
	}
	c, err := governance.DefaultConstitution()
	if err != nil {
		b.Fatal(err)
	}
	eng, err := governance.NewEngine(c, "dev")
	if err != nil {
		b.Fatal(err)
	}
	gate, err := governance.NewGate(eng, governance.GateConfig{Workspace: []string{"/ws"}})
	if err != nil {
		b.Fatal(err)
	}
	auth, err := authority.New(authority.Options{Ledger: &preparingLedger{}, Gate: gate, NewActionID: k.NewActionID})
	if err != nil {
		b.Fatal(err)
	}
	emb, err := embed.NewLexical(64)
	if err != nil {
		b.Fatal(err)
	}
	mem, err := memory.Open(ctx, b.TempDir(), memory.Options{Embedder: emb})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = mem.Close(ctx) })
	models, err := llm.NewRegistry(fixedReply{})
	if err != nil {
		b.Fatal(err)
	}
	h := New(Options{Kernel: k, Auth: auth, Metrics: nodemetrics.New(), Models: models, Memory: mem,
		Endpoints: map[string]Endpoint{"fake": {Host: "127.0.0.1", Loopback: true}}})
	var waited atomic.Int64
	model, name, err := h.agentModel(p, "s1", "fake/m", &waited)
	if err != nil {
		b.Fatal(err)
	}
	req := &llm.Request{Model: name, System: "You are an agent.", Messages: []llm.Message{{Role: llm.RoleUser, Content: "how is it built?"}}}
	if _, err := h.searchMemory(WithCarry(ctx, auth.NewCarry()), p, "default", "s1", "how is it built?", 3, "recall", "", false); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		carry := auth.NewCarry()
		tctx := WithCarry(ctx, carry)
		h.recall(tctx, p, "default", "s1", "how is it built?", 3)
		if _, err := model.Chat(tctx, req, nil); err != nil {
			b.Fatal(err)
		}
		if err := carry.Flush(tctx); err != nil {
			b.Fatal(err)
		}
	}
}
