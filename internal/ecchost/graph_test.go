//go:build !nomemory

package ecchost

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/causal"
	"github.com/weftos/weftos/internal/clock"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/xref"
)

// TestLinkAndReplay: Link adds an edge inside an ecc.link act, stamped
// with the clock; linking it again adds nothing; replaying the recorded
// outcomes into an empty graph gives the same graph.
func TestLinkAndReplay(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	g := causal.New()
	auth := &recorder{}
	a, _ := xref.ParseID(strings.Repeat("ab", 32))
	b, _ := xref.ParseID(strings.Repeat("cd", 32))
	e := causal.Edge{From: causal.ID(a), To: causal.ID(b), Type: causal.DerivedFrom, Weight: 1}
	for i, wantAdded := range []bool{true, false} {
		out, err := Link(ctx, auth, g, clock.NewFake(now), authority.Subject{Agent: "operator"}, nil, e)
		if err != nil || out.Added != wantAdded {
			t.Fatalf("link %d: %+v %v", i, out, err)
		}
	}
	if len(auth.actions) != 2 || auth.actions[0] != "ecc.link" {
		t.Fatalf("acts %v", auth.actions)
	}
	var rec governance.ActRecord
	var det governance.EccEdgeDetail
	if json.Unmarshal(auth.records[0], &rec) != nil || json.Unmarshal(rec.Detail, &det) != nil ||
		!det.Added || det.Recorded != now.UnixNano() || det.ValidFrom != now.UnixNano() || det.Type != "derived_from" {
		t.Fatalf("record %s", auth.records[0])
	}
	events := func(yield func(chain.Event, error) bool) {
		for i, p := range auth.records {
			if !yield(chain.Event{Seq: uint64(i), Kind: governance.KindEccEdge, Payload: p}, nil) {
				return
			}
		}
	}
	rebuilt := causal.New()
	if err := Replay(events, rebuilt, nil); err != nil {
		t.Fatal(err)
	}
	if rebuilt.Hash() != g.Hash() {
		t.Fatal("the replayed graph differs")
	}
	bad := func(yield func(chain.Event, error) bool) {
		yield(chain.Event{Seq: 9, Kind: governance.KindEccEdge, Payload: json.RawMessage(`{`)}, nil)
	}
	if err := Replay(bad, rebuilt, nil); err == nil || !strings.Contains(err.Error(), "seq 9") {
		t.Fatalf("malformed record: %v", err)
	}
}
