package causal

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func nid(i int) ID {
	var id ID
	id[0], id[1], id[2], id[31] = byte(i>>16), byte(i>>8), byte(i), 0xee
	return id
}

func mustAdd(t testing.TB, g *Graph, from, to int, typ Type) []ID {
	t.Helper()
	_, stale, err := g.Add(Edge{From: nid(from), To: nid(to), Type: typ, Weight: 1})
	if err != nil {
		t.Fatal(err)
	}
	return stale
}

func TestCycleRefusedNamingTheCycle(t *testing.T) {
	g := New()
	mustAdd(t, g, 1, 2, DependsOn)
	mustAdd(t, g, 2, 3, DependsOn)
	_, _, err := g.Add(Edge{From: nid(3), To: nid(1), Type: DependsOn, Weight: 1})
	var ce *CycleError
	if !errors.Is(err, ErrCycle) || !errors.As(err, &ce) {
		t.Fatalf("cycle accepted: %v", err)
	}
	if want := []ID{nid(1), nid(2), nid(3)}; !slices.Equal(ce.Path, want) || ce.Type != DependsOn {
		t.Fatalf("cycle %v, want %v", ce.Path, want)
	}
	if s := err.Error(); s != "causal: a depends_on edge would close a cycle: "+nid(1).String()[:12]+" → "+nid(2).String()[:12]+" → "+nid(3).String()[:12]+" → "+nid(1).String()[:12] {
		t.Fatalf("message %q", s)
	}
	// Other types are separate orders; mentions and contradicts may cycle.
	mustAdd(t, g, 3, 1, DerivedFrom)
	mustAdd(t, g, 3, 1, Mentions)
	mustAdd(t, g, 1, 3, Mentions)
	if _, e := g.Len(); e != 5 {
		t.Fatalf("%d edges", e)
	}
	for _, bad := range []Edge{{From: nid(1), To: nid(1), Type: Follows}, {From: nid(1), To: nid(2)}, {From: nid(1), To: nid(2), Type: Follows, Weight: -1},
		{From: nid(1), To: nid(2), Type: Follows, ValidFrom: 5, ValidTo: 5}} {
		if _, _, err := g.Add(bad); !errors.Is(err, ErrInvalid) {
			t.Fatalf("%+v accepted: %v", bad, err)
		}
	}
	if added, _, err := g.Add(Edge{From: nid(1), To: nid(2), Type: DependsOn, Weight: 3}); added || err != nil {
		t.Fatal("a duplicate edge was added again")
	}
}

// reaches is the brute-force reference: does from reach to along edges of
// type t?
func reaches(edges [][2]int, from, to int) bool {
	seen := map[int]bool{from: true}
	stack := []int{from}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n == to {
			return true
		}
		for _, e := range edges {
			if e[0] == n && !seen[e[1]] {
				seen[e[1]] = true
				stack = append(stack, e[1])
			}
		}
	}
	return false
}

// TestAcyclicityAgainstBruteForce: random edges between random nodes; an
// edge is refused exactly when its target already reaches its source.
func TestAcyclicityAgainstBruteForce(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 1))
		g := New()
		var kept [][2]int
		n := 5 + rng.IntN(30)
		for range 4 * n {
			u, v := rng.IntN(n), rng.IntN(n)
			if u == v {
				continue
			}
			want := !reaches(kept, v, u)
			added, _, err := g.Add(Edge{From: nid(u), To: nid(v), Type: Follows, Weight: 1})
			dup := slices.Contains(kept, [2]int{u, v})
			switch {
			case dup && (added || err != nil):
				t.Fatalf("seed %d: duplicate %d→%d: %v %v", seed, u, v, added, err)
			case !dup && want != added:
				t.Fatalf("seed %d: %d→%d added=%v want %v (%v)", seed, u, v, added, want, err)
			case !dup && !want:
				var ce *CycleError
				if !errors.As(err, &ce) || ce.Path[0] != nid(v) || ce.Path[len(ce.Path)-1] != nid(u) {
					t.Fatalf("seed %d: cycle error %v", seed, err)
				}
				for i := 0; i+1 < len(ce.Path); i++ { // the named cycle is made of real edges
					a, b := int(ce.Path[i][2])|int(ce.Path[i][1])<<8, int(ce.Path[i+1][2])|int(ce.Path[i+1][1])<<8
					if !slices.Contains(kept, [2]int{a, b}) {
						t.Fatalf("seed %d: cycle step %d→%d is not an edge", seed, a, b)
					}
				}
			}
			if added {
				kept = append(kept, [2]int{u, v})
			}
		}
	}
}

