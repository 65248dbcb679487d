package daemon

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/clock"
	"github.com/weftos/weftos/internal/durable"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/homedir"
)

// ConstitutionName is the constitution's file name in the home.
const ConstitutionName = homedir.Constitution

// ErrInvalidConstitution is returned by Open in prod when the node has no
// adopted constitution and constitution.toml does not parse.
var ErrInvalidConstitution = errors.New("daemon: invalid constitution")

// fileProposalTimeout is how long a hand edit of constitution.toml waits
// for a human before it lapses (it is proposed again at the next boot).
const fileProposalTimeout = 24 * time.Hour

// gov wires the governance layer: the gate, the defer queue, and the
// constitution in force — which is always the one adopted on the chain.
type gov struct {
	d         *Daemon
	path      string
	engine    *governance.Engine
	gate      *governance.Gate
	pending   *governance.Pending
	timeout   time.Duration
	invalidMu sync.Mutex
	invalid   string // why constitution.toml could not be used, if it could not (under invalidMu)

	genesis  bool                     // nothing adopted yet: adopt at start
	proposal *governance.Constitution // a hand-edited file awaiting approval
	propMu   sync.Mutex
	propID   string // action id of the pending file proposal

	amendMu sync.Mutex // serialises amendments
}

// openGov builds the gate on the constitution the chain has adopted. A
// constitution.toml that differs from it is not adopted: it becomes a
// pending amendment once the node runs (start). On a fresh chain the file
// (or the default, written on first boot) is adopted. An invalid file
// refuses the boot in prod only when nothing was ever adopted.
func (d *Daemon) openGov() (*gov, error) {
	g := &gov{d: d, path: filepath.Join(d.home, ConstitutionName), timeout: d.cfg.Governance.DeferTimeout.Duration}
	data, err := os.ReadFile(g.path)
	missing := errors.Is(err, os.ErrNotExist)
	if missing {
		data = []byte(governance.DefaultConstitutionText)
	} else if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	file, perr := governance.Parse(g.path, data)
	var parsed *governance.Constitution
	if perr == nil {
		parsed = file
	}
	adopted, err := d.adoptedConstitution(parsed)
	if err != nil {
		return nil, err
	}
	if missing {
		// First boot (or a deleted file): write what is in force.
		if adopted != nil {
			data, file = []byte(adopted.Canonical()), adopted
		}
		if err := durable.WriteFile(g.path, data); err != nil {
			return nil, fmt.Errorf("daemon: writing %s: %w", g.path, err)
		}
	}
	var c *governance.Constitution
	switch {
	case adopted == nil && perr != nil:
		if d.cfg.Governance.Environment == "prod" {
			return nil, fmt.Errorf("%w (refusing to boot in prod): %w", ErrInvalidConstitution, perr)
		}
		g.setInvalid(perr.Error())
		d.log.Error("constitution is invalid; adopting the default constitution", "file", g.path, "err", perr)
		if c, err = governance.Parse("default constitution", []byte(governance.DefaultConstitutionText)); err != nil {
			return nil, fmt.Errorf("daemon: default constitution: %w", err)
		}
		g.genesis = true
	case adopted == nil:
		c, g.genesis = file, true
	case perr != nil:
		c = adopted
		g.setInvalid(perr.Error())
		d.log.Error("constitution.toml is invalid; the adopted constitution stays in force", "file", g.path, "err", perr,
			"adopted", adopted.HashHex())
	case file.HashHex() != adopted.HashHex():
		c, g.proposal = adopted, file
		d.log.Warn("constitution.toml differs from the constitution adopted on the chain: it is not adopted, but proposed for approval (weave gov pending)",
			"adopted", adopted.HashHex(), "file", file.HashHex())
	default:
		c = file
	}
	for _, w := range c.Warnings() {
		d.log.Warn("constitution", "warning", w.String())
	}
	if g.engine, err = governance.NewEngine(c, d.cfg.Governance.Environment); err != nil {
		return nil, err
	}
	if g.gate, err = governance.NewGate(g.engine, governance.GateConfig{Workspace: []string{d.home}, AllowedHosts: d.knownHosts()}); err != nil {
		return nil, err
	}
	g.pending = governance.NewPending(governance.PendingConfig{Clock: govClock{d.opts.Clock}, DefaultTimeout: g.timeout,
		Log: d.log.With("layer", "governance")})
	return g, nil
}

