package daemon

import (
	"context"
	"crypto/ed25519"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/judicial"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/localapi"
)

// audit replays the chain through the governance auditor (the Judicial
// branch) and applies the sanctions it names, recording each on the chain.
func (d *Daemon) audit(ctx context.Context, since uint64) (*governance.Report, error) {
	if d.chain == nil {
		return nil, d.chainErr()
	}
	if err := d.recorder.Flush(ctx); err != nil {
		return nil, err
	}
	rep, err := judicial.Audit(ctx, d.chain, governance.AuditConfig{Trusted: []ed25519.PublicKey{d.id.Ed25519.Public().(ed25519.PublicKey)},
		Since: since, Log: d.log.With("layer", "judicial")})
	if err != nil {
		return nil, err
	}
	for _, s := range rep.Sanctions {
		d.applySanction(ctx, s)
	}
	return rep, nil
}

// applySanction carries out a sanction on the live process and records it.
// The sanction is durably recorded before it takes effect; if the chain
// cannot be written it is not applied.
func (d *Daemon) applySanction(ctx context.Context, s governance.SanctionRecord) {
	if _, err := d.auth.Record(ctx, "governance", governance.KindSanction, s); err != nil {
		d.log.Error("a sanction was not applied: recording it failed", "agent", s.Agent, "sanction", s.Sanction.Kind, "err", err)
		return
	}
	pid := kernel.PID(s.PID)
	var err error
	switch s.Sanction.Kind {
	case governance.SanctionWarn:
		d.log.Warn("judicial sanction: warning", "agent", s.Agent, "pid", s.PID, "rule", s.RuleID, "risk", s.AgentRisk, "reason", s.Reason)
	case governance.SanctionSuspend:
		err = d.kernel.Suspend(pid)
	case governance.SanctionRevoke:
		err = d.kernel.Revoke(pid, s.Sanction.Capability)
	}
	if err != nil {
		d.log.Warn("judicial sanction could not be applied", "agent", s.Agent, "pid", s.PID, "sanction", s.Sanction.Kind, "err", err)
	}
}

func (d *Daemon) handleAudit(w http.ResponseWriter, r *http.Request) {
	since, err := queryUint(r, "since", 0)
	if err != nil {
		d.fail(w, err)
		return
	}
	rep, err := d.audit(r.Context(), since)
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, rep)
}