// downstream is the brute-force truth: every node that (transitively)
// derives from any of bad.
func downstream(deps map[int][]int, bad []int) map[int]bool {
	out := map[int]bool{}
	changed := true
	isBad := func(n int) bool { return out[n] || slices.Contains(bad, n) }
	for changed {
		changed = false
		for n, ds := range deps {
			if out[n] {
				continue
			}
			for _, d := range ds {
				if isBad(d) {
					out[n], changed = true, true
					break
				}
			}
		}
	}
	return out
}

// TestTruthMaintenanceProperty: on generated provenance graphs (facts
// derived from evidence and other facts by derived_from, depends_on and
// evidence_for), superseding some evidence marks exactly the true
// downstream set stale (precision and recall 1.0), and the walk visits
// only the nodes it marks.
func TestTruthMaintenanceProperty(t *testing.T) {
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 2))
		g := New()
		n := 20 + rng.IntN(200)
		deps := map[int][]int{} // node → what it is derived from
		for i := 1; i < n; i++ {
			for range rng.IntN(4) {
				src := rng.IntN(i)
				switch rng.IntN(3) {
				case 0:
					mustAdd(t, g, i, src, DerivedFrom)
				case 1:
					mustAdd(t, g, i, src, DependsOn)
				default:
					mustAdd(t, g, src, i, EvidenceFor)
				}
				deps[i] = append(deps[i], src)
			}
			if rng.IntN(5) == 0 { // unrelated edges must not spread staleness
				mustAdd(t, g, i, rng.IntN(i), Mentions)
			}
		}
		var bad []int
		stale := map[ID]bool{}
		for round := range 3 {
			before := g.Stats().Visited
			e := rng.IntN(n)
			bad = append(bad, e)
			newer := 100000 + round
			got := mustAdd(t, g, newer, e, Supersedes)
			if visited := g.Stats().Visited - before; visited != uint64(len(got)) {
				t.Fatalf("seed %d: visited %d nodes to mark %d", seed, visited, len(got))
			}
			for _, id := range got {
				if stale[id] {
					t.Fatalf("seed %d: %x marked twice", seed, id[:3])
				}
				stale[id] = true
			}
			truth := downstream(deps, bad)
			tp := 0
			for i := range n {
				st, err := g.State(nid(i))
				if err != nil {
					continue // a node with no edges
				}
				if st.Stale != truth[i] {
					t.Fatalf("seed %d round %d: node %d stale=%v, truth %v", seed, round, i, st.Stale, truth[i])
				}
				if st.Stale {
					tp++
				}
				if slices.Contains(bad, i) && !st.Superseded {
					t.Fatalf("seed %d: superseded evidence %d not marked", seed, i)
				}
			}
			if tp != len(truth) || len(stale) != len(truth) {
				t.Fatalf("seed %d: %d marked, %d reported, %d true", seed, tp, len(stale), len(truth))
			}
		}
		// Deriving from stale evidence is stale from the start.
		if _, st, err := g.Add(Edge{From: nid(200000), To: nid(bad[0]), Type: DerivedFrom, Weight: 1}); err != nil || len(st) != 1 {
			t.Fatalf("seed %d: derived from superseded evidence: %v %v", seed, st, err)
		}
	}
}