// start records the genesis adoption on a fresh chain, or proposes a
// hand-edited constitution.toml for approval. It runs once the authority
// pipeline is up.
func (g *gov) start(ctx context.Context) error {
	if g.genesis {
		c := g.engine.Constitution()
		a, err := governance.NewAdoption(c)
		if err != nil {
			return err
		}
		if err := a.Sign(g.d.id.Ed25519); err != nil {
			return err
		}
		seq, err := g.d.auth.Record(ctx, "governance", governance.KindAmendment,
			governance.AmendmentRecord{Amendment: a, ResultHash: c.HashHex(), ResultRevision: c.Revision})
		if err != nil {
			return fmt.Errorf("daemon: recording the constitution: %w", err)
		}
		g.d.saveGovState(c.HashHex(), seq)
		return nil
	}
	if g.proposal != nil {
		g.d.goBackground(func(ctx context.Context) { g.proposeFile(ctx, g.proposal) })
	}
	return nil
}

// proposeFile puts a hand-edited constitution.toml to governance as an
// adoption; by the default constitution a human must approve it (weave gov
// approve). Approved, it is adopted and recorded like any amendment.
func (g *gov) proposeFile(ctx context.Context, file *governance.Constitution) {
	a, err := governance.NewAdoption(file)
	if err == nil {
		err = a.Sign(g.d.id.Ed25519)
	}
	if err != nil {
		g.d.log.Error("cannot propose constitution.toml", "err", err)
		return
	}
	req := a.Request("operator", operator().Caps)
	req.Context.Extra["origin"] = "file"
	req.Context.Extra["file_hash"] = file.HashHex()
	req.Context.Extra["adopted_hash"] = g.engine.Constitution().HashHex()
	id := g.d.kernel.NewActionID()
	g.propMu.Lock()
	g.propID = id
	g.propMu.Unlock()
	defer func() {
		g.propMu.Lock()
		g.propID = ""
		g.propMu.Unlock()
	}()
	pm, err := g.d.auth.Authorize(ctx, authority.Act{Action: req.Action, ActionID: id, Subject: operator(), Context: req.Context,
		DeferTimeout: fileProposalTimeout})
	if err != nil {
		if ctx.Err() == nil {
			g.d.log.Warn("constitution.toml was not adopted", "err", err)
		}
		return
	}
	if g.d.inConsensus() {
		// In a cluster the adoption commits through the replicated log.
		_, err := g.d.commitAmendment(ctx, id, a)
		if err != nil {
			g.d.log.Error("adopting constitution.toml failed", "err", err)
		}
		_ = pm.Done(ctx, nil, err)
		return
	}
	g.amendMu.Lock()
	defer g.amendMu.Unlock()
	base := g.engine.Constitution()
	if _, err := g.apply(ctx, id, a, base); err != nil {
		g.d.log.Error("adopting constitution.toml failed", "err", err)
	}
	_ = pm.Done(ctx, nil, nil)
}

// pendingProposal returns the action id of a pending file proposal.
func (g *gov) pendingProposal() string {
	g.propMu.Lock()
	defer g.propMu.Unlock()
	return g.propID
}

