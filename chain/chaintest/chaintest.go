// Package chaintest makes signed chains for tests of the programs that
// verify them (the browser light node, its end-to-end test).
package chaintest

import (
	"bytes"
	"context"
	"crypto/sha3"
	"testing"

	"github.com/weftos/weftos/chain"
)

// Export writes a chain of n events, signed with keys derived from seed,
// with the chain package (checkpoints as a node makes them), and returns
// its JSON Lines export. Event j is an ipc.send from j to j+1.
func Export(tb testing.TB, origin, seed string, n int) []byte {
	tb.Helper()
	sh := sha3.NewSHAKE256()
	sh.Write([]byte(seed))
	keys, err := chain.GenerateKeys(sh)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	dir := tb.TempDir()
	l, err := chain.Open(ctx, dir, chain.Options{ChainID: 1, Origin: origin, Keys: keys})
	if err != nil {
		tb.Fatal(err)
	}
	batch := make([]chain.Entry, 0, 1000)
	for i := 0; i < n; i += cap(batch) {
		batch = batch[:0]
		for j := i; j < min(n, i+cap(batch)); j++ {
			batch = append(batch, chain.Entry{Source: "kernel", Kind: "ipc.send", Payload: map[string]any{"from": j, "to": j + 1, "topic": "news"}})
		}
		if _, err := l.AppendBatch(ctx, batch); err != nil {
			tb.Fatal(err)
		}
	}
	if err := l.Close(ctx); err != nil {
		tb.Fatal(err)
	}
	r, err := chain.OpenReader(dir)
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	var buf bytes.Buffer
	if err := r.Export(ctx, &buf, 0); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
