package xref

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// model is the index as plain maps, the rules of add written the simple
// way: the numbered index must answer as it does.
type model struct {
	nodes   map[ID]Node
	keys    map[string]ID
	out, in map[ID][]Link
	seen    map[[3]string]bool
}

func (m *model) add(b Batch) {
	for _, n := range b.Nodes {
		old, ok := m.nodes[n.ID]
		if ok && (old.Key != "" || n.Key == "") {
			continue
		}
		if n.Key != "" {
			if other, taken := m.keys[n.Key]; taken && other != n.ID {
				n.Key = ""
			} else {
				m.keys[n.Key] = n.ID
			}
		}
		if ok && n.Key == "" {
			continue
		}
		m.nodes[n.ID] = n
	}
	for _, l := range b.Links {
		k := [3]string{l.From.String(), l.To.String(), l.Rel}
		if m.seen[k] {
			continue
		}
		m.seen[k] = true
		m.out[l.From] = append(m.out[l.From], l)
		m.in[l.To] = append(m.in[l.To], l)
	}
}

func TestIndexMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ids := make([]ID, 40)
	for i := range ids {
		ids[i][0], ids[i][1] = byte(i), 0xab
	}
	types := []string{"session", "process", "chain.event"}
	keys := []string{"", "", "k1", "k2", "k3", "k4"}
	rels := []string{"a", "b", "in_session"}
	x := New()
	m := &model{nodes: map[ID]Node{}, keys: map[string]ID{}, out: map[ID][]Link{}, in: map[ID][]Link{}, seen: map[[3]string]bool{}}
	for round := range 200 {
		var b Batch
		for range rng.IntN(5) {
			b.Nodes = append(b.Nodes, Node{ID: ids[rng.IntN(len(ids))], Type: types[rng.IntN(len(types))], Key: keys[rng.IntN(len(keys))]})
		}
		for range rng.IntN(8) {
			b.Links = append(b.Links, Link{From: ids[rng.IntN(len(ids))], To: ids[rng.IntN(len(ids))], Rel: rels[rng.IntN(len(rels))], Seq: uint64(round)})
		}
		b.Through = uint64(round + 1)
		if err := x.Apply(b); err != nil {
			t.Fatal(err)
		}
		m.add(b)
	}
	links := 0
	for _, ls := range m.out {
		links += len(ls)
	}
	if n, l := x.Len(); n != len(m.nodes) || l != links {
		t.Fatalf("Len = %d, %d; model %d, %d", n, l, len(m.nodes), links)
	}
	for _, id := range ids {
		got, gok := x.Node(id)
		want, wok := m.nodes[id]
		if got != want || gok != wok {
			t.Errorf("Node(%s) = %v %v, model %v %v", id, got, gok, want, wok)
		}
		if !slices.Equal(x.Out(id), m.out[id]) || !slices.Equal(x.In(id), m.in[id]) {
			t.Errorf("links of %s differ from the model", id)
		}
		if nodes, ls := x.Neighbourhood(id, 1, 1000); wok && (len(nodes) == 0 || len(ls) > len(m.out[id])+len(m.in[id])) {
			t.Errorf("Neighbourhood(%s) = %d nodes, %d links", id, len(nodes), len(ls))
		}
	}
	for _, k := range keys[2:] {
		got, gok := x.Key(k)
		want, wok := m.keys[k]
		if gok != wok || (gok && got.ID != want) {
			t.Errorf("Key(%q) = %v %v, model %v %v", k, got.ID, gok, want, wok)
		}
	}
}
