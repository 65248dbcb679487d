package xreflink

import (
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/xref"
)

var update = flag.Bool("update", false, "rewrite golden files")

// goldenEvents are agents' turns interleaved with events of every kind
// the linker reads: tool calls, memory, graph edges, analyses, ingests,
// processes, IPC, refusals.
func goldenEvents() []chain.Event {
	var evs []chain.Event
	add := func(kind, payload string) {
		evs = append(evs, chain.Event{Kind: kind, Payload: json.RawMessage(payload)})
	}
	doc := strings.Repeat("ab", 32)
	for turn := range 3 {
		for agent := range 3 {
			evs = append(evs, turnEvents(0, agent, turn)...)
		}
		add(governance.KindDecision, fmt.Sprintf(`{"action_id":"t%d","request":{"action":"tool.call","pid":7,"context":{"extra":{"call_id":"c%d"}}}}`, turn, turn))
		add(governance.KindToolCall, fmt.Sprintf(`{"action_id":"t%d","pid":7,"session":"s7","ok":true,"detail":{"tool":"read_file","call_id":"c%d"}}`, turn, turn))
		add(governance.KindDecision, fmt.Sprintf(`{"action_id":"m%d","request":{"action":"memory.store","pid":7}}`, turn))
		add(governance.KindMemoryStore, fmt.Sprintf(`{"action_id":"m%d","pid":7,"session":"s7","ok":true,"detail":{"id":"rec%d","created":true}}`, turn, turn%2))
		add(governance.KindMemorySearch, `{"action_id":"q1","pid":7,"session":"s7","ok":true,"detail":{"hits":["rec0","rec1","rec9"]}}`)
		add(governance.KindRefusal, fmt.Sprintf(`{"action_id":"r%d","request":{"action":"x","pid":8}}`, turn))
	}
	add(governance.KindEccEdge, `{"action_id":"a4","ok":true,"detail":{"from":"`+strings.Repeat("00", 32)+`","to":"`+strings.Repeat("11", 32)+`","type":"follows","added":true}}`)
	add(governance.KindProcessSpawn, `{"pid":9,"parent":7,"action_id":"a5"}`)
	add(governance.KindProcessExit, `{"pid":9}`)
	add(governance.KindEccAnalyze, `{"action_id":"a6","ok":true,"detail":{"document":"`+doc+`","key":"doc:x","source":"/a","first":0,"prev":"p",`+
		`"chunks":["c1","","c2"],"entities":["name:ada","date:2023-05-07"],"mentions":[[0,1],[],[1]],"decision_seq":3,"recorded":9}}`)
	add(governance.KindMemoryIngest, `{"action_id":"a8","ok":true,"detail":{"document":"ff","source":"/a","chunk_ids":["c1","","c2"]}}`)
	add(governance.KindSessionRemove, `{"action_id":"a9","ok":true,"detail":{"session":"s7"}}`)
	add(governance.KindIPCSend, `{"from":9,"target":"topic:news"}`)
	add(governance.KindIPCDeadLetter, `{"from":9}`)
	add("unknown.kind", `[1,2,3]`)
	add(governance.KindDecision, `{"action_id":5}`)
	for i := range evs {
		evs[i].Seq, evs[i].ChainID, evs[i].Timestamp = uint64(i), 1, 1796392700524388108+int64(i)*1000
		evs[i].Hash = chain.Hash(xref.ID{byte(i), 0xee})
	}
	return evs
}

// TestLinkerGolden pins what the linker and the index make of a chain —
// every node, link and id, and the index file's bytes — batched three
// ways (an outcome's decision then lies in the same batch or an earlier
// one). A change here changes what users see and what is persisted: it
// must be deliberate.
func TestLinkerGolden(t *testing.T) {
	evs := goldenEvents()
	var out strings.Builder
	for _, size := range []int{1, 7, len(evs)} {
		path := filepath.Join(t.TempDir(), "xref.log")
		x, err := xref.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		l := New("node", x)
		fmt.Fprintf(&out, "batches of %d\n", size)
		for at := 0; at < len(evs); at += size {
			b, err := l.Batch(evs[at:min(at+size, len(evs))])
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range b.Nodes {
				fmt.Fprintf(&out, "node %s %s %q\n", n.ID, n.Type, n.Key)
			}
			for _, k := range b.Links {
				fmt.Fprintf(&out, "link %s %s %s %d\n", k.From, k.Rel, k.To, k.Seq)
			}
			if err := x.Apply(b); err != nil {
				t.Fatal(err)
			}
		}
		if err := x.Close(); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&out, "index file sha256 %x\n", sha256.Sum256(data))
	}
	golden := filepath.Join("testdata", "linker.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Fatalf("the linker's output changed (go test -update rewrites %s)", golden)
	}
}
