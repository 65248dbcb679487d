package xreflink

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/xref"
)

// FuzzLinker: the linker decodes every chain payload it indexes; whatever
// a payload holds, it must not panic, and every link it makes joins two
// non-zero ids.
func FuzzLinker(f *testing.F) {
	for _, seed := range []struct{ kind, payload string }{
		{governance.KindDecision, `{"action_id":"a1","request":{"action":"memory.store","pid":7,"context":{"extra":{"call_id":"c1"}}}}`},
		{governance.KindMemoryStore, `{"action_id":"a1","action":"memory.store","agent":"x","pid":7,"session":"s","ok":true,"duration_us":1,"detail":{"id":"abc","created":true}}`},
		{governance.KindMemorySearch, `{"action_id":"a2","ok":true,"detail":{"hits":["a","b"]}}`},
		{governance.KindToolCall, `{"action_id":"a3","pid":7,"ok":true,"detail":{"tool":"read_file","call_id":"c9"}}`},
		{governance.KindEccEdge, `{"action_id":"a4","ok":true,"detail":{"from":"00","to":"11","type":"follows","added":true}}`},
		{governance.KindProcessSpawn, `{"pid":9,"parent":7,"action_id":"a5"}`},
		{governance.KindEccAnalyze, `{"action_id":"a6","ok":true,"detail":{"document":"` + strings.Repeat("ab", 32) + `","key":"doc:x","source":"/a","first":0,"prev":"p",` +
			`"chunks":["c1","","c2"],"entities":["name:ada","date:2023-05-07"],"mentions":[[0,1],[],[1]],"decision_seq":3,"recorded":9}}`},
		{governance.KindEccAnalyze, `{"action_id":"a7","ok":true,"detail":{"document":"` + strings.Repeat("cd", 32) + `","chunks":["c1"],"mentions":[[5]]}}`},
		{governance.KindMemoryIngest, `{"action_id":"a8","ok":true,"detail":{"document":"ff","source":"/a","chunk_ids":["c1","","c2"]}}`},
		{governance.KindIPCSend, `{"from":9,"target":"topic:news"}`},
		{"unknown.kind", `[1,2,3]`},
	} {
		f.Add(seed.kind, []byte(seed.payload))
	}
	f.Fuzz(func(t *testing.T, kind string, payload []byte) {
		if !json.Valid(payload) {
			return // the chain stores canonical JSON only
		}
		l := New("n", xref.New())
		evs := []chain.Event{{Seq: 0, Kind: governance.KindDecision, Payload: json.RawMessage(`{"action_id":"a1","request":{"action":"x","pid":7,"context":{"extra":{"call_id":"c1"}}}}`)},
			{Seq: 1, Timestamp: 5, Kind: kind, Payload: payload}}
		b, _ := l.Batch(evs)
		if b.Through != 2 {
			t.Fatalf("through %d", b.Through)
		}
		for _, lk := range b.Links {
			if lk.From.IsZero() || lk.To.IsZero() || lk.Rel == "" {
				t.Fatalf("bad link %+v", lk)
			}
		}
		if err := l.x.Apply(b); err != nil {
			t.Fatal(err)
		}
	})
}