func TestWhyImpactAsOf(t *testing.T) {
	g := New()
	add := func(from, to int, typ Type, validFrom, validTo, recorded int64) {
		t.Helper()
		if _, _, err := g.Add(Edge{From: nid(from), To: nid(to), Type: typ, Weight: 1, ValidFrom: validFrom, ValidTo: validTo, Recorded: recorded}); err != nil {
			t.Fatal(err)
		}
	}
	// summary 1 derived from facts 2 and 3; fact 3 derived from source 4.
	add(1, 2, DerivedFrom, 0, 0, 10)
	add(1, 3, DerivedFrom, 0, 0, 10)
	add(3, 4, DerivedFrom, 0, 0, 20)
	add(5, 3, EvidenceFor, 100, 200, 30) // evidence valid only in [100, 200)
	why, err := g.Why(nid(1), 3, AsOf{})
	if err != nil || len(why) != 4 {
		t.Fatalf("why: %+v %v", why, err)
	}
	if why[0].Depth != 1 || why[2].Depth != 2 {
		t.Fatalf("depths: %+v", why)
	}
	if why, _ := g.Why(nid(1), 3, AsOf{Recorded: 15}); len(why) != 2 {
		t.Fatalf("as recorded at 15: %d steps", len(why))
	}
	if why, _ := g.Why(nid(1), 3, AsOf{Valid: 250}); len(why) != 3 {
		t.Fatalf("as valid at 250: %d steps", len(why))
	}
	if why, _ := g.Why(nid(1), 3, AsOf{Valid: 150}); len(why) != 4 {
		t.Fatalf("as valid at 150: %d steps", len(why))
	}
	imp, err := g.Impact(nid(4), 5, AsOf{})
	if err != nil || len(imp) != 2 || imp[0].Node != nid(3) || imp[1].Node != nid(1) {
		t.Fatalf("impact: %+v %v", imp, err)
	}
	desc, _ := g.Descendants(nid(1), 1, AsOf{})
	if len(desc) != 2 {
		t.Fatalf("descendants %d", len(desc))
	}
	if _, err := g.Why(nid(99), 1, AsOf{}); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
}

// TestPPRMatchesPowerIteration: on a random graph the local push agrees
// with a dense power iteration to within its residual bound.
func TestPPRMatchesPowerIteration(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	g := New()
	n := 300
	type e struct {
		u, v int
		w    float64
	}
	var es []e
	for i := 1; i < n; i++ {
		for range 3 {
			j := rng.IntN(i)
			w := 0.5 + rng.Float64()
			if added, _, err := g.Add(Edge{From: nid(i), To: nid(j), Type: Mentions, Weight: float32(w)}); err != nil || !added {
				continue
			}
			es = append(es, e{i, j, float64(float32(w))})
		}
	}
	seeds := map[ID]float64{nid(7): 1, nid(42): 1}
	got := g.PPR(seeds, PPROptions{Epsilon: 1e-7, K: n})
	deg := make([]float64, n)
	for _, x := range es {
		deg[x.u] += x.w
		deg[x.v] += x.w
	}
	p := make([]float64, n)
	s := make([]float64, n)
	s[7], s[42] = 0.5, 0.5
	copy(p, s)
	for range 200 {
		next := make([]float64, n)
		for i := range n {
			next[i] = 0.15 * s[i]
		}
		for _, x := range es {
			next[x.v] += 0.85 * p[x.u] * x.w / deg[x.u]
			next[x.u] += 0.85 * p[x.v] * x.w / deg[x.v]
		}
		p = next
	}
	l1 := 0.0
	gotMap := map[ID]float64{}
	for _, sc := range got {
		gotMap[sc.ID] = sc.Score
	}
	for i := range n {
		d := gotMap[nid(i)] - p[i]
		if d < 0 {
			d = -d
		}
		l1 += d
	}
	if l1 > 1e-3 {
		t.Fatalf("L1 distance to power iteration %g", l1)
	}
	if top := g.PPR(seeds, PPROptions{K: 2}); len(top) != 2 {
		t.Fatalf("top %d", len(top))
	}
	if g.PPR(map[ID]float64{nid(9999): 1}, PPROptions{}) != nil {
		t.Fatal("unknown seeds ranked something")
	}
}

func TestStorePersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "graph.log")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	mustAdd(t, s.Graph, 1, 2, DerivedFrom)
	mustAdd(t, s.Graph, 3, 2, Supersedes)
	if _, _, err := s.Add(Edge{From: nid(2), To: nid(1), Type: DerivedFrom, Weight: 1}); !errors.Is(err, ErrCycle) {
		t.Fatal(err)
	}
	if err := s.Sync(7); err != nil || s.Through() != 7 {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Add(Edge{From: nid(5), To: nid(6), Type: Follows, Weight: 1}); err == nil {
		t.Fatal("added to a closed store")
	}
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := s.State(nid(1)); !st.Stale {
		t.Fatal("staleness not restored")
	}
	if _, e := s.Len(); e != 2 || s.Through() != 7 {
		t.Fatalf("%d edges through %d after reopen", e, s.Through())
	}
	_ = s.Close()
	data, _ := os.ReadFile(path)
	data = data[:len(data)-(12+markerLen)] // without the marker
	if err := os.WriteFile(path, data[:len(data)-5], 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, e := s.Len(); e != 1 {
		t.Fatalf("%d edges after a torn tail", e)
	}
	_ = s.Close()
	data[20] ^= 1
	_ = os.WriteFile(path, data[:len(data)-5], 0o600)
	if _, err := Open(path); !errors.Is(err, ErrCorrupt) {
		t.Fatal(err)
	}
}

func FuzzDecodeEdge(f *testing.F) {
	f.Add(EncodeEdge(Edge{From: nid(1), To: nid(2), Type: DependsOn, Weight: 0.5, Seq: 9, ValidFrom: 1, ValidTo: 2, Recorded: 3}))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEdge(b)
		if err != nil {
			return
		}
		if got := EncodeEdge(e); string(got) != string(b) {
			t.Fatalf("round trip %x", got)
		}
	})
}

func ExampleGraph_Add() {
	g := New()
	fact, source, summary := nid(1), nid(2), nid(3)
	_, _, _ = g.Add(Edge{From: fact, To: source, Type: DerivedFrom, Weight: 1})
	_, _, _ = g.Add(Edge{From: summary, To: fact, Type: DerivedFrom, Weight: 1})
	correction := nid(4)
	_, stale, _ := g.Add(Edge{From: correction, To: source, Type: Supersedes, Weight: 1})
	fmt.Println(len(stale), "derived artifacts are now stale")
	// Output: 2 derived artifacts are now stale
}

func TestHash(t *testing.T) {
	id := func(b byte) ID { var x ID; x[0] = b; return x }
	a, b := New(), New()
	if a.Hash() != b.Hash() {
		t.Fatal("empty graphs differ")
	}
	edges := []Edge{
		{From: id(1), To: id(2), Type: PartOf, Weight: 1, Seq: 5, Recorded: 10},
		{From: id(2), To: id(3), Type: Follows, Weight: 1, Seq: 6, Recorded: 11},
		{From: id(1), To: id(4), Type: Mentions, Weight: 0.5, Seq: 7, Recorded: 12},
	}
	for _, e := range edges {
		if _, _, err := a.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	// Same edges, another order, other seqs and times: same hash.
	for i := len(edges) - 1; i >= 0; i-- {
		e := edges[i]
		e.Seq, e.Recorded, e.ValidFrom = e.Seq+100, e.Recorded+100, 99
		if _, _, err := b.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	h := a.Hash()
	if h != b.Hash() || h == New().Hash() {
		t.Fatalf("hashes: %x %x", h, b.Hash())
	}
	if !a.HasEdge(id(1), id(2), PartOf) || a.HasEdge(id(2), id(1), PartOf) || a.HasEdge(id(1), id(2), Follows) {
		t.Fatal("HasEdge")
	}
	// A new edge (or another weight) changes it.
	if _, _, err := b.Add(Edge{From: id(3), To: id(4), Type: Mentions, Weight: 0.5}); err != nil {
		t.Fatal(err)
	}
	if b.Hash() == h {
		t.Fatal("hash unchanged by a new edge")
	}
	c := New()
	for _, e := range edges {
		e.Weight = 2
		_, _, _ = c.Add(e)
	}
	if c.Hash() == h {
		t.Fatal("hash ignores weights")
	}
}
