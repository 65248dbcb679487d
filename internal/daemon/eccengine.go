package daemon

import (
	"context"
	"encoding/hex"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/causal"
	"github.com/weftos/weftos/internal/ecchost"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/xref"
)

// eccEngine is the ECC layer's running part: the impulse queue and the
// cognitive tick (internal/ecchost).
type eccEngine = ecchost.Engine

// openECC starts the impulse queue and the tick, which makes the graph
// durable at most once per tick.
func (d *Daemon) openECC(ctx context.Context) {
	d.ecc = ecchost.StartEngine(ctx, d.bgCtx, ecchost.EngineOptions{Clock: d.opts.Clock, Logger: d.log.With("layer", "ecc"), Sync: d.syncGraph})
}

// emitImpulses feeds the queue from indexed chain events.
func (d *Daemon) emitImpulses(evs []chain.Event) {
	if d.ecc != nil {
		d.ecc.EmitEvents(evs)
	}
}

func (d *Daemon) closeECC() {
	if d.ecc != nil {
		d.ecc.Close()
	}
}

// handleEccStatus answers GET /v1/ecc/status.
func (d *Daemon) handleEccStatus(w http.ResponseWriter, r *http.Request) {
	if d.ecc == nil {
		d.fail(w, d.chainErr())
		return
	}
	out := d.ecc.Status()
	if d.graph != nil {
		gs := d.graph.Stats()
		h := d.graph.Hash()
		out.Graph.Nodes, out.Graph.Edges, out.Graph.Stale, out.Graph.Refused, out.Graph.Invalidations = gs.Nodes, gs.Edges, gs.Stale, gs.Refused, gs.Invalidations
		out.Graph.Hash = hex.EncodeToString(h[:])
	}
	if d.xref != nil {
		out.Xref.Nodes, out.Xref.Links = d.xref.Len()
		out.Xref.Through = d.xref.Through()
	}
	localapi.WriteJSON(w, out)
}

// linkAnswer is ECC's Act mode: an agent's answer gets a universal id (an
// event: the session, the process, the answer's hash, the time) and a
// derived_from edge — a governed act — to every memory recalled for it;
// each recalled memory is rehearsed in the impulse queue. It returns the
// answer's id, or "" when nothing was recalled or the graph is closed.
func (d *Daemon) linkAnswer(ctx context.Context, p *kernel.Process, session, answer string, memories []string) string {
	if d.graph == nil || len(memories) == 0 {
		return ""
	}
	id, err := xref.EventFields("agent.answer", d.opts.Clock.Now(), xref.Str("session", session), xref.Uint("pid", uint64(p.PID())), xref.Str("answer_hash", shake([]byte(answer))))
	if err != nil {
		d.log.Error("answer id", "err", err)
		return ""
	}
	for _, m := range memories {
		mem, err := xref.MemoryNode(m)
		if err != nil {
			continue
		}
		e := causal.Edge{From: causal.ID(id), To: causal.ID(mem.ID), Type: causal.DerivedFrom, Weight: 1}
		if _, err := d.linkEdge(ctx, subjectOf(p, session), e); err != nil {
			d.log.Warn("linking an answer to a recalled memory", "memory", m, "err", err)
			continue
		}
		if d.ecc != nil {
			d.ecc.Emit("memory:"+m, "memory", session)
		}
	}
	return id.String()
}
