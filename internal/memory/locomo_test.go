package memory_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/weftos/weftos/internal/memory"
)

// The LoCoMo harness (Maharana et al., ACL 2024): every turn of a
// conversation is one record, stored with PutMany (the path of `weave
// memory ingest` and of agents' memory writes) with its speaker, session
// and session date; every question with evidence is searched with
// SearchWith (the path of `weave memory search`), and recall@k is the
// fraction of its evidence turns among the top k. It measures, it does not
// assert a threshold; run it with -v:
//
//	go test ./internal/memory -run LoCoMo -v [-locomo.fit]
//
// It is skipped with -short, under -race, and when the data file
// ($WEFTOS_LOCOMO or -locomo, default ../shared/data/locomo10.json next to
// the repository) is missing.
var (
	locomoFile = flag.String("locomo", "", "path of locomo10.json (default $WEFTOS_LOCOMO, else ../shared/data/locomo10.json beside the repository)")
	locomoDim  = flag.Int("locomo.dim", 384, "dimension of the lexical embedder")
	locomoFit  = flag.Bool("locomo.fit", false, "also fit the fusion weights leave-one-conversation-out on a grid")
)

// locomoPath finds locomo10.json.
func locomoPath() string {
	if *locomoFile != "" {
		return *locomoFile
	}
	if p := os.Getenv("WEFTOS_LOCOMO"); p != "" {
		return p
	}
	// beside the repository, or beside a worktree folder of it
	for _, up := range []string{"../../..", "../../../.."} {
		p := filepath.Join(filepath.FromSlash(up), "shared", "data", "locomo10.json")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return filepath.Join("..", "..", "..", "shared", "data", "locomo10.json")
}

type locomoTurn struct {
	Speaker     string `json:"speaker"`
	DiaID       string `json:"dia_id"`
	Text        string `json:"text"`
	BlipCaption string `json:"blip_caption"`
}

type locomoQA struct {
	Question string   `json:"question"`
	Evidence []string `json:"evidence"`
	Category int      `json:"category"`
}

type locomoConv struct {
	SampleID     string                     `json:"sample_id"`
	Conversation map[string]json.RawMessage `json:"conversation"`
	QA           []locomoQA                 `json:"qa"`
}

var sessionKey = regexp.MustCompile(`^session_\d+$`)

// evidenceIDs normalises evidence entries ("D1:3", "D1:3; D1:4", …).
func evidenceIDs(ev []string) []string {
	var out []string
	for _, e := range ev {
		for _, p := range strings.FieldsFunc(e, func(r rune) bool { return r == ';' || r == ',' || r == ' ' }) {
			if p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// locomoItems turns a conversation into records, in order.
func locomoItems(t testing.TB, c locomoConv) []memory.Item {
	var keys []string
	for key := range c.Conversation {
		if sessionKey.MatchString(key) {
			keys = append(keys, key)
		}
	}
	sort.Slice(keys, func(i, j int) bool { // session_2 before session_10
		a, _ := strconv.Atoi(strings.TrimPrefix(keys[i], "session_"))
		b, _ := strconv.Atoi(strings.TrimPrefix(keys[j], "session_"))
		return a < b
	})
	var items []memory.Item
	for _, key := range keys {
		var ts []locomoTurn
		if err := json.Unmarshal(c.Conversation[key], &ts); err != nil {
			t.Fatal(err)
		}
		var date string
		_ = json.Unmarshal(c.Conversation[key+"_date_time"], &date)
		when, err := time.Parse("3:04 pm on 2 January, 2006", date)
		if err != nil {
			t.Fatalf("%s %s date %q: %v", c.SampleID, key, date, err)
		}
		for _, tr := range ts {
			text := tr.Speaker + ": " + tr.Text
			if tr.BlipCaption != "" {
				text += " [shares " + tr.BlipCaption + "]"
			}
			items = append(items, memory.Item{Text: text, Meta: memory.Meta{
				Session: c.SampleID + "/" + key, Source: tr.DiaID, Speaker: tr.Speaker, Time: when}})
		}
	}
	return items
}

// recallAt are the k of the reported recall@k.
var recallAt = []int{1, 5, 10, 20}

const maxK = 20

// score is recall@k summed over questions (divide by n).
type score struct {
	n      int
	recall [4]float64
}

func (s *score) add(evidence []string, ranked [][]string) {
	s.n++
	for j, k := range recallAt {
		top := map[string]bool{}
		for i := 0; i < k && i < len(ranked); i++ {
			for _, d := range ranked[i] {
				top[d] = true
			}
		}
		found := 0
		for _, e := range evidence {
			if top[e] {
				found++
			}
		}
		s.recall[j] += float64(found) / float64(len(evidence))
	}
}

func (s *score) merge(o score) {
	s.n += o.n
	for j := range s.recall {
		s.recall[j] += o.recall[j]
	}
}

func (s score) at(k int) float64 {
	if s.n == 0 {
		return 0
	}
	return s.recall[slices.Index(recallAt, k)] / float64(s.n)
}

func (s score) String() string {
	return fmt.Sprintf("%.3f / %.3f / %.3f / %.3f", s.at(1), s.at(5), s.at(10), s.at(20))
}

// convRun is one conversation loaded into a store.
type convRun struct {
	store *memory.Store
	diaOf map[string][]string // record ID → dia_ids with that text
	items []memory.Item
	qa    []locomoQA
}

// evaluate searches every question of the conversation with opts.
func (r convRun) evaluate(t testing.TB, opts memory.SearchOptions, perCat map[int]*score, lat *[]time.Duration) score {
	var s score
	for _, qa := range r.qa {
		ev := evidenceIDs(qa.Evidence)
		if len(ev) == 0 {
			continue
		}
		start := time.Now()
		hits, err := r.store.SearchWith(context.Background(), qa.Question, maxK, memory.Filter{}, opts)
		if lat != nil {
			*lat = append(*lat, time.Since(start))
		}
		if err != nil {
			t.Fatal(err)
		}
		ranked := make([][]string, len(hits))
		for i, h := range hits {
			ranked[i] = r.diaOf[h.Record.ID]
		}
		s.add(ev, ranked)
		if perCat != nil {
			if perCat[qa.Category] == nil {
				perCat[qa.Category] = &score{}
			}
			perCat[qa.Category].add(ev, ranked)
		}
	}
	return s
}

func TestLoCoMoRecall(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("LoCoMo evaluation skipped in -short and -race mode")
	}
	raw, err := os.ReadFile(locomoPath())
	if err != nil {
		t.Skipf("LoCoMo data not available (%v); set WEFTOS_LOCOMO or -locomo", err)
	}
	var convs []locomoConv
	if err := json.Unmarshal(raw, &convs); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var runs []convRun
	var baseline score
	turns := 0
	var putTime time.Duration
	for _, c := range convs {
		s := open(t, t.TempDir(), lexical(t, *locomoDim).Embedder, true) // the real embed.Lexical, so the defaults are the offline ones
		items := locomoItems(t, c)
		start := time.Now()
		res, err := s.PutMany(ctx, items)
		if err != nil {
			t.Fatal(err)
		}
		putTime += time.Since(start)
		turns += len(items)
		r := convRun{store: s, diaOf: map[string][]string{}, items: items, qa: c.QA}
		for i, pr := range res {
			if pr.Err == nil {
				r.diaOf[pr.Record.ID] = append(r.diaOf[pr.Record.ID], items[i].Meta.Source)
			}
		}
		runs = append(runs, r)
		baseline.merge(baselineBM25(items, c.QA))
		t.Cleanup(func() { closeStore(t, s) })
	}

	defaults := memory.DefaultWeightsFor(runs[0].store.Embedder())
	report := func(name string, w memory.Weights) score {
		var total score
		for _, r := range runs {
			total.merge(r.evaluate(t, memory.SearchOptions{Weights: &w}, nil, nil))
		}
		t.Logf("| %-34s | %s |", name, total)
		return total
	}

	t.Logf("LoCoMo: %d conversations, %d turns, %d questions with evidence; lexical-v1/%d embedder",
		len(convs), turns, baseline.n, *locomoDim)
	t.Logf("put (tokenise + embed + index, in-memory kv): %.0f turns/s", float64(turns)/putTime.Seconds())
	t.Logf("| %-34s | recall@1 / @5 / @10 / @20 |", "configuration")
	t.Logf("| %-34s | %s |", "baseline: 20-line BM25", baseline)

	// The defaults, with per-category figures and latency.
	perCat := map[int]*score{}
	var lat []time.Duration
	var def score
	for _, r := range runs {
		def.merge(r.evaluate(t, memory.SearchOptions{}, perCat, &lat))
	}
	t.Logf("| %-34s | %s |", "hybrid, default weights", def)
	for _, c := range slices.Sorted(func(yield func(int) bool) {
		for c := range perCat {
			if !yield(c) {
				return
			}
		}
	}) {
		t.Logf("|   category %d (n=%4d)               | %s |", c, perCat[c].n, *perCat[c])
	}
	slices.Sort(lat)
	t.Logf("search latency (k=%d, tokenise + embed + BM25 + HNSW + fuse + fetch): p50 %v, p95 %v, p99 %v",
		maxK, lat[len(lat)/2], lat[len(lat)*95/100], lat[len(lat)*99/100])
	if off, err := defaults.Without(memory.CompGraph); err == nil && off != defaults {
		var lat0 []time.Duration
		for _, r := range runs {
			r.evaluate(t, memory.SearchOptions{Weights: &off}, nil, &lat0)
		}
		slices.Sort(lat0)
		t.Logf("search latency without the graph walk: p50 %v, p95 %v, p99 %v", lat0[len(lat0)/2], lat0[len(lat0)*95/100], lat0[len(lat0)*99/100])
	}

	// Ablations: each component alone and each switched off.
	for _, c := range memory.Components {
		if c == memory.CompRecency { // it orders the others' candidates
			continue
		}
		w, err := defaults.Only(c)
		if err != nil {
			t.Fatal(err)
		}
		report("only "+c, w)
	}
	for _, c := range memory.Components {
		w, err := defaults.Without(c)
		if err != nil {
			t.Fatal(err)
		}
		if w != defaults {
			report("without "+c, w)
		}
	}
	report("with the lexical vectors, weight 0.2", func() memory.Weights { w := defaults; w.Vector = 0.2; return w }())
	report("with recency, weight 0.1", func() memory.Weights { w := defaults; w.Recency = 0.1; return w }())
	for _, g := range graphGrid {
		if g != defaults.Graph {
			report(fmt.Sprintf("graph at weight %.2g", g), func() memory.Weights { w := defaults; w.Graph = g; return w }())
		}
	}
	fitGraphLOCO(t, runs, defaults)
	rrf := memory.Weights{BM25: 1, Neighbor: 0.3, Session: 0.3}
	var total score
	for _, r := range runs {
		total.merge(r.evaluate(t, memory.SearchOptions{Weights: &rrf, Fusion: memory.FusionRRF}, nil, nil))
	}
	t.Logf("| %-34s | %s |", "reciprocal rank fusion (1, .3, .3)", total)
	// All ten conversations in one store (5,882 records): latency at
	// LoCoMo scale, and recall when the other conversations compete.
	all := convRun{store: open(t, t.TempDir(), lexical(t, *locomoDim).Embedder, true), diaOf: map[string][]string{}}
	t.Cleanup(func() { closeStore(t, all.store) })
	for i, c := range convs {
		items := slices.Clone(runs[i].items)
		for j := range items { // dia_ids repeat across conversations
			items[j].Meta.Source = c.SampleID + "/" + items[j].Meta.Source
		}
		res, err := all.store.PutMany(ctx, items)
		if err != nil {
			t.Fatal(err)
		}
		for j, pr := range res {
			if pr.Err == nil {
				all.diaOf[pr.Record.ID] = append(all.diaOf[pr.Record.ID], items[j].Meta.Source)
			}
		}
		for _, qa := range c.QA {
			qa.Evidence = slices.Clone(qa.Evidence)
			for j := range qa.Evidence {
				qa.Evidence[j] = c.SampleID + "/" + strings.Join(evidenceIDs(qa.Evidence[j:j+1]), ";"+c.SampleID+"/")
			}
			all.qa = append(all.qa, qa)
		}
	}
	lat = lat[:0]
	t.Logf("| %-34s | %s |", "one store, all 10 conversations", all.evaluate(t, memory.SearchOptions{}, nil, &lat))
	slices.Sort(lat)
	t.Logf("search latency, one store of %d records: p50 %v, p95 %v, p99 %v", turns, lat[len(lat)/2], lat[len(lat)*95/100], lat[len(lat)*99/100])

	if *locomoFit {
		fitLOCO(t, runs)
	}
}

// fitLOCO fits the weights leave-one-conversation-out on a grid: for each
// conversation, the grid point with the best recall@10 on the other nine
// scores it. Nothing is fitted on the conversation it scores.
func fitLOCO(t *testing.T, runs []convRun) {
	var grid []memory.Weights
	for _, v := range []float64{0, 0.2} {
		for _, n := range []float64{0.3, 0.45, 0.6, 0.8, 1} {
			for _, s := range []float64{0, 0.2, 0.4} {
				grid = append(grid, memory.Weights{BM25: 1, Vector: v, Neighbor: n, Session: s, Graph: memory.DefaultWeights.Graph})
			}
		}
	}
	table := make([][]score, len(grid)) // grid point → conversation → score
	for g, w := range grid {
		table[g] = make([]score, len(runs))
		for i, r := range runs {
			table[g][i] = r.evaluate(t, memory.SearchOptions{Weights: &w}, nil, nil)
		}
	}
	var total score
	for held := range runs {
		best, bestR := 0, -1.0
		for g := range grid {
			var s score
			for i := range runs {
				if i != held {
					s.merge(table[g][i])
				}
			}
			if r := s.at(10); r > bestR {
				best, bestR = g, r
			}
		}
		t.Logf("fold %d: fitted %+v on the other conversations (recall@10 %.3f there)", held, grid[best], bestR)
		total.merge(table[best][held])
	}
	t.Logf("| %-34s | %s |", "hybrid, weights fit LOCO", total)
}

// graphGrid are the graph propagation weights tried.
var graphGrid = []float64{0, 0.1, 0.2, 0.3, 0.5, 0.8}

// fitGraphLOCO chooses the graph propagation's weight leave-one-
// conversation-out, the other weights at their defaults: each conversation
// is scored with the weight that did best on the other nine.
func fitGraphLOCO(t *testing.T, runs []convRun, defaults memory.Weights) {
	table := make([][]score, len(graphGrid))
	for g, gw := range graphGrid {
		w := defaults
		w.Graph = gw
		table[g] = make([]score, len(runs))
		for i, r := range runs {
			table[g][i] = r.evaluate(t, memory.SearchOptions{Weights: &w}, nil, nil)
		}
	}
	var total score
	var chosen []float64
	for held := range runs {
		best, bestR := 0, -1.0
		for g := range graphGrid {
			var s score
			for i := range runs {
				if i != held {
					s.merge(table[g][i])
				}
			}
			if r := s.at(10); r > bestR+1e-9 {
				best, bestR = g, r
			}
		}
		chosen = append(chosen, graphGrid[best])
		total.merge(table[best][held])
	}
	t.Logf("graph weight fitted leave-one-conversation-out, per fold: %v", chosen)
	t.Logf("| %-34s | %s |", "graph weight fit LOCO", total)
}

// baselineBM25 is the 20-line BM25 baseline: lower-cased alphanumeric
// tokens, no stop words, no stemming, k1 = 1.2, b = 0.75, over the same
// "Speaker: text" documents.
func baselineBM25(items []memory.Item, qas []locomoQA) score {
	tok := func(s string) []string {
		return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	}
	docs, df, avg := make([]map[string]int, len(items)), map[string]int{}, 0.0
	lens := make([]int, len(items))
	for i, it := range items {
		docs[i] = map[string]int{}
		for _, w := range tok(it.Text) {
			docs[i][w]++
			lens[i]++
		}
		for w := range docs[i] {
			df[w]++
		}
		avg += float64(lens[i]) / float64(len(items))
	}
	var s score
	for _, qa := range qas {
		ev := evidenceIDs(qa.Evidence)
		if len(ev) == 0 {
			continue
		}
		sc := make([]float64, len(items))
		for _, w := range tok(qa.Question) {
			idf := math.Log(1 + (float64(len(items))-float64(df[w])+0.5)/(float64(df[w])+0.5))
			for i, d := range docs {
				if tf := float64(d[w]); tf > 0 {
					sc[i] += idf * tf * 2.2 / (tf + 1.2*(0.25+0.75*float64(lens[i])/avg))
				}
			}
		}
		order := make([]int, len(items))
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return sc[order[a]] > sc[order[b]] })
		ranked := make([][]string, 0, maxK)
		for _, i := range order[:min(maxK, len(order))] {
			ranked = append(ranked, []string{items[i].Meta.Source})
		}
		s.add(ev, ranked)
	}
	return s
}