// apply applies a permitted amendment: durably recorded first, then in
// force, then saved to constitution.toml. amendMu must be held.
func (g *gov) apply(ctx context.Context, actionID string, a governance.Amendment, base *governance.Constitution) (*governance.Constitution, error) {
	next, err := base.Apply(a, g.d.id.Ed25519.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", authority.ErrInput, err)
	}
	seq, err := g.d.auth.Record(ctx, "governance", governance.KindAmendment,
		governance.AmendmentRecord{ActionID: actionID, Amendment: a, ResultHash: next.HashHex(), ResultRevision: next.Revision})
	if err != nil {
		return nil, err
	}
	if err := g.engine.SetConstitution(next); err != nil {
		return nil, err
	}
	if err := durable.WriteFile(g.path, []byte(next.Canonical())); err != nil {
		g.d.log.Error("amendment in force but constitution.toml not saved", "err", err)
	}
	g.setInvalid("")
	g.d.saveGovState(next.HashHex(), seq)
	return next, nil
}

// Constitution is the constitution in force (replica.Governance).
func (g *gov) Constitution() *governance.Constitution { return g.engine.Constitution() }

// PutInForce durably records an amendment the cluster committed, then puts
// its result in force and saves it to constitution.toml
// (replica.Governance). Nothing is done when next is already in force.
func (g *gov) PutInForce(ctx context.Context, rec governance.AmendmentRecord, next *governance.Constitution) error {
	g.amendMu.Lock()
	defer g.amendMu.Unlock()
	if g.engine.Constitution().HashHex() == next.HashHex() {
		return nil
	}
	seq, err := g.d.auth.Record(ctx, "governance", governance.KindAmendment, rec)
	if err != nil {
		return fmt.Errorf("daemon: recording the committed amendment: %w", err)
	}
	if err := g.engine.SetConstitution(next); err != nil {
		return fmt.Errorf("daemon: putting the committed amendment in force: %w", err)
	}
	if err := durable.WriteFile(g.path, []byte(next.Canonical())); err != nil {
		g.d.log.Error("amendment in force but constitution.toml not saved", "err", err)
	}
	g.setInvalid("")
	g.d.saveGovState(next.HashHex(), seq)
	return nil
}

// setInvalid records why constitution.toml could not be used ("": it
// can). An amendment put in force (here or by the cluster's log, on Raft's
// goroutine) clears it while the API reads it.
func (g *gov) setInvalid(why string) {
	g.invalidMu.Lock()
	g.invalid = why
	g.invalidMu.Unlock()
}

// invalidReason is why constitution.toml could not be used ("" if it can).
func (g *gov) invalidReason() string {
	g.invalidMu.Lock()
	defer g.invalidMu.Unlock()
	return g.invalid
}

// workspaceGate returns a gate that judges paths against an agent's
// workspace (a path outside it raises privacy and security), sharing the
// engine and the novelty tracker with the node's gate.
func (g *gov) workspaceGate(workspace string) (*governance.Gate, error) {
	return governance.NewGate(g.engine, governance.GateConfig{Workspace: []string{workspace},
		AllowedHosts: g.d.knownHosts(), Novelty: g.gate.Novelty()})
}

// govState is governance.state: the hash of the constitution in force and
// the chain seq of the amendment that put it in force.
type govState struct {
	ConstitutionHash string  `json:"constitution_hash"`
	Seq              *uint64 `json:"seq,omitempty"`
}

const govStateName = "governance.state"

func (d *Daemon) saveGovState(hash string, seq uint64) {
	b, _ := json.Marshal(govState{ConstitutionHash: hash, Seq: &seq})
	if err := durable.WriteFile(filepath.Join(d.home, govStateName), b); err != nil {
		d.log.Warn("saving governance state", "err", err)
	}
}

