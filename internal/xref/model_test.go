package xref

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/recfile"
)

// model is the index as plain maps, the rules of add written the simple
// way: the numbered index must answer as it does, and persist what it
// finds new.
type model struct {
	nodes   map[ID]Node
	order   []ID // every id met, nodes and link ends, in order
	met     map[ID]bool
	keys    map[string]ID
	out, in map[ID][]Link
	seen    map[linkID]bool
	through uint64
	records [][]byte // what Apply persists
}

// linkID is what makes a link distinct.
type linkID struct {
	from, to ID
	rel      string
}

func newModel() *model {
	return &model{nodes: map[ID]Node{}, met: map[ID]bool{}, keys: map[string]ID{}, out: map[ID][]Link{}, in: map[ID][]Link{}, seen: map[linkID]bool{}}
}

func (m *model) meet(id ID) {
	if !m.met[id] {
		m.met[id] = true
		m.order = append(m.order, id)
	}
}

func (m *model) add(b Batch) {
	var fresh Batch
	fresh.Through = b.Through
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
		m.meet(n.ID)
		m.nodes[n.ID] = n
		fresh.Nodes = append(fresh.Nodes, n)
	}
	for _, l := range b.Links {
		m.meet(l.From)
		m.meet(l.To)
		k := linkID{l.From, l.To, l.Rel}
		if m.seen[k] {
			continue
		}
		m.seen[k] = true
		m.out[l.From] = append(m.out[l.From], l)
		m.in[l.To] = append(m.in[l.To], l)
		fresh.Links = append(fresh.Links, l)
	}
	if len(fresh.Nodes) > 0 || len(fresh.Links) > 0 || b.Through > m.through {
		m.records = append(m.records, EncodeBatch(fresh))
	}
	m.through = max(m.through, b.Through)
}

func (m *model) node(id ID) Node {
	if n, ok := m.nodes[id]; ok {
		return n
	}
	return Node{ID: id, Type: "unknown"}
}

