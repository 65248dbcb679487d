package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/causal"
	"github.com/weftos/weftos/internal/ecchost"
	"github.com/weftos/weftos/internal/homedir"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/xref"
)

// graphSyncEvery bounds the graph file's fsyncs (edges are on the chain
// already: what a crash loses is re-applied from it).
const graphSyncEvery = time.Second

// openGraph opens the causal graph (HOME/graph.log). A damaged file is set
// aside (kept) and rebuilt from the chain's ecc.edge records.
func (d *Daemon) openGraph() error {
	if d.chain == nil {
		return nil
	}
	g, err := openDerived(d, homedir.Graph, "causal graph", causal.Open, causal.ErrCorrupt)
	if err != nil {
		return err
	}
	d.graph = g
	return nil
}

// replayGraph re-applies the edges recorded on the chain in [from, to)
// (those a crash may have cut from the graph file).
func (d *Daemon) replayGraph(from, to uint64) error {
	return ecchost.Replay(d.chain.Events(from, to), d.graph, d.log)
}

// applyEdgeRecord applies an ecc.edge outcome to the graph.
func (d *Daemon) applyEdgeRecord(payload json.RawMessage) error {
	return ecchost.ApplyEdgeRecord(d.graph, payload)
}

// syncGraph makes the graph durable at most once per graphSyncEvery.
func (d *Daemon) syncGraph(force bool) error {
	if d.graph == nil {
		return nil
	}
	d.graphSyncMu.Lock()
	defer d.graphSyncMu.Unlock()
	now := d.opts.Clock.Now()
	if !force && now.Sub(d.graphSynced) < graphSyncEvery {
		return nil
	}
	through := d.xref.Through()
	_, edges := d.graph.Len()
	if !force && (d.graph.Through() >= through || edges == d.graphSyncedEdges) {
		return nil // nothing new: no fsync
	}
	d.graphSynced, d.graphSyncedEdges = now, edges
	return d.graph.Sync(through)
}

func (d *Daemon) closeGraph() error {
	if d.graph == nil {
		return nil
	}
	err := d.syncGraph(true)
	if cerr := d.graph.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("causal graph: %w", err)
	}
	return nil
}

// resolveNode turns an id, key or prefix into a node id: one the
// cross-reference index knows, or a new 64-hex-digit id.
func (d *Daemon) resolveNode(s string) (xref.ID, error) {
	id, err := d.xref.Resolve(s)
	if errors.Is(err, xref.ErrNotFound) {
		if p, perr := xref.ParseID(s); perr == nil {
			return p, nil
		}
	}
	return id, err
}

// linkEdge adds a causal edge as a governed act (ecc.link, recorded as
// ecc.edge; internal/ecchost).
func (d *Daemon) linkEdge(ctx context.Context, subject authority.Subject, e causal.Edge) (apitype.EccEdgeResponse, error) {
	return ecchost.Link(ctx, d.auth, d.graph, d.opts.Clock, subject, carryFrom(ctx), e)
}

func (d *Daemon) eccRoutes() []localapi.Route {
	return []localapi.Route{
		{Pattern: "POST /v1/ecc/edges", Handler: d.needGraph(d.handleEccLink)},
		{Pattern: "GET /v1/ecc/why/{id}", Handler: d.needGraph(d.handleEccWalk(false))},
		{Pattern: "GET /v1/ecc/impact/{id}", Handler: d.needGraph(d.handleEccWalk(true))},
		{Pattern: "GET /v1/ecc/status", Handler: d.handleEccStatus},
		{Pattern: "POST /v1/ecc/analyze", Handler: d.needGraph(d.handleEccAnalyze)},
	}
}

func (d *Daemon) needGraph(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if d.graph == nil {
			d.fail(w, d.chainErr())
			return
		}
		h(w, r)
	}
}

func (d *Daemon) handleEccLink(w http.ResponseWriter, r *http.Request) {
	var req apitype.EccEdgeRequest
	if !localapi.DecodeBody(w, r, &req) {
		return
	}
	typ, err := causal.ParseType(req.Type)
	if err != nil {
		d.fail(w, err)
		return
	}
	if err := d.indexChain(r.Context()); err != nil {
		d.fail(w, err)
		return
	}
	from, err := d.resolveNode(req.From)
	if err != nil {
		d.fail(w, err)
		return
	}
	to, err := d.resolveNode(req.To)
	if err != nil {
		d.fail(w, err)
		return
	}
	if req.Weight == 0 {
		req.Weight = 1
	}
	e := causal.Edge{From: causal.ID(from), To: causal.ID(to), Type: typ, Weight: req.Weight}
	if !req.ValidFrom.IsZero() {
		e.ValidFrom = req.ValidFrom.UnixNano()
	}
	if !req.ValidTo.IsZero() {
		e.ValidTo = req.ValidTo.UnixNano()
	}
	out, err := d.linkEdge(r.Context(), operator(), e)
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, out)
}

func nanoTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// eccNode describes a graph node with what the xref index knows of it.
func (d *Daemon) eccNode(id causal.ID, st causal.Status) apitype.EccNode {
	n := apitype.EccNode{ID: id.String(), Stale: st.Stale, Superseded: st.Superseded}
	if x, ok := d.xref.Node(xref.ID(id)); ok {
		n.Type, n.Key = x.Type, x.Key
	}
	return n
}

// handleEccWalk answers why (the evidence behind a node) and impact (what
// depends on it): ?depth= (default 3, at most 10), ?valid= and
// ?recorded= (RFC 3339) for "as of" queries.
func (d *Daemon) handleEccWalk(impact bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		depth, err := queryUint(r, "depth", 3)
		if err != nil {
			d.fail(w, err)
			return
		}
		depth = min(max(depth, 1), 10)
		var asOf causal.AsOf
		for name, dst := range map[string]*int64{"valid": &asOf.Valid, "recorded": &asOf.Recorded} {
			if s := r.URL.Query().Get(name); s != "" {
				t, err := time.Parse(time.RFC3339Nano, s)
				if err != nil {
					d.fail(w, fmt.Errorf("%w: %s=%q is not an RFC 3339 time", kernel.ErrInvalid, name, s))
					return
				}
				*dst = t.UnixNano()
			}
		}
		if err := d.indexChain(r.Context()); err != nil {
			d.fail(w, err)
			return
		}
		id, err := d.resolveNode(r.PathValue("id"))
		if err != nil {
			d.fail(w, err)
			return
		}
		walk := d.graph.Why
		if impact {
			walk = d.graph.Impact
		}
		steps, err := walk(causal.ID(id), int(depth), asOf)
		if err != nil {
			d.fail(w, err)
			return
		}
		st, _ := d.graph.State(causal.ID(id))
		out := apitype.EccWalkResponse{Root: d.eccNode(causal.ID(id), st), Steps: []apitype.EccStep{}}
		for _, s := range steps {
			out.Steps = append(out.Steps, apitype.EccStep{From: s.Edge.From.String(), To: s.Edge.To.String(), Type: s.Edge.Type.String(),
				Weight: s.Edge.Weight, Seq: s.Edge.Seq, ValidFrom: nanoTime(s.Edge.ValidFrom), ValidTo: nanoTime(s.Edge.ValidTo),
				Recorded: nanoTime(s.Edge.Recorded), Depth: s.Depth, Node: d.eccNode(s.Node, s.State)})
		}
		localapi.WriteJSON(w, out)
	}
}