// adoptedConstitution returns the constitution the chain has in force: the
// result of its last amendment, rebuilt from the amendments on the chain.
// nil means the chain holds none yet. file is constitution.toml as parsed
// (nil if it does not parse).
//
// governance.state names the seq of the last amendment the daemon applied.
// When it points at an amendment whose result is file, replay starts there
// (reading only the events after it); otherwise every amendment since the
// last whole adoption is replayed. The events after the hint are always
// read, so pointing it at an older amendment cannot roll the constitution
// back.
func (d *Daemon) adoptedConstitution(file *governance.Constitution) (*governance.Constitution, error) {
	if d.chain == nil {
		return nil, nil // no chain to read: nothing privileged can happen anyway
	}
	n := d.chain.Len()
	if n == 0 {
		return nil, nil
	}
	var st govState
	if b, err := os.ReadFile(filepath.Join(d.home, govStateName)); err == nil {
		_ = json.Unmarshal(b, &st)
	}
	trusted := d.id.Ed25519.Public().(ed25519.PublicKey)
	replay := func(c *governance.Constitution, recs []seqAmendment) (*governance.Constitution, error) {
		for _, r := range recs {
			var next *governance.Constitution
			var err error
			if r.Origin != "" {
				// Committed through the cluster: signed by its origin node,
				// whose membership was checked when it was committed.
				next, err = governance.ApplyFrom(c, r.Amendment, r.Origin)
			} else {
				next, err = c.Apply(r.Amendment, trusted)
			}
			if err != nil {
				return nil, fmt.Errorf("daemon: replaying the amendment at seq %d: %w", r.seq, err)
			}
			if next.HashHex() != r.ResultHash {
				return nil, fmt.Errorf("daemon: replaying the amendment at seq %d: result %s, recorded %s", r.seq, next.HashHex(), r.ResultHash)
			}
			c = next
		}
		return c, nil
	}
	if st.Seq != nil && *st.Seq < n && file != nil && file.HashHex() == st.ConstitutionHash {
		recs, err := d.amendmentsSince(*st.Seq, n)
		if err != nil {
			return nil, err
		}
		if len(recs) > 0 && recs[0].seq == *st.Seq && recs[0].ResultHash == file.HashHex() {
			return replay(file, recs[1:])
		}
	}
	recs, err := d.amendmentsSince(0, n)
	if err != nil {
		return nil, err
	}
	adopt := -1
	for i, r := range recs {
		if r.Amendment.Op == governance.AmendAdopt {
			adopt = i
		}
	}
	if len(recs) == 0 {
		return nil, nil
	}
	if adopt < 0 {
		return nil, fmt.Errorf("daemon: the chain's first amendment (seq %d) is not an adoption", recs[0].seq)
	}
	return replay(nil, recs[adopt:])
}

type seqAmendment struct {
	governance.AmendmentRecord
	seq uint64
}

// amendmentsSince reads the amendment records in [from, to).
func (d *Daemon) amendmentsSince(from, to uint64) ([]seqAmendment, error) {
	var out []seqAmendment
	for ev, err := range d.chain.Events(from, to) {
		if err != nil {
			return nil, fmt.Errorf("daemon: reading the chain for the adopted constitution: %w", err)
		}
		if ev.Kind != governance.KindAmendment {
			continue
		}
		var rec governance.AmendmentRecord
		if err := json.Unmarshal(ev.Payload, &rec); err != nil {
			return nil, fmt.Errorf("daemon: amendment at seq %d: %w", ev.Seq, err)
		}
		out = append(out, seqAmendment{rec, ev.Seq})
	}
	return out, nil
}

// goBackground runs f in a goroutine the daemon owns: its context ends at
// Close, which waits for it.
func (d *Daemon) goBackground(f func(ctx context.Context)) {
	d.bgWG.Add(1)
	go func() {
		defer d.bgWG.Done()
		f(d.bgCtx)
	}()
}

// govClock adapts the daemon's clock to governance.Clock.
type govClock struct{ c clock.Clock }

func (g govClock) Now() time.Time { return g.c.Now() }

func (g govClock) AfterFunc(d time.Duration, f func()) func() bool { return g.c.AfterFunc(d, f).Stop }
