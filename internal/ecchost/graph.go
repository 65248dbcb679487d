package ecchost

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/causal"
	"github.com/weftos/weftos/internal/clock"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/xref"
)

// Authority is the one pipeline every edge and analysed batch passes
// through.
type Authority interface {
	Do(ctx context.Context, act authority.Act, run func(ctx context.Context, pm *authority.Permit) (detail any, err error)) error
}

var _ Authority = (*authority.Pipeline)(nil)

// Link adds a causal edge as a governed act by subject (ecc.link,
// recorded as ecc.edge; carry is the calling agent's, or nil): the edge
// is added inside the act, its seq the decision's, its recorded time (and
// valid-from time, unless given) the clock's.
func Link(ctx context.Context, auth Authority, g Graph, clk clock.Clock, subject authority.Subject, carry *authority.Carry, e causal.Edge) (apitype.EccEdgeResponse, error) {
	var out apitype.EccEdgeResponse
	from, to := xref.ID(e.From), xref.ID(e.To)
	act := authority.Act{Action: "ecc.link", Kind: governance.KindEccEdge, Source: "ecc", Subject: subject, Carry: carry,
		Context: governance.Context{Extra: map[string]string{"type": e.Type.String(), "from": from.String(), "to": to.String()}}}
	err := auth.Do(ctx, act, func(ctx context.Context, pm *authority.Permit) (any, error) {
		e.Seq = pm.DecisionSeq()
		e.Recorded = clk.Now().UnixNano()
		if e.ValidFrom == 0 {
			e.ValidFrom = e.Recorded
		}
		added, stale, err := g.Add(e)
		det := governance.EccEdgeDetail{From: from.String(), To: to.String(), Type: e.Type.String(), Weight: e.Weight,
			ValidFrom: e.ValidFrom, ValidTo: e.ValidTo, Recorded: e.Recorded, DecisionSeq: e.Seq, Added: added, Stale: len(stale)}
		var ce *causal.CycleError
		if errors.As(err, &ce) {
			for _, id := range ce.Path {
				det.Cycle = append(det.Cycle, id.String())
			}
		}
		out = apitype.EccEdgeResponse{Added: added, Seq: e.Seq}
		for _, id := range stale {
			out.Stale = append(out.Stale, id.String())
		}
		return det, err
	})
	return out, err
}

// Replay re-applies the edges recorded in events (ecc.edge and
// ecc.analyze outcomes) to the graph; applying an edge the graph has is a
// no-op.
func Replay(events iter.Seq2[chain.Event, error], g Graph, log *slog.Logger) error {
	for ev, err := range events {
		if err != nil {
			return err
		}
		var err error
		switch ev.Kind {
		case governance.KindEccEdge:
			err = ApplyEdgeRecord(g, ev.Payload)
		case governance.KindEccAnalyze:
			err = ApplyAnalyzeRecord(g, ev.Payload, log)
		}
		if err != nil {
			return fmt.Errorf("ecchost: replaying the graph edges at seq %d: %w", ev.Seq, err)
		}
	}
	return nil
}
