//go:build !nomesh

package daemon

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/witness"
)

// witnessTimeout bounds one member's answer.
const witnessTimeout = 5 * time.Second

// witnessLoop witnesses every live member's chain each witness_interval.
func (d *Daemon) witnessLoop(ctx context.Context) {
	every := d.cfg.Mesh.WitnessInterval.Duration
	if every <= 0 {
		every = 5 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.witnessRound(ctx)
		}
	}
}

// witnessChainRecord is the payload of chain.witness and chain.fork.
type witnessChainRecord struct {
	Node       string            `json:"node"`
	Checkpoint chain.Checkpoint  `json:"checkpoint"`         // the last witnessed consistent
	Evidence   *chain.Checkpoint `json:"evidence,omitempty"` // fork: the checkpoint that does not extend it
	Reason     string            `json:"reason,omitempty"`
}

// witnessRound asks each live member for its latest checkpoint (with a
// consistency proof from the last one witnessed), checks it, and records
// on this node's chain what advanced and, above all, any fork.
func (d *Daemon) witnessRound(ctx context.Context) {
	ps, err := d.cluster.Peers()
	if err != nil {
		return
	}
	for _, p := range ps {
		if p.Self || p.State != "alive" {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, witnessTimeout)
		st, err := d.remote.Checkpoint(rctx, p.NodeID, d.witnesses.Since(p.NodeID))
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				d.log.Debug("witnessing a member's chain: no statement", "node", p.NodeID, "err", err)
			}
			continue
		}
		out, rec, err := d.witnesses.Observe(p.NodeID, st, d.opts.Clock.Now())
		switch {
		case errors.Is(err, witness.ErrBadStatement):
			d.log.Warn("a member's chain statement proves nothing", "node", p.NodeID, "err", err)
			continue
		case err != nil:
			d.log.Error("witnessing a member's chain", "node", p.NodeID, "err", err)
		}
		switch out {
		case witness.Advanced:
			d.recordWitness(governance.KindChainWitness, witnessChainRecord{Node: p.NodeID, Checkpoint: rec.Checkpoint})
		case witness.Forked:
			d.log.Error("a member's chain was forked or rewritten", "node", p.NodeID, "reason", rec.Reason)
			d.recordWitness(governance.KindChainFork, witnessChainRecord{Node: p.NodeID, Checkpoint: rec.Checkpoint, Evidence: rec.Evidence,
				Reason: rec.Reason})
		}
	}
}

func (d *Daemon) recordWitness(kind string, rec witnessChainRecord) {
	if d.recorder == nil {
		d.log.Warn("witnessing cannot be recorded: the chain is not open", "kind", kind, "node", rec.Node)
		return
	}
	if err := d.recorder.Record(context.Background(), "cluster", kind, rec); err != nil {
		d.log.Error("recording a witnessed checkpoint failed", "kind", kind, "node", rec.Node, "err", err)
	}
}

// forkedPeers lists the members whose chains were found forked.
func (d *Daemon) forkedPeers() []string {
	if d.witnesses == nil {
		return nil
	}
	var out []string
	for _, r := range d.witnesses.List() {
		if r.Forked {
			out = append(out, r.Node)
		}
	}
	return out
}

func (d *Daemon) handleChainWitnesses(w http.ResponseWriter, r *http.Request) {
	out := []apitype.ChainWitness{}
	for _, rec := range d.witnesses.List() {
		cw := apitype.ChainWitness{Node: rec.Node, Size: rec.Checkpoint.Size, Root: base64.StdEncoding.EncodeToString(rec.Checkpoint.Root[:]),
			Signed: time.Unix(0, rec.Checkpoint.Timestamp).UTC(), First: rec.First, Last: rec.Last, Witnessed: rec.Witnessed,
			Forked: rec.Forked, Reason: rec.Reason}
		if rec.Evidence != nil {
			cw.EvidenceSize, cw.EvidenceRoot = rec.Evidence.Size, base64.StdEncoding.EncodeToString(rec.Evidence.Root[:])
		}
		if !rec.ForkedAt.IsZero() {
			t := rec.ForkedAt
			cw.ForkedAt = &t
		}
		out = append(out, cw)
	}
	localapi.WriteJSON(w, out)
}
