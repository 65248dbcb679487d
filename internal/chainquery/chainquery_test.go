package chainquery

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/weftos/weftos/chain"
)

func TestQueries(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	keys, err := chain.GenerateKeys(bytes.NewReader(bytes.Repeat([]byte{7}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	log, err := chain.Open(ctx, dir, chain.Options{ChainID: 1, Origin: "ntest", Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		kind := "a"
		if i%3 == 0 {
			kind = "b"
		}
		if _, err := log.Append(ctx, "test", kind, map[string]int{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := log.Close(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := chain.OpenReader(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	st, err := GetStatus(r)
	if err != nil || st.Length != 30 || st.LastCheckpoint == nil || st.LastCheckpoint.Size != 30 || st.Keys.Origin != "ntest" {
		t.Fatalf("status %+v %v", st, err)
	}
	tail, err := Tail(r, 4, "b")
	if err != nil || len(tail) != 4 || tail[3].Seq != 27 || tail[0].Seq != 18 {
		t.Fatalf("tail %v %v", seqs(tail), err)
	}
	// TailTo stops before end: the events from end on are a follower's.
	tail, err = TailTo(r, 25, 3, "b")
	if err != nil || seqs(tail) != "18 21 24 " {
		t.Fatalf("tail to 25: %v %v", seqs(tail), err)
	}
	if tail, err = TailTo(r, 99, 1, ""); err != nil || seqs(tail) != "29 " {
		t.Fatalf("tail to past the end: %v %v", seqs(tail), err)
	}
	since, err := Since(r, 25, 0, "")
	if err != nil || len(since) != 5 || since[0].Seq != 25 {
		t.Fatalf("since %v %v", seqs(since), err)
	}
	p, err := Prove(r, 11)
	if err != nil || p.Event.Seq != 11 || p.ProofBytes != len(p.Proof.Hashes)*chain.HashSize {
		t.Fatalf("prove %+v %v", p, err)
	}
	if err := chain.VerifyInclusion(r.Info().Keys, p.Checkpoint, p.Event.Hash, p.Proof); err != nil {
		t.Fatal(err)
	}
	c, err := Consistent(r, 7, 30)
	if err != nil || chain.VerifyConsistencyProof(c.OldRoot, c.NewRoot, c.Proof) != nil {
		t.Fatalf("consistency %v", err)
	}
	if _, err := Prove(r, 99); err == nil {
		t.Fatal("proof for a missing event")
	}
	if _, err := Consistent(r, 31, 30); err == nil {
		t.Fatal("consistency with old > new")
	}
}

func seqs(evs []chain.Event) string {
	var b bytes.Buffer
	for _, e := range evs {
		fmt.Fprintf(&b, "%d ", e.Seq)
	}
	return b.String()
}
