package memory

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTokenize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"What did Melanie paint?", "melani paint"},
		{"Melanie's paintings", "melani paint"},
		{"I've been camping with the kids; camps are fun!", "camp kid camp fun"},
		{"She hiked and is hiking", "hik hik"},
		{"running stopped", "run stop"},
		{"LGBTQ support groups", "lgbtq support group"},
		{"studies of classes", "study class"},
		{"Café au lait 2023", "café au lait 2023"},
		{"", ""},
		{"the and of", ""},
	}
	for _, tc := range tests {
		if got := strings.Join(tokenize(nil, tc.in), " "); got != tc.want {
			t.Errorf("tokenize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := strings.Repeat("x", 200)
	if got := tokenize(nil, long); len(got) != 1 || len(got[0]) > maxTokenBytes {
		t.Errorf("a 200-byte word gives %q", got)
	}
}

func TestStem(t *testing.T) {
	for in, want := range map[string]string{
		"paints": "paint", "painted": "paint", "painting": "paint", "ponies": "pony",
		"classes": "class", "bus": "bus", "this": "this", "sing": "sing", "red": "red",
		"happily": "happi", "kindness": "kind", "hopping": "hop", "falling": "fall",
		"hike": "hik", "hiking": "hik", "agree": "agree", "élan": "élan",
	} {
		if got := stem(in); got != want {
			t.Errorf("stem(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBM25Scores(t *testing.T) {
	x := newLexIndex()
	docs := []struct {
		text    string
		speaker string
	}{
		{"the cat sat on the mat", "alice"},
		{"a dog and a cat and another cat", "bob"},
		{"nothing about animals here at all today", "alice"},
		{"dogs dogs dogs", "carol"},
	}
	for i, d := range docs {
		x.add(uint64(i+1), d.text, Meta{Speaker: d.speaker})
	}
	textOnly := BM25Params{K1: 1.2, B: [numFields]float64{0.75, 0, 0}, W: [numFields]float64{1, 0, 0}}
	// text lengths after stop words: 3 (cat sat mat), 4 (dog cat another
	// cat), 3 (nothing animal today), 3 (dog dog dog) → avg 13/4
	k1, b, n, avg := 1.2, 0.75, 4.0, 13.0/4
	sat := func(tf, dl float64) float64 { // the scorer's tf/(k1+tf) form with length-normalised tf
		tn := tf / (1 - b + b*dl/avg)
		return tn / (k1 + tn)
	}
	idf := func(df float64) float64 { return math.Log(1 + (n-df+0.5)/(df+0.5)) }
	tests := []struct {
		name   string
		query  string
		p      BM25Params
		accept func(uint64) bool
		want   map[uint64]float64
	}{
		{"one term", "cat", textOnly, nil, map[uint64]float64{1: idf(2) * sat(1, 3), 2: idf(2) * sat(2, 4)}},
		{"stemmed, two terms", "cats dog", textOnly, nil, map[uint64]float64{
			1: idf(2) * sat(1, 3), 2: idf(2)*sat(2, 4) + idf(2)*sat(1, 4), 4: idf(2) * sat(3, 3)}},
		{"repeated query term counts twice", "cat cat", textOnly, nil, map[uint64]float64{1: 2 * idf(2) * sat(1, 3), 2: 2 * idf(2) * sat(2, 4)}},
		{"filtered", "cat", textOnly, func(l uint64) bool { return l != 2 }, map[uint64]float64{1: idf(2) * sat(1, 3)}},
		{"unknown term", "zebra", textOnly, nil, map[uint64]float64{}},
		{"speaker field", "alice", DefaultBM25, nil, map[uint64]float64{
			1: idf(2) * 0.4 / (1.2 + 0.4), 3: idf(2) * 0.4 / (1.2 + 0.4)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := x.score(tokenize(nil, tc.query), tc.p, tc.accept)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for l, w := range tc.want {
				if math.Abs(got[l]-w) > 1e-12 {
					t.Errorf("doc %d: %v, want %v", l, got[l], w)
				}
			}
		})
	}
}

func TestLexIndexRemoveAndNeighbours(t *testing.T) {
	x := newLexIndex()
	for i, text := range []string{"alpha beta", "gamma", "delta alpha", "epsilon"} {
		x.add(uint64(i+1), text, Meta{Session: "s"})
	}
	x.add(9, "alpha elsewhere", Meta{Session: "other"})
	if p, n := x.neighbours(2); p != 1 || n != 3 {
		t.Fatalf("neighbours(2) = %d, %d", p, n)
	}
	x.remove(2)
	if p, n := x.neighbours(3); p != 1 || n != 4 {
		t.Fatalf("after remove, neighbours(3) = %d, %d", p, n)
	}
	if got := x.score([]string{"gamma"}, DefaultBM25, nil); len(got) != 0 {
		t.Fatalf("removed doc still scores: %v", got)
	}
	x.add(10, "zeta", Meta{Session: "s"})
	x.add(6, "eta", Meta{Session: "s"}) // out of order: between 4 and 10
	for l, want := range map[uint64][2]uint64{1: {0, 3}, 3: {1, 4}, 4: {3, 6}, 6: {4, 10}, 10: {6, 0}, 9: {0, 0}} {
		if p, n := x.neighbours(l); p != want[0] || n != want[1] {
			t.Fatalf("neighbours(%d) = %d, %d, want %v", l, p, n, want)
		}
	}
	x.remove(10)
	x.remove(6)
	if x.total[fieldText] != 2+2+1+2 {
		t.Fatalf("total text length %d", x.total[fieldText])
	}
	bm := x.score(tokenize(nil, "epsilon"), DefaultBM25, nil)
	nb := x.neighbourScores(bm, nil)
	if nb[3] != bm[4] || nb[1] != bm[4]/2 || nb[9] != 0 {
		t.Fatalf("neighbour scores %v from %v", nb, bm)
	}
	ss := x.sessionScores(x.score(tokenize(nil, "alpha"), DefaultBM25, nil), nil)
	if !(ss[1] > ss[9]) || ss[4] != 0 {
		t.Fatalf("session scores %v", ss)
	}
}

func TestFuse(t *testing.T) {
	a := ranked{name: CompBM25, labels: []uint64{1, 2, 3}, scores: map[uint64]float64{1: 4, 2: 2, 3: 1}}
	v := ranked{name: CompVector, labels: []uint64{3, 1}, scores: map[uint64]float64{3: 0.9, 1: 0.45}}
	tests := []struct {
		name   string
		w      Weights
		method string
		want   []uint64
		scores []float64
	}{
		{"sum, bm25 only", Weights{BM25: 1}, FusionSum, []uint64{1, 2, 3}, []float64{1, 0.5, 0.25}},
		{"sum, both", Weights{BM25: 1, Vector: 1}, FusionSum, []uint64{1, 3, 2}, []float64{1.5, 1.25, 0.5}},
		{"sum, vector heavy", Weights{BM25: 1, Vector: 4}, FusionSum, []uint64{3, 1, 2}, []float64{4.25, 3, 0.5}},
		{"rrf", Weights{BM25: 1, Vector: 1}, FusionRRF, []uint64{1, 3, 2},
			[]float64{1.0/61 + 1.0/62, 1.0/63 + 1.0/61, 1.0 / 62}},
		{"k cuts", Weights{BM25: 1}, FusionSum, []uint64{1}, []float64{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := 3
			if tc.name == "k cuts" {
				k = 1
			}
			got := fuse([]ranked{a, v}, tc.w, k, tc.method, true)
			var labels []uint64
			for i, f := range got {
				labels = append(labels, f.label)
				if math.Abs(f.score-tc.scores[i]) > 1e-12 {
					t.Errorf("score of %d = %v, want %v", f.label, f.score, tc.scores[i])
				}
				sum := 0.0
				for _, c := range f.explain {
					sum += c.Fused
				}
				if math.Abs(sum-f.score) > 1e-12 {
					t.Errorf("explanation of %d adds up to %v, not %v", f.label, sum, f.score)
				}
			}
			if !slices.Equal(labels, tc.want) {
				t.Fatalf("order %v, want %v", labels, tc.want)
			}
		})
	}
}

func TestWeights(t *testing.T) {
	w, err := DefaultWeights.Without(CompVector, CompSession)
	if err != nil || w.Vector != 0 || w.Session != 0 || w.BM25 != DefaultWeights.BM25 {
		t.Fatalf("Without: %+v %v", w, err)
	}
	w, err = DefaultWeights.Only(CompRecency, CompBM25)
	if err != nil || w != (Weights{BM25: DefaultWeights.BM25, Recency: 1}) {
		t.Fatalf("Only: %+v %v", w, err)
	}
	if _, err := DefaultWeights.Without("pagerank"); !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("unknown component: %v", err)
	}
	for _, bad := range []Weights{{}, {BM25: -1}, {BM25: math.NaN()}} {
		if err := bad.validate(); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

func sampleLex() *lexIndex {
	x := newLexIndex()
	t0 := time.Date(2023, 5, 7, 13, 56, 0, 0, time.UTC)
	x.add(1, "Caroline: I went to the LGBTQ support group yesterday", Meta{Speaker: "Caroline", Session: "s1", Time: t0})
	x.add(2, "Melanie: painting a sunrise by the lake", Meta{Speaker: "Melanie", Session: "s1", Time: t0})
	x.add(5, "notes without a session", Meta{Source: "/tmp/notes.md"})
	x.add(7, "Caroline: the group was so supportive", Meta{Speaker: "Caroline", Session: "s2", Time: t0.AddDate(0, 1, 0)})
	x.remove(5)
	return x
}

func TestLexFileRoundTrip(t *testing.T) {
	x := sampleLex()
	data := x.marshal(42)
	y, gen, err := unmarshalLex(data)
	if err != nil || gen != 42 {
		t.Fatalf("unmarshal: gen %d, %v", gen, err)
	}
	for _, q := range []string{"caroline support group", "may 2023 sunrise", "lake", "june"} {
		a, b := x.score(tokenize(nil, q), DefaultBM25, nil), y.score(tokenize(nil, q), DefaultBM25, nil)
		if len(a) != len(b) {
			t.Fatalf("%q: %v vs %v", q, a, b)
		}
		for l := range a {
			if a[l] != b[l] {
				t.Fatalf("%q: doc %d scores %v vs %v", q, l, a[l], b[l])
			}
		}
	}
	if p, n := y.neighbours(2); p != 1 || n != 0 {
		t.Fatalf("neighbours after reload: %d %d", p, n)
	}
	if y.docs[7].time != x.docs[7].time || y.total != x.total || y.termCount() != x.termCount() {
		t.Fatal("reloaded index differs")
	}
	if again := y.marshal(42); string(again) != string(data) {
		t.Fatal("marshal is not stable across a round trip")
	}
	// Every single-byte corruption and every truncation is rejected.
	for i := range data {
		bad := slices.Clone(data)
		bad[i] ^= 0x20
		if _, _, err := unmarshalLex(bad); !errors.Is(err, errLexFile) {
			t.Fatalf("flipped byte %d: %v", i, err)
		}
	}
	for n := range len(data) {
		if _, _, err := unmarshalLex(data[:n]); !errors.Is(err, errLexFile) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
}

func FuzzLexFile(f *testing.F) {
	seed := sampleLex().marshal(3)
	f.Add(seed[:len(seed)-4]) // the body: the target appends its checksum
	f.Add(seed)
	f.Add(newLexIndex().marshal(0))
	f.Add([]byte(lexMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		// As given, and with a valid checksum appended so the fuzzer
		// reaches the decoder behind it.
		fixed := binary.LittleEndian.AppendUint32(slices.Clone(data), crc32.Checksum(data, castagnoli))
		for _, in := range [][]byte{data, fixed} {
			checkLexDecode(t, in)
		}
	})
}

func checkLexDecode(t *testing.T, data []byte) {
	{
		x, gen, err := unmarshalLex(data)
		if err != nil {
			if !errors.Is(err, errLexFile) {
				t.Fatalf("error not wrapping errLexFile: %v", err)
			}
			return
		}
		// Whatever loads re-encodes to a file that loads to the same index.
		y, gen2, err := unmarshalLex(x.marshal(gen))
		if err != nil || gen2 != gen || len(y.docs) != len(x.docs) || y.total != x.total {
			t.Fatalf("re-encoded file: %v", err)
		}
		for l, d := range x.docs {
			if len(d.terms) != len(y.docs[l].terms) {
				t.Fatalf("doc %d changed", l)
			}
		}
	}
}
