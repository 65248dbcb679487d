//go:build !nomemory

package ecchost

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/causal"
	"github.com/weftos/weftos/internal/clock"
	"github.com/weftos/weftos/internal/embed"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/memory"
)

// recorder is an Authority that permits every act and keeps its outcome
// record, as the chain would.
type recorder struct {
	actions []string
	records []json.RawMessage
}

func (r *recorder) Do(ctx context.Context, act authority.Act, run func(ctx context.Context, pm *authority.Permit) (any, error)) error {
	r.actions = append(r.actions, act.Action)
	det, err := run(ctx, &authority.Permit{})
	b, merr := json.Marshal(det)
	if merr != nil {
		return merr
	}
	rec := governance.ActRecord{Action: act.Action, OK: err == nil, Detail: b}
	if err != nil {
		rec.Error = err.Error()
	}
	p, merr := json.Marshal(rec)
	if merr != nil {
		return merr
	}
	r.records = append(r.records, p)
	return err
}

// TestAnalyzeRebuildsFromRecords: a corpus becomes one ecc.analyze act
// per document batch; a re-run records nothing and leaves the graph as it
// was; the graph rebuilt from the records alone has the same hash.
func TestAnalyzeRebuildsFromRecords(t *testing.T) {
	ctx := context.Background()
	corpus := t.TempDir()
	for name, body := range map[string]string{
		"a.md":  "# One\n\nAda Lovelace deploys on Friday.\n\n# Two\n\nGrace Hopper rolls back.\n\n# One\n\nAda Lovelace deploys on Friday.\n",
		"b.txt": "The Core Team meets in London.\n",
	} {
		if err := os.WriteFile(filepath.Join(corpus, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	emb, err := embed.NewLexical(64)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := memory.Open(ctx, t.TempDir(), memory.Options{Embedder: emb})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mem.Close(ctx) })
	g := causal.New()
	auth := &recorder{}
	an := NewAnalyzer(Options{Home: t.TempDir(), Auth: auth, Memory: mem, Graph: g, Clock: clock.NewFake(time.Unix(1_700_000_000, 0))})
	var progress int
	res, err := an.Analyze(ctx, apitype.EccAnalyzeRequest{Paths: []string{corpus}}, func(apitype.EccAnalyzeEvent) { progress++ })
	if err != nil {
		t.Fatal(err)
	}
	_, edges := g.Len()
	if res.Acts != 2 || len(auth.records) != 2 || res.Documents != 2 || res.Refused != 1 || res.Added != edges || res.Entities == 0 || progress == 0 {
		t.Fatalf("analysis %+v (records %d, graph edges %d, progress %d)", res, len(auth.records), edges, progress)
	}
	for _, a := range auth.actions {
		if a != "ecc.analyze" {
			t.Fatalf("act %q", a)
		}
	}
	hash := g.Hash()

	again, err := an.Analyze(ctx, apitype.EccAnalyzeRequest{Paths: []string{corpus}}, func(apitype.EccAnalyzeEvent) {})
	if err != nil || again.Acts != 0 || again.Unchanged != 2 || len(auth.records) != 2 || g.Hash() != hash {
		t.Fatalf("second analysis %+v %v (records %d)", again, err, len(auth.records))
	}

	rebuilt := causal.New()
	for range 2 { // applying twice changes nothing
		for _, rec := range auth.records {
			if err := ApplyAnalyzeRecord(rebuilt, rec, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if rebuilt.Hash() != hash {
		t.Fatal("the graph rebuilt from the records differs")
	}
}
