package memory

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// Fields of the lexical index (BM25F).
const (
	fieldText    = iota // the record's text
	fieldSpeaker        // Meta.Speaker
	fieldDate           // Meta.Time as day, month name, year and weekday
	numFields
)

var fieldNames = [numFields]string{"text", "speaker", "date"}

// maxTF caps a term's count in one field (the tf saturates long before).
const maxTF = math.MaxUint16

// posting is one document of a term's posting list.
type posting struct {
	label uint64
	tf    [numFields]uint16
}

// lexDoc is the forward entry of one indexed record.
type lexDoc struct {
	lens  [numFields]uint32 // field lengths in terms
	terms []uint32          // distinct term ids, ascending
	group string            // neighbour group: Meta.Session, else Meta.Source
	prev  uint64            // the label before it in its group (0: none)
	next  uint64            // the label after it in its group (0: none)
	time  int64             // Meta.Time, Unix nanoseconds
}

// lexIndex is the in-memory inverted index over the records' text,
// speaker and date fields. The Store guards it with its mutex.
type lexIndex struct {
	ids    map[string]uint32 // term → id
	names  []string          // id → term
	post   [][]posting       // id → postings, ascending label
	docs   map[uint64]*lexDoc
	total  [numFields]uint64   // Σ field lengths
	groups map[string][]uint64 // group → labels, ascending (insertion order)
}

func newLexIndex() *lexIndex {
	return &lexIndex{ids: map[string]uint32{}, docs: map[uint64]*lexDoc{}, groups: map[string][]uint64{}}
}

// docFields returns the indexed fields of a record.
func docFields(text string, m Meta) [numFields][]string {
	var f [numFields][]string
	f[fieldText] = tokenize(nil, text)
	f[fieldSpeaker] = tokenize(nil, m.Speaker)
	f[fieldDate] = dateTerms(m.Time)
	return f
}

// dateTerms renders t as the words a question uses for a date: day of
// month, month name, year and weekday ("7 may 2023 sunday").
func dateTerms(t time.Time) []string {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return tokenize(nil, strconv.Itoa(t.Day())+" "+t.Month().String()+" "+strconv.Itoa(t.Year())+" "+t.Weekday().String())
}

func groupOf(m Meta) string {
	if m.Session != "" {
		return "s\x00" + m.Session
	}
	if m.Source != "" {
		return "f\x00" + m.Source
	}
	return ""
}

func (x *lexIndex) termID(t string) uint32 {
	if id, ok := x.ids[t]; ok {
		return id
	}
	id := uint32(len(x.names))
	x.ids[t] = id
	x.names = append(x.names, t)
	x.post = append(x.post, nil)
	return id
}

// add indexes a record under label (replacing an earlier entry).
func (x *lexIndex) add(label uint64, text string, m Meta) {
	x.addFields(label, docFields(text, m), groupOf(m), m.Time.UnixNano())
}

func (x *lexIndex) addFields(label uint64, fields [numFields][]string, group string, t int64) {
	counts := map[uint32]*[numFields]uint16{}
	d := &lexDoc{group: group, time: t}
	for f, terms := range fields {
		d.lens[f] = uint32(len(terms))
		for _, term := range terms {
			id := x.termID(term)
			tf := counts[id]
			if tf == nil {
				tf = new([numFields]uint16)
				counts[id] = tf
				d.terms = append(d.terms, id)
			}
			if tf[f] < maxTF {
				tf[f]++
			}
		}
	}
	slices.Sort(d.terms)
	tfs := make([][numFields]uint16, len(d.terms))
	for i, id := range d.terms {
		tfs[i] = *counts[id]
	}
	x.addDoc(label, d, tfs)
}

