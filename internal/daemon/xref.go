package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	http "github.com/weftos/weftos/internal/localhttp"
	"github.com/weftos/weftos/internal/xreflink"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/homedir"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/xref"
)

// xrefBatch is how many chain events one indexing round reads.
const xrefBatch = 512

// chainFanout is the chain's Observer: the metrics, and a kick for the
// cross-reference indexer after every group commit (never blocking).
type chainFanout struct {
	next chain.Observer
	kick chan struct{}
}

func (o chainFanout) Committed(events, checkpoints int) {
	o.next.Committed(events, checkpoints)
	if events > 0 {
		select {
		case o.kick <- struct{}{}:
		default:
		}
	}
}

func (o chainFanout) Synced(d time.Duration) { o.next.Synced(d) }

// openXref opens the cross-reference index (HOME/xref.log) and starts
// indexing the chain from where the index stopped. The index is derived
// from the chain: a damaged file is set aside (kept, renamed) and rebuilt.
func (d *Daemon) openXref() error {
	if d.chain == nil {
		return nil
	}
	path := filepath.Join(d.home, homedir.Xref)
	x, err := openDerived(d, homedir.Xref, "cross-reference index", xref.Open, xref.ErrCorrupt)
	if err != nil {
		return err
	}
	if x.Through() > d.chain.Len() {
		// The index describes a longer chain than this one: rebuild.
		_ = x.Close()
		aside := fmt.Sprintf("%s.stale-%d", path, d.opts.Clock.Now().UnixNano())
		d.log.Warn("the cross-reference index is ahead of the chain: set aside and rebuilt", "through", x.Through(), "chain", d.chain.Len(), "kept", aside)
		if err := os.Rename(path, aside); err != nil {
			return fmt.Errorf("daemon: %w", err)
		}
		if x, err = xref.Open(path); err != nil {
			return fmt.Errorf("daemon: xref index: %w", err)
		}
	}
	if d.graph != nil && d.graph.Through() < x.Through() {
		// Edges recorded since the graph's last sync may be missing.
		if err := d.replayGraph(d.graph.Through(), x.Through()); err != nil {
			_ = x.Close()
			return err
		}
	}
	d.xref = x
	d.xrefLinker = xreflink.New(d.id.NodeID, x)
	d.goBackground(d.runXref)
	return nil
}

// runXref indexes every committed chain event, woken by each commit.
func (d *Daemon) runXref(ctx context.Context) {
	for {
		if err := d.indexChain(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("cross-reference indexing failed; retried at the next commit", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-d.chainKick:
		}
	}
}

// indexChain indexes the events the index does not cover yet.
func (d *Daemon) indexChain(ctx context.Context) error {
	d.xrefMu.Lock()
	defer d.xrefMu.Unlock()
	for ctx.Err() == nil {
		from, to := d.xref.Through(), d.chain.Len()
		if from >= to {
			return nil
		}
		to = min(to, from+xrefBatch)
		// The events just committed come from the chain's memory, not
		// read back from its files; the buffer is reused round to round.
		evs, err := d.chain.AppendEvents(d.xrefEvents[:0], from, to)
		d.xrefEvents = evs
		if err != nil {
			return err
		}
		b, err := d.xrefLinker.Batch(evs)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if d.graph == nil {
				continue
			}
			var err error
			switch ev.Kind {
			case governance.KindEccEdge:
				err = d.applyEdgeRecord(ev.Payload)
			case governance.KindEccAnalyze:
				err = d.applyAnalyzeRecord(ev.Payload)
			}
			if err != nil {
				return fmt.Errorf("graph edges at seq %d: %w", ev.Seq, err)
			}
		}
		if err := d.xref.Apply(b); err != nil {
			return err
		}
		d.emitImpulses(evs)
		clear(d.xrefEvents) // no payloads kept alive between rounds
	}
	return nil
}

// closeXref syncs and closes the index (the indexer has stopped).
func (d *Daemon) closeXref() error {
	if d.xref == nil {
		return nil
	}
	if err := d.xref.Close(); err != nil {
		return fmt.Errorf("xref: %w", err)
	}
	return nil
}

func (d *Daemon) xrefRoutes() []localapi.Route {
	return []localapi.Route{{Pattern: "GET /v1/xref/{id}", Handler: d.handleXref}}
}

// handleXref shows what is linked to an id (or key, or hex prefix), to
// ?depth= hops (default 1, at most 6).
func (d *Daemon) handleXref(w http.ResponseWriter, r *http.Request) {
	if d.xref == nil {
		d.fail(w, d.chainErr())
		return
	}
	depth, err := queryUint(r, "depth", 1)
	if err != nil {
		d.fail(w, err)
		return
	}
	depth = min(max(depth, 1), 6)
	// What was committed before the request is indexed before it is
	// answered.
	if err := d.indexChain(r.Context()); err != nil {
		d.fail(w, err)
		return
	}
	id, err := d.xref.Resolve(r.PathValue("id"))
	if err != nil {
		d.fail(w, err)
		return
	}
	nodes, links := d.xref.Neighbourhood(id, int(depth), 1000)
	out := apitype.XrefResponse{Through: d.xref.Through(), Truncated: len(links) >= 1000}
	for _, n := range nodes {
		out.Nodes = append(out.Nodes, apitype.XrefNode{ID: n.ID.String(), Type: n.Type, Key: n.Key})
	}
	for _, l := range links {
		out.Links = append(out.Links, apitype.XrefLink{From: l.From.String(), To: l.To.String(), Rel: l.Rel, Seq: l.Seq})
	}
	localapi.WriteJSON(w, out)
}

// openDerived opens a file derived from the chain (HOME/name) with open; a
// damaged one (errCorrupt) is set aside — kept, renamed — and opened anew,
// to be rebuilt from the chain.
func openDerived[T any](d *Daemon, name, what string, open func(string) (T, error), errCorrupt error) (T, error) {
	path := filepath.Join(d.home, name)
	v, err := open(path)
	if errors.Is(err, errCorrupt) {
		aside := fmt.Sprintf("%s.corrupt-%d", path, d.opts.Clock.Now().UnixNano())
		d.log.Warn("the "+what+" is damaged: set aside and rebuilt from the chain", "err", err, "kept", aside)
		if rerr := os.Rename(path, aside); rerr != nil {
			var zero T
			return zero, fmt.Errorf("daemon: setting aside a damaged %s: %w", what, rerr)
		}
		v, err = open(path)
	}
	if err != nil {
		var zero T
		return zero, fmt.Errorf("daemon: %s: %w", what, err)
	}
	return v, nil
}
