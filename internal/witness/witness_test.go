package witness

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/identity"
)

// openChain opens a chain in dir signed by id, checkpointing every event.
func openChain(t *testing.T, dir string, id *identity.Identity) *chain.Log {
	t.Helper()
	l, err := chain.Open(context.Background(), dir, chain.Options{Origin: id.NodeID, Keys: chain.Keys{Ed25519: id.Ed25519, MLDSA65: id.MLDSA65},
		CheckpointEvery: 1, CheckpointInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	return l
}

func appendN(t *testing.T, l *chain.Log, n int, what string) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		ev, err := l.Append(ctx, "test", "test.event", map[string]any{"what": what, "i": i})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.WaitCovered(ctx, ev.Seq); err != nil {
			t.Fatal(err)
		}
	}
}

func observe(t *testing.T, b *Book, node string, l *chain.Log) (Outcome, Record, error) {
	t.Helper()
	st, err := Make(l, b.Since(node))
	if err != nil {
		t.Fatal(err)
	}
	return b.Observe(node, st, time.Now())
}

func TestWitnessDetectsRewrite(t *testing.T) {
	id, err := identity.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "witness.json")
	b, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	honest := openChain(t, t.TempDir(), id)
	appendN(t, honest, 3, "honest")
	if out, _, err := observe(t, b, id.NodeID, honest); err != nil || out != Advanced {
		t.Fatalf("first statement: %v %v", out, err)
	}
	if out, _, err := observe(t, b, id.NodeID, honest); err != nil || out != Unchanged {
		t.Fatalf("the same checkpoint again: %v %v", out, err)
	}
	appendN(t, honest, 2, "honest")
	out, rec, err := observe(t, b, id.NodeID, honest)
	if err != nil || out != Advanced || rec.Witnessed != 2 {
		t.Fatalf("a consistent extension: %v %+v %v", out, rec, err)
	}

	// The same node (same keys) rewrites its history: a new chain, longer
	// than what was witnessed, whose prefix differs.
	rewritten := openChain(t, t.TempDir(), id)
	appendN(t, rewritten, 8, "rewritten")
	out, rec, err = observe(t, b, id.NodeID, rewritten)
	if err != nil || out != Forked || !rec.Forked || rec.Evidence == nil || rec.Evidence.Size != 8 {
		t.Fatalf("a rewritten chain: %v %+v %v", out, rec, err)
	}
	// It stays forked, across a restart of the witness.
	b2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := b2.Get(id.NodeID); !ok || !r.Forked || r.Checkpoint.Size != 5 {
		t.Fatalf("after reopening: %+v", r)
	}
	appendN(t, honest, 1, "honest")
	if out, _, _ := observe(t, b2, id.NodeID, honest); out != Unchanged {
		t.Fatalf("a forked node's later statement: %v", out)
	}
}

func TestWitnessDetectsRollbackAndRefusesBadStatements(t *testing.T) {
	id, _ := identity.LoadOrCreate(t.TempDir())
	other, _ := identity.LoadOrCreate(t.TempDir())
	b, err := Open(filepath.Join(t.TempDir(), "w.json"))
	if err != nil {
		t.Fatal(err)
	}
	l := openChain(t, t.TempDir(), id)
	appendN(t, l, 4, "x")
	if out, _, err := observe(t, b, id.NodeID, l); out != Advanced || err != nil {
		t.Fatal(out, err)
	}
	// Someone else's chain stated as this node's: not evidence.
	ol := openChain(t, t.TempDir(), other)
	appendN(t, ol, 1, "y")
	st, _ := Make(ol, 0)
	if _, _, err := b.Observe(id.NodeID, st, time.Now()); !errors.Is(err, ErrBadStatement) {
		t.Fatalf("another node's chain: %v", err)
	}
	// A tampered signature: not evidence either.
	st, _ = Make(l, 0)
	st.Checkpoint.Size++
	if _, _, err := b.Observe(id.NodeID, st, time.Now()); !errors.Is(err, ErrBadStatement) {
		t.Fatalf("a tampered checkpoint: %v", err)
	}
	// A shorter chain with the node's own signature: a rollback.
	short := openChain(t, t.TempDir(), id)
	appendN(t, short, 2, "x")
	st, _ = Make(short, 0)
	if out, rec, err := b.Observe(id.NodeID, st, time.Now()); out != Forked || err != nil || rec.Reason == "" {
		t.Fatalf("a rollback: %v %+v %v", out, rec, err)
	}
}

func FuzzObserve(f *testing.F) {
	f.Add([]byte(`{"ed25519":"","mldsa65":"","checkpoint":{"origin":"n1","size":1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var st Statement
		if err := json.Unmarshal(data, &st); err != nil {
			return
		}
		b := &Book{path: filepath.Join(t.TempDir(), "w.json"), peers: map[string]*Record{}}
		_, _, _ = b.Observe("n0000000000000000", st, time.Now())
	})
}
