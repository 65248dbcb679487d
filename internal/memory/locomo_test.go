package memory_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/memory"
)

// locomoPath finds locomo10.json: $WEFTOS_LOCOMO, else ../shared/data
// next to the repository root.
func locomoPath() string {
	if p := os.Getenv("WEFTOS_LOCOMO"); p != "" {
		return p
	}
	return filepath.Join("..", "..", "..", "shared", "data", "locomo10.json")
}

type locomoTurn struct {
	Speaker     string `json:"speaker"`
	DiaID       string `json:"dia_id"`
	Text        string `json:"text"`
	BlipCaption string `json:"blip_caption"`
}

type locomoConv struct {
	SampleID     string                     `json:"sample_id"`
	Conversation map[string]json.RawMessage `json:"conversation"`
	QA           []struct {
		Question string   `json:"question"`
		Evidence []string `json:"evidence"`
		Category int      `json:"category"`
	} `json:"qa"`
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

type recallSums struct {
	questions      int
	recall5, rec10 float64
	hit5, hit10    int
}

func (r *recallSums) add(evidence []string, ranked [][]string) {
	found := func(k int) (frac float64, any bool) {
		top := map[string]bool{}
		for i := 0; i < k && i < len(ranked); i++ {
			for _, d := range ranked[i] {
				top[d] = true
			}
		}
		n := 0
		for _, e := range evidence {
			if top[e] {
				n++
			}
		}
		return float64(n) / float64(len(evidence)), n > 0
	}
	r.questions++
	f5, a5 := found(5)
	f10, a10 := found(10)
	r.recall5 += f5
	r.rec10 += f10
	if a5 {
		r.hit5++
	}
	if a10 {
		r.hit10++
	}
}

func (r recallSums) String() string {
	q := float64(r.questions)
	return fmt.Sprintf("n=%4d recall@5=%.3f recall@10=%.3f hit@5=%.3f hit@10=%.3f",
		r.questions, r.recall5/q, r.rec10/q, float64(r.hit5)/q, float64(r.hit10)/q)
}

// TestLoCoMoRecall measures retrieval on LoCoMo (Maharana et al., ACL
// 2024) with the lexical embedder: every turn of a conversation is stored
// ("Speaker: text"), each question is searched, and recall@k is the
// fraction of its evidence turns among the top k. It is a measurement, not
// a pass/fail threshold (the figures are logged; run with -v).
var locomoDims = flag.String("locomo.dims", "384", "comma-separated lexical dimensions TestLoCoMoRecall measures")

func TestLoCoMoRecall(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("LoCoMo evaluation skipped in -short and -race mode")
	}
	raw, err := os.ReadFile(locomoPath())
	if err != nil {
		t.Skipf("LoCoMo data not available (%v); set WEFTOS_LOCOMO", err)
	}
	var convs []locomoConv
	if err := json.Unmarshal(raw, &convs); err != nil {
		t.Fatal(err)
	}
	for _, d := range strings.Split(*locomoDims, ",") {
		dim, err := strconv.Atoi(strings.TrimSpace(d))
		if err != nil {
			t.Fatalf("-locomo.dims: %v", err)
		}
		t.Run(fmt.Sprint("dim=", dim), func(t *testing.T) { locomoRecall(t, convs, dim) })
	}
}

func locomoRecall(t *testing.T, convs []locomoConv, dim int) {
	ctx := context.Background()
	var total, exact recallSums
	perCat := map[int]*recallSums{}
	turns, queries := 0, 0
	var putTime, searchTime time.Duration
	for _, c := range convs {
		emb := lexical(t, dim)
		s := open(t, t.TempDir(), emb, true)
		var items []memory.Item
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
		for _, key := range keys {
			var ts []locomoTurn
			if err := json.Unmarshal(c.Conversation[key], &ts); err != nil {
				t.Fatal(err)
			}
			for _, tr := range ts {
				text := tr.Speaker + ": " + tr.Text
				if tr.BlipCaption != "" {
					text += " [shares " + tr.BlipCaption + "]"
				}
				items = append(items, memory.Item{Text: text, Meta: memory.Meta{Session: key, Source: tr.DiaID}})
			}
		}
		start := time.Now()
		res, err := s.PutMany(ctx, items)
		if err != nil {
			t.Fatal(err)
		}
		putTime += time.Since(start)
		turns += len(items)
		// Exact (brute-force) ranking with the same vectors, to separate
		// the embedder's quality from the index's approximation.
		texts := make([]string, len(items))
		for i, it := range items {
			texts[i] = it.Text
		}
		vecs, err := emb.Embed(ctx, texts)
		if err != nil {
			t.Fatal(err)
		}
		diaOf := map[string][]string{} // record ID → every dia_id with that text
		for i, r := range res {
			if r.Err != nil {
				continue
			}
			diaOf[r.Record.ID] = append(diaOf[r.Record.ID], items[i].Meta.Source)
		}
		for _, qa := range c.QA {
			ev := evidenceIDs(qa.Evidence)
			if len(ev) == 0 {
				continue
			}
			start := time.Now()
			hits, err := s.Search(ctx, qa.Question, 10, memory.Filter{})
			searchTime += time.Since(start)
			queries++
			if err != nil {
				t.Fatal(err)
			}
			ranked := make([][]string, len(hits))
			for i, h := range hits {
				ranked[i] = diaOf[h.Record.ID]
			}
			total.add(ev, ranked)
			exact.add(ev, bruteForce(t, emb, qa.Question, vecs, items, 10))
			if perCat[qa.Category] == nil {
				perCat[qa.Category] = &recallSums{}
			}
			perCat[qa.Category].add(ev, ranked)
		}
		closeStore(t, s)
	}
	if total.questions == 0 {
		t.Fatal("no questions with evidence")
	}
	t.Logf("LoCoMo, lexical-v1/%d, %d conversations, %d turns, %d questions", dim, len(convs), turns, queries)
	t.Logf("all        %s", total)
	t.Logf("exact      %s (brute force, same vectors)", exact)
	cats := make([]int, 0, len(perCat))
	for c := range perCat {
		cats = append(cats, c)
	}
	sort.Ints(cats)
	for _, c := range cats {
		t.Logf("category %d %s", c, *perCat[c])
	}
	t.Logf("put (embed + index, in-memory kv): %.0f turns/s; search: %.0f queries/s (embed + HNSW + fetch)",
		float64(turns)/putTime.Seconds(), float64(queries)/searchTime.Seconds())
}

// bruteForce ranks items by exact cosine similarity to query and returns
// the dia_ids of the top k.
func bruteForce(t *testing.T, emb memory.Embedder, query string, vecs [][]float32, items []memory.Item, k int) [][]string {
	t.Helper()
	qv, err := emb.Embed(context.Background(), []string{query})
	if err != nil {
		t.Fatal(err)
	}
	type scored struct {
		i int
		s float32
	}
	all := make([]scored, len(vecs))
	for i, v := range vecs {
		var d float32
		for j := range v {
			d += v[j] * qv[0][j]
		}
		all[i] = scored{i, d}
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].s > all[b].s })
	var out [][]string
	for _, sc := range all[:min(k, len(all))] {
		out = append(out, []string{items[sc.i].Meta.Source})
	}
	return out
}