func (m *model) resolve(s string) (ID, error) {
	if id, err := ParseID(s); err == nil {
		if _, ok := m.nodes[id]; !ok {
			return id, ErrNotFound
		}
		return id, nil
	}
	if id, ok := m.keys[s]; ok {
		return id, nil
	}
	p := strings.ToLower(s)
	if len(p) < MinPrefix || strings.Trim(p, "0123456789abcdef") != "" {
		return ID{}, ErrNotFound
	}
	var found []ID
	for id := range m.nodes {
		if strings.HasPrefix(id.String(), p) {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 0:
		return ID{}, ErrNotFound
	case 1:
		return found[0], nil
	}
	return ID{}, ErrAmbiguous
}

// neighbourhood is Neighbourhood by the rule: breadth first, each
// reached entry's out-links then in-links in the order added.
func (m *model) neighbourhood(id ID, depth, limit int) ([]Node, []Link) {
	root, ok := m.nodes[id]
	if !ok {
		return nil, nil
	}
	nodes, seen, used := []Node{root}, map[ID]bool{id: true}, map[linkID]bool{}
	var links []Link
	frontier := []ID{id}
	for d := 0; d < depth && len(frontier) > 0; d++ {
		var next []ID
		for _, at := range frontier {
			for _, set := range [2][]Link{m.out[at], m.in[at]} {
				for _, l := range set {
					k := linkID{l.From, l.To, l.Rel}
					if used[k] {
						continue
					}
					if len(links) >= limit {
						return nodes, links
					}
					used[k] = true
					links = append(links, l)
					for _, other := range [2]ID{l.From, l.To} {
						if !seen[other] {
							seen[other] = true
							nodes = append(nodes, m.node(other))
							next = append(next, other)
						}
					}
				}
			}
		}
		frontier = next
	}
	sort.SliceStable(nodes[1:], func(i, j int) bool { return nodes[1+i].Type < nodes[1+j].Type })
	return nodes, links
}

// modelKeys are keys the random batches use: held and conflicting, seq
// keys dense, far apart and not canonical (held in the table, not the
// dense slice), and look-alikes.
var modelKeys = []string{"", "", "", "k1", "k2", "pid:7", "seq:0", "seq:1", "seq:2", "seq:3", "seq:40", "seq:01", "seq:00", "seq:",
	"seq:-1", "seq:+2", "seq:99999999", "seq:18446744073709551615", "seq:18446744073709551616", "seq:1 ", "Seq:1", "seq:2x"}

// check compares every query of x with the model.
func (m *model) check(t *testing.T, x *Index, ids []ID) {
	t.Helper()
	links := 0
	for _, ls := range m.out {
		links += len(ls)
	}
	if n, l := x.Len(); n != len(m.nodes) || l != links {
		t.Fatalf("Len = %d, %d; model %d, %d", n, l, len(m.nodes), links)
	}
	if x.Through() != m.through {
		t.Fatalf("Through = %d, model %d", x.Through(), m.through)
	}
	for _, id := range ids {
		got, gok := x.Node(id)
		want, wok := m.nodes[id]
		if got != want || gok != wok {
			t.Fatalf("Node(%s) = %v %v, model %v %v", id, got, gok, want, wok)
		}
		if !slices.Equal(x.Out(id), m.out[id]) || !slices.Equal(x.In(id), m.in[id]) {
			t.Fatalf("links of %s differ from the model", id)
		}
		for _, depth := range []int{1, 3} {
			for _, limit := range []int{7, 1000} {
				gn, gl := x.Neighbourhood(id, depth, limit)
				wn, wl := m.neighbourhood(id, depth, limit)
				if !slices.Equal(gn, wn) || !slices.Equal(gl, wl) {
					t.Fatalf("Neighbourhood(%s, %d, %d) = %v %v, model %v %v", id, depth, limit, gn, gl, wn, wl)
				}
			}
		}
		for _, s := range []string{id.String(), strings.ToUpper(id.String()), id.String()[:8], id.String()[:7], id.String()[:12], id.String() + "0"} {
			got, gerr := x.Resolve(s)
			want, werr := m.resolve(s)
			if got != want || (gerr == nil) != (werr == nil) || (werr != nil && !errors.Is(gerr, werr)) {
				t.Fatalf("Resolve(%q) = %s %v, model %s %v", s, got, gerr, want, werr)
			}
		}
	}
	for _, k := range modelKeys {
		got, gok := x.Key(k)
		wantID, wok := m.keys[k]
		if gok != wok || (gok && got != m.nodes[wantID]) {
			t.Fatalf("Key(%q) = %v %v, model %v %v", k, got, gok, wantID, wok)
		}
		gid, gerr := x.Resolve(k)
		wid, werr := m.resolve(k)
		if gid != wid || (gerr == nil) != (werr == nil) {
			t.Fatalf("Resolve(%q) = %s %v, model %s %v", k, gid, gerr, wid, werr)
		}
	}
}

// randomBatches are batches over a small pool of ids: duplicate nodes
// and links, key conflicts, self-links, nodes first met as link ends,
// entries with more out-links than walkLimit; some ids share long hex
// prefixes so that prefixes are ambiguous.
func randomBatches(seed uint64, rounds int) ([]Batch, []ID) {
	rng := rand.New(rand.NewPCG(seed, 4))
	ids := make([]ID, 48)
	for i := range ids {
		ids[i][0], ids[i][1], ids[i][2] = byte(i%5), 0xab, byte(i)
		ids[i][31] = byte(rng.Uint32())
	}
	types := []string{"session", "process", "chain.event", "unknown", "a"}
	rels := []string{"a", "b", "in_session", "c", "d", "e", "f", "g"}
	var bs []Batch
	for round := range rounds {
		var b Batch
		for range rng.IntN(6) {
			b.Nodes = append(b.Nodes, Node{ID: ids[rng.IntN(len(ids))], Type: types[rng.IntN(len(types))], Key: modelKeys[rng.IntN(len(modelKeys))]})
		}
		hub := ids[rng.IntN(4)] // a few entries gather many links
		for range rng.IntN(14) {
			from, to := ids[rng.IntN(len(ids))], ids[rng.IntN(len(ids))]
			switch rng.IntN(4) {
			case 0:
				from = hub
			case 1:
				to = from // a self-link
			}
			b.Links = append(b.Links, Link{From: from, To: to, Rel: rels[rng.IntN(len(rels))], Seq: uint64(round)})
		}
		if rng.IntN(4) > 0 {
			b.Through = uint64(round + 1)
		}
		bs = append(bs, b)
	}
	return bs, ids
}

// TestIndexMatchesModel: over random batches, the index answers Node,
// Key, Resolve, Out, In, Neighbourhood and Len as the model does,
// persists exactly the model's new nodes and links per batch, and
// reopens to the same answers.
func TestIndexMatchesModel(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "xref.log")
			x, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			mem := New()
			m := newModel()
			bs, ids := randomBatches(seed, 300)
			for i, b := range bs {
				for _, ix := range []*Index{x, mem} {
					if err := ix.Apply(b); err != nil {
						t.Fatal(err)
					}
				}
				m.add(b)
				if i%100 == 99 {
					m.check(t, x, ids)
				}
			}
			m.check(t, x, ids)
			m.check(t, mem, ids)
			// Some entry went past walkLimit: the sets were exercised.
			if len(x.sets) == 0 {
				t.Fatal("no entry has more than walkLimit out-links")
			}
			if err := x.Close(); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			recs, _, err := recfile.Decode(data, Magic)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != len(m.records) {
				t.Fatalf("%d records persisted, model %d", len(recs), len(m.records))
			}
			for i := range recs {
				if !bytes.Equal(recs[i], m.records[i]) {
					t.Fatalf("record %d differs from the model's", i)
				}
			}
			x, err = Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer x.Close()
			m.check(t, x, ids)
		})
	}
}
