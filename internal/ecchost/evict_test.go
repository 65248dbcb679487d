package ecchost

import (
	"maps"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/weftos/weftos/internal/apitype"
)

// TestEvictLeastActive checks the selection against the rule it
// replaced: remove the least active entry (ties: smaller key) one at a
// time until the set fits.
func TestEvictLeastActive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var buf []ranked
	for _, tc := range []struct{ n, size int }{{0, 4}, {3, 4}, {4, 4}, {5, 4}, {6, 1}, {6, 5}, {40, 1}, {300, 256}, {1000, 256}, {1000, 999}, {2000, 3}} {
		ws := map[string]apitype.EccSalient{}
		for range tc.n {
			k := "k" + strconv.Itoa(rng.IntN(tc.n*2+1))
			ws[k] = apitype.EccSalient{Key: k, Activation: float64(rng.IntN(5)) / 2}
		}
		want := maps.Clone(ws)
		for len(want) > tc.size {
			low := ""
			for k, s := range want {
				if low == "" || s.Activation < want[low].Activation || (s.Activation == want[low].Activation && k < low) {
					low = k
				}
			}
			delete(want, low)
		}
		buf = evictLeastActive(ws, tc.size, buf)
		if !maps.Equal(ws, want) {
			t.Errorf("n=%d size=%d: kept %d entries, want %d (or different ones)", tc.n, tc.size, len(ws), len(want))
		}
	}
}

// BenchmarkEvictLeastActive is one tick's eviction: a full working set
// and a batch of new entries.
func BenchmarkEvictLeastActive(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	full := map[string]apitype.EccSalient{}
	for i := range SalienceSize + 200 {
		k := "seq:" + strconv.Itoa(i)
		full[k] = apitype.EccSalient{Key: k, Activation: rng.Float64()}
	}
	ws := make(map[string]apitype.EccSalient, len(full))
	var buf []ranked
	b.ReportAllocs()
	for b.Loop() {
		clear(ws)
		maps.Copy(ws, full)
		buf = evictLeastActive(ws, SalienceSize, buf)
	}
}