// addDoc indexes d (its terms ascending, tfs parallel to them) under
// label, replacing an earlier entry.
func (x *lexIndex) addDoc(label uint64, d *lexDoc, tfs [][numFields]uint16) {
	if _, ok := x.docs[label]; ok {
		x.remove(label)
	}
	for f := range d.lens {
		x.total[f] += uint64(d.lens[f])
	}
	for i, id := range d.terms {
		x.post[id] = insertPosting(x.post[id], posting{label, tfs[i]})
	}
	x.docs[label] = d
	if d.group != "" {
		g := x.groups[d.group]
		i, _ := slices.BinarySearch(g, label)
		g = slices.Insert(g, i, label)
		x.groups[d.group] = g
		d.prev, d.next = 0, 0
		if i > 0 {
			d.prev = g[i-1]
			x.docs[d.prev].next = label
		}
		if i+1 < len(g) {
			d.next = g[i+1]
			x.docs[d.next].prev = label
		}
	}
}

func insertPosting(ps []posting, p posting) []posting {
	if n := len(ps); n == 0 || ps[n-1].label < p.label { // the usual case: labels grow
		return append(ps, p)
	}
	i, _ := slices.BinarySearchFunc(ps, p.label, func(a posting, l uint64) int { return cmpU64(a.label, l) })
	return slices.Insert(ps, i, p)
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// remove drops label from the index.
func (x *lexIndex) remove(label uint64) {
	d, ok := x.docs[label]
	if !ok {
		return
	}
	for _, id := range d.terms {
		ps := x.post[id]
		if i, found := slices.BinarySearchFunc(ps, label, func(a posting, l uint64) int { return cmpU64(a.label, l) }); found {
			x.post[id] = slices.Delete(ps, i, i+1)
		}
	}
	for f := range d.lens {
		x.total[f] -= uint64(d.lens[f])
	}
	if d.group != "" {
		g := x.groups[d.group]
		if i, found := slices.BinarySearch(g, label); found {
			g = slices.Delete(g, i, i+1)
		}
		if d.prev != 0 {
			x.docs[d.prev].next = d.next
		}
		if d.next != 0 {
			x.docs[d.next].prev = d.prev
		}
		if len(g) == 0 {
			delete(x.groups, d.group)
		} else {
			x.groups[d.group] = g
		}
	}
	delete(x.docs, label)
}

// BM25Params are the parameters of the BM25F scorer.
type BM25Params struct {
	K1 float64 `json:"k1"` // term-frequency saturation
	// B is the length normalisation of each field (text, speaker, date).
	B [numFields]float64 `json:"b"`
	// W is the weight of each field (text, speaker, date).
	W [numFields]float64 `json:"w"`
}

// DefaultBM25 are the usual BM25 constants (k1 = 1.2, b = 0.75 on the
// text) with the speaker and date fields at a fraction of the text's
// weight: a question naming a person prefers what that person said, but
// a shared word still counts for more than the speaker alone.
var DefaultBM25 = BM25Params{K1: 1.2, B: [numFields]float64{0.75, 0, 0}, W: [numFields]float64{1, 0.4, 0.3}}

func (p BM25Params) validate() error {
	ok := p.K1 > 0 && !math.IsInf(p.K1, 0)
	for f := range numFields {
		ok = ok && p.B[f] >= 0 && p.B[f] <= 1 && p.W[f] >= 0 && !math.IsInf(p.W[f], 0)
	}
	if !ok {
		return fmt.Errorf("%w: BM25 parameters %+v (k1 > 0, 0 ≤ b ≤ 1, w ≥ 0)", ErrInvalidOptions, p)
	}
	return nil
}

// score returns the BM25F score of every document matching at least one
// of the query terms and passing accept (nil accepts all).
func (x *lexIndex) score(query []string, p BM25Params, accept func(uint64) bool) map[uint64]float64 {
	n := float64(len(x.docs))
	if n == 0 || len(query) == 0 {
		return nil
	}
	var avg [numFields]float64
	for f := range avg {
		avg[f] = max(float64(x.total[f])/n, 1)
	}
	qtf := map[uint32]float64{}
	var order []uint32
	for _, t := range query {
		if id, ok := x.ids[t]; ok && len(x.post[id]) > 0 {
			if qtf[id] == 0 {
				order = append(order, id)
			}
			qtf[id]++
		}
	}
	n0 := 0
	for _, id := range order {
		n0 += len(x.post[id])
	}
	out := make(map[uint64]float64, min(n0, len(x.docs)))
	for _, id := range order {
		ps := x.post[id]
		df := float64(len(ps))
		idf := math.Log(1 + (n-df+0.5)/(df+0.5))
		for _, ps := range ps {
			if accept != nil && !accept(ps.label) {
				continue
			}
			d := x.docs[ps.label]
			var tf float64
			for f := range numFields {
				if ps.tf[f] == 0 || p.W[f] == 0 {
					continue
				}
				norm := 1 - p.B[f] + p.B[f]*float64(d.lens[f])/avg[f]
				tf += p.W[f] * float64(ps.tf[f]) / norm
			}
			if tf > 0 {
				out[ps.label] += qtf[id] * idf * tf / (p.K1 + tf)
			}
		}
	}
	return out
}

// neighbours returns the labels just before and after label in its
// group (0 when there is none).
func (x *lexIndex) neighbours(label uint64) (prev, next uint64) {
	if d, ok := x.docs[label]; ok {
		return d.prev, d.next
	}
	return 0, 0
}

// stats describes the index (for tests and Stats).
func (x *lexIndex) termCount() int {
	n := 0
	for _, ps := range x.post {
		if len(ps) > 0 {
			n++
		}
	}
	return n
}

// neighbourScores gives every record the best BM25 score of the records
// just before and after it in its group, and half the score of those two
// places away (a conversation's turns: the question's words are often in
// the turn that asks, the answer in the reply).
func (x *lexIndex) neighbourScores(bm map[uint64]float64, accept func(uint64) bool) map[uint64]float64 {
	out := map[uint64]float64{}
	give := func(n uint64, sc float64) {
		if n != 0 && (accept == nil || accept(n)) && sc > out[n] {
			out[n] = sc
		}
	}
	for l, sc := range bm {
		prev, next := x.neighbours(l)
		give(prev, sc)
		give(next, sc)
		if prev != 0 {
			p2, _ := x.neighbours(prev)
			give(p2, sc/2)
		}
		if next != 0 {
			_, n2 := x.neighbours(next)
			give(n2, sc/2)
		}
	}
	return out
}

// sessionScores scores each record by the BM25 evidence of its whole
// group (the sum of its records' scores) plus its own score, so the
// records of the sessions that talk most about the query rank first.
func (x *lexIndex) sessionScores(bm map[uint64]float64, accept func(uint64) bool) map[uint64]float64 {
	gs := map[string]float64{}
	for l, sc := range bm {
		if d := x.docs[l]; d != nil && d.group != "" {
			gs[d.group] += sc
		}
	}
	out := map[uint64]float64{}
	for l, sc := range bm {
		if d := x.docs[l]; d != nil && d.group != "" {
			out[l] = sc + gs[d.group]
		}
	}
	_ = accept // bm holds only accepted records
	return out
}

// recencyScores orders the candidates of the other lists by time: the
// newest scores 1, the oldest 0.001 (linear in between; all 1 when they
// share one time).
func (x *lexIndex) recencyScores(lists []ranked) map[uint64]float64 {
	out := map[uint64]float64{}
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, l := range lists {
		for _, lb := range l.labels {
			if d, ok := x.docs[lb]; ok {
				out[lb] = 0
				lo, hi = min(lo, d.time), max(hi, d.time)
			}
		}
	}
	for lb := range out {
		if hi == lo {
			out[lb] = 1
			continue
		}
		out[lb] = 0.001 + 0.999*float64(x.docs[lb].time-lo)/float64(hi-lo)
	}
	return out
}
