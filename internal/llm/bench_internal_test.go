package llm

import (
	"testing"

	"github.com/weftos/weftos/internal/llm/sse"
)

// cycleReader yields data over and over.
type cycleReader struct {
	data []byte
	off  int
}

func (r *cycleReader) Read(p []byte) (int, error) {
	n := copy(p, r.data[r.off:])
	r.off = (r.off + n) % len(r.data)
	return n, nil
}

// BenchmarkChunkToDelta is the client-side cost from a streamed chunk's
// bytes being readable to onDelta being called: SSE framing, JSON decode of
// the chunk, accumulation and the callback. One op = one chunk.
func BenchmarkChunkToDelta(b *testing.B) {
	cases := []struct {
		name   string
		chunk  string
		handle func() func(sse.Event, func(Delta)) error
	}{
		{"openai", "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" token\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n",
			func() func(sse.Event, func(Delta)) error {
				s := newOAStream("b")
				return func(ev sse.Event, emit func(Delta)) error { _, err := s.handle(ev.Data, emit); return err }
			}},
		{"openai-toolargs", "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"pa\"}}]},\"finish_reason\":null}]}\n\n",
			func() func(sse.Event, func(Delta)) error {
				s := newOAStream("b")
				s.byIndex[0] = s.newCall()
				s.calls[0].name = "f"
				return func(ev sse.Event, emit func(Delta)) error { _, err := s.handle(ev.Data, emit); return err }
			}},
		{"anthropic", "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" token\"}}\n\n",
			func() func(sse.Event, func(Delta)) error {
				s := newANStream("b")
				s.blocks[0] = &anBlockAcc{typ: "text"}
				return func(ev sse.Event, emit func(Delta)) error { _, err := s.handle(ev.Type, ev.Data, emit); return err }
			}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			dec := sse.NewDecoder(&cycleReader{data: []byte(tc.chunk)}, 0)
			h := tc.handle()
			got := 0
			emit := func(Delta) { got++ }
			b.SetBytes(int64(len(tc.chunk)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ev, err := dec.Next()
				if err != nil {
					b.Fatal(err)
				}
				if err := h(ev, emit); err != nil {
					b.Fatal(err)
				}
			}
			if got != b.N {
				b.Fatalf("%d deltas for %d chunks", got, b.N)
			}
		})
	}
}
