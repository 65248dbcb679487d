package daemon

import (
	"encoding/json"
	"testing"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/kernel"
)

// BenchmarkIPCRecord measures the chain record of one IPC send, as
// recordKernelEvents writes it for an agent turn's request: the payload's
// hash, the record, and what the chain does to it before committing
// (canonical encoding, payload hash).
func BenchmarkIPCRecord(b *testing.B) {
	body, _ := json.Marshal(map[string]any{"answer": "hi", "usage": map[string]int{"input_tokens": 1241, "output_tokens": 1, "total_tokens": 1242}})
	p := kernel.JSONPayload(body)
	ev := kernel.IPCEvent{ID: 4, From: 1, Target: "process:0", PayloadKind: "json", Size: len(body), CorrelationID: 3}
	b.ReportAllocs()
	for b.Loop() {
		rec := newIPCRecord(ev, payloadHash(&p))
		c, err := chain.CanonicalPayload(rec)
		if err != nil {
			b.Fatal(err)
		}
		_ = chain.PayloadHash(c)
	}
}
