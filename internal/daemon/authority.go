package daemon

import (
	"context"
	"crypto/sha3"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/kernelauth"
)

// chainLedger is the authority pipeline's Ledger: a durable append to the
// node's chain, refusing kinds outside the one record registry.
type chainLedger struct{ log *chain.Log }

var _ authority.Ledger = chainLedger{}

// errUnregisteredKind means a record of a kind the governance registry
// does not know was about to be written: a bug, caught before it lands.
var errUnregisteredKind = errors.New("record kind is not in the governance registry")

func (l chainLedger) Append(ctx context.Context, recs ...authority.Record) (uint64, error) {
	if l.log == nil {
		return 0, errors.New("the audit chain is not open")
	}
	b := entryBatches.Get().(*entryBatch)
	defer b.put()
	for _, r := range recs {
		if _, ok := governance.LookupKind(r.Kind); !ok {
			return 0, fmt.Errorf("%w: %w: %q", authority.ErrBadRecord, errUnregisteredKind, r.Kind)
		}
		b.e = append(b.e, chain.Entry{Source: r.Source, Kind: r.Kind, Payload: r.Payload})
	}
	last, err := l.log.AppendSeq(ctx, b.e)
	if errors.Is(err, chain.ErrInvalidEvent) {
		return 0, fmt.Errorf("%w: %w", authority.ErrBadRecord, err)
	}
	if err != nil {
		return 0, err
	}
	return last, nil
}

// entryBatch is the entries of one append, in a reused array: the chain
// is done with them when AppendBatch returns (it encodes them first).
type entryBatch struct{ e []chain.Entry }

var entryBatches = sync.Pool{New: func() any { return &entryBatch{e: make([]chain.Entry, 0, 8)} }}

func (b *entryBatch) put() {
	clear(b.e)
	b.e = b.e[:0]
	entryBatches.Put(b)
}

// openAuthority builds the one pipeline every privileged act goes through.
func (d *Daemon) openAuthority() error {
	var err error
	d.auth, err = authority.New(authority.Options{
		Ledger: chainLedger{d.chain}, Gate: consensusGate{d, d.gov.gate}, Approvals: d.gov.pending,
		NewActionID: d.kernel.NewActionID, DeferTimeout: d.gov.timeout, Now: d.opts.Clock.Now, Health: d.chainErr,
		Logger: d.log.With("layer", "authority"),
		OnDefer: func(ctx context.Context, id string, req governance.Request, dec governance.Decision) {
			if s := approvalStream(ctx); s != nil {
				s.Approval(ctx, id, req, dec)
			}
		},
		OnLedgerFailure: func(err error) {
			d.log.Error("the audit chain cannot be written: the node refuses every privileged act until it is restarted", "err", err)
		},
	})
	return err
}

// Shorthands for the kernel ↔ authority bridge (internal/kernelauth),
// kept so the daemon's handlers read as before.
func operator() authority.Subject { return kernelauth.Operator() }
func subjectOf(p *kernel.Process, session string) authority.Subject {
	return kernelauth.SubjectOf(p, session)
}
func kernelErr(err error) error { return kernelauth.KernelErr(err) }

// shake is the hex SHAKE-256/32 of b, the hash of inputs and outputs in
// chain records.
func shake(b []byte) string { return hex.EncodeToString(sha3.SumSHAKE256(b, 32)) }

func asKernel(err error) error { return kernelauth.AsKernel(err) }

// gateAdapter is the kernel's Gate: the kernel's privileged operations
// (spawn, elevation, process control, cron, IPC to the kernel) go through
// the same pipeline as every other act; the kernel records the outcome
// itself, in the event that carries the action id.
type gateAdapter struct{ d *Daemon }

var _ kernel.Gate = gateAdapter{}

func (g gateAdapter) act(ctx context.Context, kr kernel.GateRequest) authority.Act {
	s := authority.Subject{Agent: kr.Name, PID: uint64(kr.PID), Caps: kr.Caps.Names()}
	if kr.PID == kernel.KernelPID {
		s = operator()
		if node := remoteOriginFrom(ctx); node != "" {
			// Another member asked (a remote spawn): governance sees that
			// node, with the operator's capabilities, as the subject.
			s.Agent, s.Process = "node:"+node, "mesh"
		}
	}
	return authority.Act{Action: kr.Action, ActionID: kr.ActionID, Subject: s, Context: governance.Context{Extra: kr.Context}}
}

func (g gateAdapter) Check(ctx context.Context, kr kernel.GateRequest) error {
	act := g.act(ctx, kr)
	act.Carry = carryFrom(ctx)
	_, err := g.d.auth.Authorize(ctx, act)
	return asKernel(err)
}

func (g gateAdapter) Refused(ctx context.Context, kr kernel.GateRequest, reason error) {
	act := g.act(ctx, kr)
	act.Carry = carryFrom(ctx)
	if err := g.d.auth.Refuse(ctx, act, kernelErr(reason)); errors.Is(err, authority.ErrLedger) {
		g.d.log.Warn("a kernel refusal could not be recorded", "action", kr.Action, "reason", reason, "err", err)
	}
}
