package xref

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func id(t testing.TB, typ string, content any) ID {
	t.Helper()
	v, err := Entity(typ, content)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestIDsGolden pins the canonical-bytes rule: a change to it changes
// every persisted id, so it must be deliberate.
func TestIDsGolden(t *testing.T) {
	ts := time.Date(2026, 12, 4, 6, 0, 0, 123, time.UTC)
	var b strings.Builder
	for _, c := range []struct {
		typ     string
		content any
		event   bool
	}{
		{"session", map[string]any{"name": "s1"}, false},
		{"process", map[string]any{"node": "n", "pid": 7}, false},
		{"memory.record", map[string]any{"content_id": strings.Repeat("ab", 32)}, false},
		{"chain.event", map[string]any{"chain_id": 1, "seq": 42, "hash": "00ff"}, true},
	} {
		var v ID
		var err error
		if c.event {
			v, err = Event(c.typ, ts, c.content)
		} else {
			v, err = Entity(c.typ, c.content)
		}
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %v event=%v %s\n", c.typ, c.content, c.event, v)
	}
	golden := filepath.Join("testdata", "ids.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Fatalf("ids changed:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestEntityMergesEventsDoNot(t *testing.T) {
	a := id(t, "session", map[string]any{"name": "s", "x": 1})
	b := id(t, "session", map[string]any{"x": 1, "name": "s"})
	if a != b {
		t.Fatal("equal content, different ids")
	}
	if a == id(t, "process", map[string]any{"name": "s", "x": 1}) {
		t.Fatal("type is not part of the id")
	}
	t0 := time.Unix(0, 1)
	e1, _ := Event("chain.event", t0, map[string]any{"seq": 1})
	e2, _ := Event("chain.event", t0.Add(time.Nanosecond), map[string]any{"seq": 1})
	if e1 == e2 {
		t.Fatal("events at different times share an id")
	}
	if _, err := Entity("", 1); !errors.Is(err, ErrBadID) {
		t.Fatal("empty type accepted")
	}
	if _, err := Entity("x", func() {}); err == nil {
		t.Fatal("unmarshalable content accepted")
	}
	p, err := ParseID(strings.ToUpper(a.String()))
	if err != nil || p != a {
		t.Fatal("ParseID does not round-trip", err)
	}
	for _, bad := range []string{"", "xyz", strings.Repeat("g", 64), a.String()[:63]} {
		if _, err := ParseID(bad); !errors.Is(err, ErrBadID) {
			t.Fatalf("ParseID(%q) = %v", bad, err)
		}
	}
}

func sample(t testing.TB) (sess, ev, mem ID, b Batch) {
	sess = id(t, "session", map[string]any{"name": "s1"})
	ev = id(t, "chain.event", map[string]any{"seq": 3})
	mem = id(t, "memory.record", map[string]any{"content_id": "c"})
	b = Batch{Through: 4,
		Nodes: []Node{{ID: sess, Type: "session", Key: "session:s1"}, {ID: ev, Type: "chain.event", Key: "seq:3"}, {ID: mem, Type: "memory.record", Key: "memory:c"}},
		Links: []Link{{From: ev, To: sess, Rel: "in_session", Seq: 3}, {From: ev, To: mem, Rel: "stored", Seq: 3}}}
	return
}

func TestIndexPersistsDedupesAndResolves(t *testing.T) {
	path := filepath.Join(t.TempDir(), "xref.log")
	x, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	sess, ev, mem, b := sample(t)
	for range 2 { // applying twice adds nothing
		if err := x.Apply(b); err != nil {
			t.Fatal(err)
		}
	}
	if n, l := x.Len(); n != 3 || l != 2 {
		t.Fatalf("len %d nodes %d links", n, l)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	x, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if n, l := x.Len(); n != 3 || l != 2 || x.Through() != 4 {
		t.Fatalf("reopened: %d nodes %d links through %d", n, l, x.Through())
	}
	if got := x.In(mem); len(got) != 1 || got[0].From != ev || got[0].Rel != "stored" {
		t.Fatalf("reverse links of the memory: %+v", got)
	}
	if got := x.Out(ev); len(got) != 2 {
		t.Fatalf("forward links of the event: %+v", got)
	}
	for in, want := range map[string]ID{"session:s1": sess, "seq:3": ev, mem.String(): mem, mem.String()[:12]: mem} {
		got, err := x.Resolve(in)
		if err != nil || got != want {
			t.Fatalf("Resolve(%q) = %s, %v", in, got, err)
		}
	}
	for _, in := range []string{"seq:99", "abc", strings.Repeat("0", 64)} {
		if _, err := x.Resolve(in); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Resolve(%q) = %v", in, err)
		}
	}
	nodes, links := x.Neighbourhood(mem, 2, 100)
	if len(nodes) != 3 || len(links) != 2 || nodes[0].ID != mem {
		t.Fatalf("neighbourhood: %+v %+v", nodes, links)
	}
	if nodes, _ := x.Neighbourhood(mem, 1, 100); len(nodes) != 2 {
		t.Fatalf("depth 1 reached %d nodes", len(nodes))
	}
	if _, links := x.Neighbourhood(mem, 2, 1); len(links) != 1 {
		t.Fatal("limit not applied")
	}
}

func TestKeysAreUnique(t *testing.T) {
	x := New()
	a, b := id(t, "t", 1), id(t, "t", 2)
	if err := x.Apply(Batch{Nodes: []Node{{ID: a, Type: "t", Key: "k"}, {ID: b, Type: "t", Key: "k"}}}); err != nil {
		t.Fatal(err)
	}
	if n, _ := x.Key("k"); n.ID != a {
		t.Fatal("the first holder lost its key")
	}
	if n, _ := x.Node(b); n.Key != "" {
		t.Fatal("a second node took a held key")
	}
	if err := x.Apply(Batch{Links: []Link{{From: a, To: b}}}); !errors.Is(err, ErrFormat) {
		t.Fatal("a link without a relation was accepted")
	}
}

// TestCrashLosesOnlyTheTail: a torn last batch is cut on open, and the
// index reports the earlier position, from which the owner re-indexes.
func TestCrashLosesOnlyTheTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "xref.log")
	x, _ := Open(path)
	_, _, _, b := sample(t)
	_ = x.Apply(b)
	_ = x.Apply(Batch{Through: 9, Nodes: []Node{{ID: id(t, "t", 9), Type: "t"}}})
	_ = x.Close()
	data, _ := os.ReadFile(path)
	if err := os.WriteFile(path, data[:len(data)-3], 0o600); err != nil {
		t.Fatal(err)
	}
	x, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if x.Through() != 4 {
		t.Fatalf("through %d after a torn tail, want 4", x.Through())
	}
	_ = x.Close()
	data[10] ^= 0xff
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt index: %v", err)
	}
}

