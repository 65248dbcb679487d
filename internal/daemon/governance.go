package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/clock"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/kernel"
)

// ConstitutionName is the constitution's file name in the home.
const ConstitutionName = "constitution.toml"

// ErrInvalidConstitution is returned by Open in prod when the constitution
// does not parse.
var ErrInvalidConstitution = errors.New("daemon: invalid constitution")

// recorder puts events on the audit chain off the caller's critical path.
type recorder interface {
	Record(ctx context.Context, source, kind string, payload any) error
}

// gov wires the governance layer: it is the kernel's Gate, records every
// decision on the chain and keeps the defer queue.
type gov struct {
	d       *Daemon
	path    string
	engine  *governance.Engine
	gate    *governance.Gate
	pending *governance.Pending
	rec     recorder
	timeout time.Duration
	invalid string // parse problems when the default replaced an invalid file

	amendMu sync.Mutex // serialises amendments
}

var _ kernel.Gate = (*gov)(nil)

// openGov loads (or writes) constitution.toml and builds the gate. An
// invalid constitution refuses the boot in prod; elsewhere the default
// constitution is used and the problems are logged and reported in status.
func (d *Daemon) openGov(rec recorder) (*gov, error) {
	g := &gov{d: d, path: filepath.Join(d.home, ConstitutionName), rec: rec, timeout: d.cfg.Governance.DeferTimeout.Duration}
	data, err := os.ReadFile(g.path)
	if errors.Is(err, os.ErrNotExist) {
		data = []byte(governance.DefaultConstitutionText)
		if err := writeFileAtomic(g.path, data); err != nil {
			return nil, fmt.Errorf("daemon: writing %s: %w", g.path, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	c, err := governance.Parse(g.path, data)
	if err != nil {
		if d.cfg.Governance.Environment == "prod" {
			return nil, fmt.Errorf("%w (refusing to boot in prod): %w", ErrInvalidConstitution, err)
		}
		g.invalid = err.Error()
		d.log.Error("constitution is invalid; using the default constitution until it is fixed", "file", g.path, "err", err)
		if c, err = governance.Parse("default constitution", []byte(governance.DefaultConstitutionText)); err != nil {
			return nil, fmt.Errorf("daemon: default constitution: %w", err)
		}
	}
	for _, w := range c.Warnings() {
		d.log.Warn("constitution", "warning", w.String())
	}
	if g.engine, err = governance.NewEngine(c, d.cfg.Governance.Environment); err != nil {
		return nil, err
	}
	if g.gate, err = governance.NewGate(g.engine, governance.GateConfig{Workspace: []string{d.home}, AllowedHosts: d.cfg.Governance.KnownHosts}); err != nil {
		return nil, err
	}
	g.pending = governance.NewPending(governance.PendingConfig{Clock: govClock{d.opts.Clock}, DefaultTimeout: g.timeout,
		OnResolve: func(_ governance.PendingItem, r governance.Resolution) {
			g.record(governance.KindResolution, governance.ResolutionRecord{ActionID: r.ID, Approved: r.Approved, Expired: r.Expired, By: r.By, Reason: r.Reason})
		}})
	return g, nil
}

// adoptOnChain durably records the constitution in force as an adoption
// when the chain does not already end on it, so the chain holds the whole
// constitutional history.
func (g *gov) adoptOnChain(ctx context.Context, lastHash string) error {
	c := g.engine.Constitution()
	if lastHash == c.HashHex() {
		return nil
	}
	a, err := governance.NewAdoption(c)
	if err != nil {
		return err
	}
	if err := a.Sign(g.d.id.Ed25519); err != nil {
		return err
	}
	if _, err := g.d.chain.Append(ctx, "governance", governance.KindAmendment,
		governance.AmendmentRecord{Amendment: a, ResultHash: c.HashHex(), ResultRevision: c.Revision}); err != nil {
		return fmt.Errorf("daemon: recording the constitution: %w", err)
	}
	g.d.saveConstitutionHash(c.HashHex())
	return nil
}

func (g *gov) record(kind string, payload any) {
	if g.rec == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.rec.Record(ctx, "governance", kind, payload); err != nil {
		g.d.log.Error("recording on the chain failed", "kind", kind, "err", err)
	}
}

// Check implements kernel.Gate: decide, record the decision, and for a
// deferral wait for a human (until the defer timeout: default deny).
func (g *gov) Check(ctx context.Context, kr kernel.GateRequest) error {
	req := governance.Request{Action: kr.Action, Process: kr.Name, Agent: kr.Name, PID: uint64(kr.PID),
		Capabilities: kr.Caps.Names(), Context: governance.Context{Extra: kr.Context}}
	if kr.PID == kernel.KernelPID {
		req.Capabilities = append(req.Capabilities, "gov.amend")
	}
	return g.decide(ctx, kr.ActionID, req)
}

func (g *gov) decide(ctx context.Context, actionID string, req governance.Request) error {
	return g.decideWith(ctx, g.gate, actionID, req)
}

// workspaceGate returns a gate that judges paths against an agent's
// workspace (a path outside it raises privacy and security), sharing the
// engine and the novelty tracker with the node's gate.
func (g *gov) workspaceGate(workspace string) (*governance.Gate, error) {
	return governance.NewGate(g.engine, governance.GateConfig{Workspace: []string{workspace},
		AllowedHosts: g.d.cfg.Governance.KnownHosts, Novelty: g.gate.Novelty()})
}

// decideWith decides req with gate, records the decision and, for a
// deferral, waits for a human.
func (g *gov) decideWith(ctx context.Context, gate *governance.Gate, actionID string, req governance.Request) error {
	d := gate.Check(ctx, &req)
	req.Effect = d.Effect
	g.record(governance.KindDecision, governance.DecisionRecord{ActionID: actionID, Request: req, Decision: d})
	switch d.Outcome {
	case governance.Permit:
		return nil
	case governance.PermitWithWarning:
		g.d.log.Info("governance: permitted with warning", "action", req.Action, "agent", req.Agent, "rules", d.RuleIDs, "reason", d.Reason)
		return nil
	case governance.Defer:
		g.d.log.Info("governance: deferred for approval", "id", actionID, "action", req.Action, "agent", req.Agent, "reason", d.Reason)
		deadline := g.d.opts.Clock.Now().Add(g.timeout)
		if _, _, err := g.pending.Defer(ctx, actionID, req, d, deadline); err != nil {
			return fmt.Errorf("%w: cannot defer %s: %v", kernel.ErrDenied, req.Action, err)
		}
		res, err := g.pending.Wait(ctx, actionID)
		if err != nil {
			// Nobody waits for this action any more: take it off the queue
			// so it cannot be approved after the fact.
			_ = g.pending.Reject(actionID, "weave", "the requester went away: "+err.Error())
			return fmt.Errorf("%w: %s: waiting for approval: %v", kernel.ErrDenied, req.Action, err)
		}
		if !res.Approved {
			why := "rejected by " + res.By
			if res.Expired {
				why = "not approved before the deadline"
			}
			return fmt.Errorf("%w: %s deferred and %s", kernel.ErrDenied, req.Action, why)
		}
		gate.Novelty().Observe(req.Agent, req.Action)
		return nil
	default:
		return fmt.Errorf("%w: %s: %s (rules %v)", kernel.ErrDenied, req.Action, d.Reason, d.RuleIDs)
	}
}

// govClock adapts the daemon's clock to governance.Clock.
type govClock struct{ c clock.Clock }

func (g govClock) Now() time.Time { return g.c.Now() }

func (g govClock) AfterFunc(d time.Duration, f func()) func() bool { return g.c.AfterFunc(d, f).Stop }