func FuzzDecodeBatch(f *testing.F) {
	_, _, _, b := sample(f)
	f.Add(EncodeBatch(b))
	f.Add(EncodeBatch(Batch{}))
	f.Add([]byte{1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := DecodeBatch(data)
		if err != nil {
			return
		}
		if !bytes.Equal(EncodeBatch(b), data) {
			// Non-minimal varints decode but re-encode shorter; anything
			// else must round-trip.
			again, err := DecodeBatch(EncodeBatch(b))
			if err != nil || fmt.Sprint(again) != fmt.Sprint(b) {
				t.Fatalf("round trip: %v", err)
			}
		}
	})
}

func BenchmarkApplyLink(b *testing.B) {
	x := New()
	ids := make([]ID, 1024)
	for i := range ids {
		ids[i] = id(b, "n", i)
	}
	b.ResetTimer()
	for i := range b.N {
		_ = x.Apply(Batch{Links: []Link{{From: ids[i%1024], To: ids[(i*7+1)%1024], Rel: fmt.Sprint("r", i), Seq: uint64(i)}}})
	}
}

func BenchmarkEntityID(b *testing.B) {
	c := map[string]any{"content_id": strings.Repeat("ab", 32)}
	for range b.N {
		_, _ = Entity("memory.record", c)
	}
}
