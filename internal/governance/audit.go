package governance

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"slices"
	"strings"
)

// FindingKind classifies an audit finding.
type FindingKind string

// Finding kinds.
const (
	// FindingMismatch: the rules in force decide differently from the record
	// (tampering or a bug).
	FindingMismatch FindingKind = "decision_mismatch"
	// FindingWrongConstitution: a decision names a constitution other than
	// the one in force at its position in the chain.
	FindingWrongConstitution FindingKind = "wrong_constitution"
	// FindingNoConstitution: a decision precedes any constitution.
	FindingNoConstitution FindingKind = "no_constitution"
	// FindingNoDecision: an action ran without a recorded decision.
	FindingNoDecision FindingKind = "action_without_decision"
	// FindingRanDespiteDeny: an action ran although its decision denied it.
	FindingRanDespiteDeny FindingKind = "action_despite_deny"
	// FindingRanUnapproved: a deferred action ran without an approval.
	FindingRanUnapproved FindingKind = "action_without_approval"
	// FindingActionDiffers: an action ran under a decision for another action.
	FindingActionDiffers FindingKind = "action_differs"
	// FindingBadAmendment: an amendment does not apply (bad signature, stale
	// base, invalid rule, result hash mismatch, no permitting decision).
	FindingBadAmendment FindingKind = "bad_amendment"
	// FindingBadResolution: a resolution for no deferred decision.
	FindingBadResolution FindingKind = "bad_resolution"
	// FindingDuplicateAction: two decisions carry the same action id.
	FindingDuplicateAction FindingKind = "duplicate_action_id"
	// FindingRanDespiteRefusal: an action ran although it was refused
	// before governance (capability, limit, input).
	FindingRanDespiteRefusal FindingKind = "action_despite_refusal"
	// FindingUnknownKind: an event of a kind the record registry does not
	// know (something wrote outside the one record schema).
	FindingUnknownKind FindingKind = "unknown_kind"
	// FindingActionTwice: two act records carry the same action id.
	FindingActionTwice FindingKind = "action_recorded_twice"
	// FindingEffectBelowCatalog: a recorded effect is lower, in some
	// dimension, than the catalog's base effect for the action or tool,
	// which the gate never produces (AuditConfig.Catalog must be set).
	FindingEffectBelowCatalog FindingKind = "effect_below_catalog"
)

// Finding is one problem the auditor found.
type Finding struct {
	Seq      uint64      `json:"seq"`
	Kind     FindingKind `json:"kind"`
	ActionID string      `json:"action_id,omitempty"`
	Agent    string      `json:"agent,omitempty"`
	Message  string      `json:"message"`
}

// AgentRisk is the auditor's view of one agent.
type AgentRisk struct {
	Agent     string  `json:"agent"`
	Risk      float64 `json:"risk"`
	Peak      float64 `json:"peak"`
	Decisions int     `json:"decisions"`
	Denied    int     `json:"denied"`
	Deferred  int     `json:"deferred"`
	LastSeq   uint64  `json:"last_seq"`
}

// Report is the result of an audit.
type Report struct {
	FirstSeq             uint64           `json:"first_seq"`
	LastSeq              uint64           `json:"last_seq"`
	Records              int              `json:"records"`
	Decisions            int              `json:"decisions"`
	Amendments           int              `json:"amendments"`
	Refusals             int              `json:"refusals"`
	Actions              int              `json:"actions"`
	ConstitutionHash     string           `json:"constitution_hash,omitempty"`
	ConstitutionRevision uint64           `json:"constitution_revision"`
	Findings             []Finding        `json:"findings"`
	Agents               []AgentRisk      `json:"agents"`
	Sanctions            []SanctionRecord `json:"sanctions"`
	// SanctionsRecorded counts sanctions already on the chain, which are not
	// listed again in Sanctions.
	SanctionsRecorded int `json:"sanctions_recorded"`
}

// OK reports whether the audit found nothing wrong.
func (r *Report) OK() bool { return len(r.Findings) == 0 }

// JSON returns the report as indented JSON.
func (r *Report) JSON() ([]byte, error) { return json.MarshalIndent(r, "", "  ") }

// WriteText prints the report for humans.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "audit of seq %d..%d: %d records, %d decisions, %d refusals, %d amendments, %d actions\n",
		r.FirstSeq, r.LastSeq, r.Records, r.Decisions, r.Refusals, r.Amendments, r.Actions)
	if r.ConstitutionHash != "" {
		fmt.Fprintf(&b, "constitution in force: revision %d, hash %s\n", r.ConstitutionRevision, r.ConstitutionHash)
	}
	if len(r.Findings) == 0 {
		b.WriteString("findings: none\n")
	} else {
		fmt.Fprintf(&b, "findings: %d\n", len(r.Findings))
		for _, f := range r.Findings {
			fmt.Fprintf(&b, "  seq %d  %s", f.Seq, f.Kind)
			if f.ActionID != "" {
				fmt.Fprintf(&b, "  action %s", f.ActionID)
			}
			if f.Agent != "" {
				fmt.Fprintf(&b, "  agent %s", f.Agent)
			}
			fmt.Fprintf(&b, "\n    %s\n", f.Message)
		}
	}
	if len(r.Agents) > 0 {
		b.WriteString("agents:\n")
		fmt.Fprintf(&b, "  %-24s %6s %6s %9s %6s %8s\n", "AGENT", "RISK", "PEAK", "DECISIONS", "DENIED", "DEFERRED")
		for _, a := range r.Agents {
			fmt.Fprintf(&b, "  %-24s %6.3f %6.3f %9d %6d %8d\n", a.Agent, a.Risk, a.Peak, a.Decisions, a.Denied, a.Deferred)
		}
	}
	fmt.Fprintf(&b, "sanctions to apply: %d (already recorded: %d)\n", len(r.Sanctions), r.SanctionsRecorded)
	for _, s := range r.Sanctions {
		fmt.Fprintf(&b, "  %s %s (rule %s, action %s, risk %.3f)\n", s.Sanction, s.Agent, s.RuleID, s.TriggerActionID, s.AgentRisk)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// AuditConfig configures an Auditor.
type AuditConfig struct {
	// Initial is the constitution in force before the first record; nil
	// means the chain must start with an adoption amendment.
	Initial *Constitution
	// Trusted lists the keys allowed to sign amendments (empty: any valid
	// signature is accepted).
	Trusted []ed25519.PublicKey
	// Alpha is the weight of the newest sample in the per-agent
	// exponentially weighted risk (default 0.2).
	Alpha float64
	// Since suppresses findings and sanctions for records with a lower seq;
	// earlier records are still replayed to rebuild the state.
	Since uint64
	// Catalog, if set, is the effect catalog the gate used: recorded effects
	// below its base effects are flagged.
	Catalog *Catalog
	Log     *slog.Logger
}

// Auditor is the Judicial branch: it replays recorded governance events.
type Auditor struct {
	cfg AuditConfig
}

// NewAuditor returns an auditor.
func NewAuditor(cfg AuditConfig) (*Auditor, error) {
	if cfg.Alpha == 0 {
		cfg.Alpha = 0.2
	}
	if !(cfg.Alpha > 0 && cfg.Alpha <= 1) {
		return nil, fmt.Errorf("governance: audit alpha %v outside (0,1]", cfg.Alpha)
	}
	if cfg.Initial != nil && cfg.Initial.byID == nil {
		return nil, ErrNotValidated
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Auditor{cfg: cfg}, nil
}

type auditDecision struct {
	outcome  Outcome
	action   string
	approved bool
	resolved bool
	refused  string // refusal stage, for a refused act
	acted    bool   // an act record already carries this id
}

type auditState struct {
	a         *Auditor
	rep       *Report
	cur       *Constitution
	snaps     map[string]*snapshot
	decisions map[string]*auditDecision
	agents    map[string]*AgentRisk
	firing    map[string]bool
	recorded  map[string]bool
	emitted   []SanctionRecord
	first     bool
}

// Audit replays records in chain order: it keeps the constitution in force
// (applying amendments), recomputes every decision with the rules in force at
// its time, checks that executed actions had a permitting decision, tracks
// each agent's exponentially weighted risk and lists the sanctions that rules
// name. It returns an error only when ctx ends.
func (a *Auditor) Audit(ctx context.Context, records iter.Seq[AuditInput]) (*Report, error) {
	st := &auditState{
		a: a, rep: &Report{Findings: []Finding{}, Agents: []AgentRisk{}, Sanctions: []SanctionRecord{}},
		cur: a.cfg.Initial, snaps: map[string]*snapshot{}, decisions: map[string]*auditDecision{},
		agents: map[string]*AgentRisk{}, firing: map[string]bool{}, recorded: map[string]bool{}, first: true,
	}
	for in := range records {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		st.step(in)
	}
	rep := st.rep
	for _, s := range st.emitted {
		if st.recorded[s.key()] {
			rep.SanctionsRecorded++
			continue
		}
		rep.Sanctions = append(rep.Sanctions, s)
	}
	for _, ag := range st.agents {
		rep.Agents = append(rep.Agents, *ag)
	}
	slices.SortFunc(rep.Agents, func(x, y AgentRisk) int { return strings.Compare(x.Agent, y.Agent) })
	if st.cur != nil {
		rep.ConstitutionHash, rep.ConstitutionRevision = st.cur.HashHex(), st.cur.Revision
	}
	return rep, nil
}

func (st *auditState) find(in AuditInput, kind FindingKind, actionID, agent, format string, args ...any) {
	if in.Seq < st.a.cfg.Since {
		return
	}
	st.rep.Findings = append(st.rep.Findings, Finding{Seq: in.Seq, Kind: kind, ActionID: actionID, Agent: agent, Message: fmt.Sprintf(format, args...)})
}

func (st *auditState) snapshot(env string) (*snapshot, error) {
	if s, ok := st.snaps[env]; ok {
		return s, nil
	}
	s, err := compile(st.cur, env)
	if err != nil {
		return nil, err
	}
	st.snaps[env] = s
	return s, nil
}

func (st *auditState) step(in AuditInput) {
	rep := st.rep
	if rep.Records == 0 {
		rep.FirstSeq = in.Seq
	}
	rep.Records++
	rep.LastSeq = in.Seq
	switch {
	case in.Amendment != nil:
		st.amendment(in)
	case in.Decision != nil:
		st.decision(in)
	case in.Resolution != nil:
		st.resolution(in)
	case in.Sanction != nil:
		st.recorded[in.Sanction.key()] = true
	case in.Refusal != nil:
		st.refusal(in)
	case in.Action != nil:
		st.action(in)
	case in.Unknown:
		st.find(in, FindingUnknownKind, "", "", "event kind %q is not in the record registry", in.Kind)
	}
	st.first = false
}

func (st *auditState) amendment(in AuditInput) {
	st.rep.Amendments++
	rec := in.Amendment
	genesis := st.first && rec.Amendment.Op == AmendAdopt && st.cur == nil
	if !genesis {
		d, ok := st.decisions[rec.ActionID]
		switch {
		case rec.ActionID == "" || !ok:
			st.find(in, FindingBadAmendment, rec.ActionID, "", "amendment %s %q has no recorded decision", rec.Amendment.Op, rec.Amendment.RuleID)
		case d.action != ActionAmend:
			st.find(in, FindingBadAmendment, rec.ActionID, "", "amendment refers to a decision about %q", d.action)
		case !(d.outcome.Allowed() || d.outcome == Defer && d.approved):
			st.find(in, FindingBadAmendment, rec.ActionID, "", "amendment applied although its decision was %s", d.outcome)
		}
	}
	next, err := st.cur.Apply(rec.Amendment, st.a.cfg.Trusted...)
	if err != nil {
		st.find(in, FindingBadAmendment, rec.ActionID, "", "amendment %s %q does not apply: %v", rec.Amendment.Op, rec.Amendment.RuleID, err)
		return
	}
	if next.HashHex() != rec.ResultHash {
		st.find(in, FindingBadAmendment, rec.ActionID, "", "recorded result hash %s, recomputed %s", rec.ResultHash, next.HashHex())
	}
	st.cur = next
	st.snaps = map[string]*snapshot{}
}

func (st *auditState) decision(in AuditInput) {
	st.rep.Decisions++
	rec := in.Decision
	req := rec.Request
	req.Effect = rec.Decision.Effect
	if _, dup := st.decisions[rec.ActionID]; dup {
		st.find(in, FindingDuplicateAction, rec.ActionID, req.Agent, "action id used by an earlier decision")
	}
	st.decisions[rec.ActionID] = &auditDecision{outcome: rec.Decision.Outcome, action: req.Action}
	ag := st.agents[req.Agent]
	if ag == nil {
		ag = &AgentRisk{Agent: req.Agent}
		st.agents[req.Agent] = ag
	}
	ag.Decisions++
	ag.LastSeq = in.Seq
	switch rec.Decision.Outcome {
	case Deny:
		ag.Denied++
	case Defer:
		ag.Deferred++
	}
	alpha := st.a.cfg.Alpha
	ag.Risk = normUnit(alpha*normUnit(req.Effect.Risk) + (1-alpha)*ag.Risk)
	ag.Peak = max(ag.Peak, ag.Risk)
	if cat := st.a.cfg.Catalog; cat != nil {
		floor := cat.ActionEffect(req.Action)
		if t, ok := cat.ToolEffect(req.Context.Tool); ok {
			floor = floor.Max(t)
		}
		for d := Dimension(0); d < numDims; d++ {
			if req.Effect.Get(d) < floor.Get(d) {
				st.find(in, FindingEffectBelowCatalog, rec.ActionID, req.Agent, "recorded %s %v is below the catalog's %v for %s",
					d, req.Effect.Get(d), floor.Get(d), req.Action)
				break
			}
		}
	}
	if st.cur == nil {
		st.find(in, FindingNoConstitution, rec.ActionID, req.Agent, "decision recorded before any constitution was adopted")
		return
	}
	if rec.Decision.ConstitutionHash != st.cur.HashHex() {
		st.find(in, FindingWrongConstitution, rec.ActionID, req.Agent, "decision names constitution %s but revision %d (%s) was in force",
			rec.Decision.ConstitutionHash, st.cur.Revision, st.cur.HashHex())
	}
	snap, err := st.snapshot(rec.Decision.Env)
	if err != nil {
		st.find(in, FindingMismatch, rec.ActionID, req.Agent, "cannot recompute: %v", err)
		return
	}
	want := snap.decide(&req)
	if want.Outcome != rec.Decision.Outcome || !slices.Equal(want.RuleIDs, rec.Decision.RuleIDs) {
		st.find(in, FindingMismatch, rec.ActionID, req.Agent, "recorded %s (rules %s) but the rules in force decide %s (rules %s): %s",
			rec.Decision.Outcome, listOrNone(rec.Decision.RuleIDs), want.Outcome, listOrNone(want.RuleIDs), want.Reason)
	}
	// Sanctions named by the gate rules that matched.
	for _, id := range want.RuleIDs {
		r, _ := st.cur.Rule(id)
		for _, s := range r.Sanctions {
			st.emit(in, SanctionRecord{Agent: req.Agent, PID: req.PID, RuleID: id, Sanction: s, TriggerActionID: rec.ActionID,
				AgentRisk: ag.Risk, Reason: fmt.Sprintf("rule %s matched %s", id, req.Action)})
		}
	}
	// Judicial rules fire when an agent's record crosses their thresholds
	// (edge-triggered). Among those starting to hold on this decision, only
	// the highest severity emits sanctions, as in the gate's precedence.
	mag := req.Effect.Magnitude()
	var rising []*compiledRule
	top := int8(-1)
	for i := range snap.judicial {
		jr := &snap.judicial[i]
		key := req.Agent + "\x00" + jr.id
		on := jr.matches(&req, mag, snap.threshold) && (!jr.hasAgentRisk || ag.Risk >= jr.minAgentRisk)
		if on && !st.firing[key] {
			rising = append(rising, jr)
			top = max(top, jr.sev)
		}
		st.firing[key] = on
	}
	for _, jr := range rising {
		if jr.sev != top {
			continue
		}
		for _, s := range jr.sanctions {
			st.emit(in, SanctionRecord{Agent: req.Agent, PID: req.PID, RuleID: jr.id, Sanction: s, TriggerActionID: rec.ActionID,
				AgentRisk: ag.Risk, Reason: fmt.Sprintf("judicial rule %s: agent risk %.3f", jr.id, ag.Risk)})
		}
	}
}

func (st *auditState) emit(in AuditInput, s SanctionRecord) {
	if in.Seq < st.a.cfg.Since {
		return
	}
	st.emitted = append(st.emitted, s)
}

func listOrNone(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ",")
}

func (st *auditState) resolution(in AuditInput) {
	rec := in.Resolution
	d, ok := st.decisions[rec.ActionID]
	switch {
	case !ok:
		st.find(in, FindingBadResolution, rec.ActionID, "", "resolution for an unknown action")
	case d.outcome != Defer:
		st.find(in, FindingBadResolution, rec.ActionID, "", "resolution for a decision that was %s, not defer", d.outcome)
	case d.resolved:
		st.find(in, FindingBadResolution, rec.ActionID, "", "deferred action resolved twice")
	default:
		d.resolved, d.approved = true, rec.Approved && !rec.Expired
	}
}

func (st *auditState) refusal(in AuditInput) {
	st.rep.Refusals++
	rec := in.Refusal
	if _, dup := st.decisions[rec.ActionID]; dup {
		st.find(in, FindingDuplicateAction, rec.ActionID, rec.Request.Agent, "action id used by an earlier decision or refusal")
		return
	}
	st.decisions[rec.ActionID] = &auditDecision{outcome: Deny, action: rec.Request.Action, refused: rec.Stage}
}

func (st *auditState) action(in AuditInput) {
	st.rep.Actions++
	rec := in.Action
	d, ok := st.decisions[rec.ActionID]
	if ok && d.acted {
		st.find(in, FindingActionTwice, rec.ActionID, rec.Agent, "%s recorded a second time under the same action id", rec.Action)
		return
	}
	if ok {
		d.acted = true
	}
	switch {
	case rec.ActionID == "" || !ok:
		st.find(in, FindingNoDecision, rec.ActionID, rec.Agent, "%s ran without a recorded decision", rec.Action)
	case d.refused != "":
		st.find(in, FindingRanDespiteRefusal, rec.ActionID, rec.Agent, "%s ran although it was refused (%s)", rec.Action, d.refused)
	case d.action != rec.Action:
		st.find(in, FindingActionDiffers, rec.ActionID, rec.Agent, "%s ran under a decision about %s", rec.Action, d.action)
	case d.outcome == Deny:
		st.find(in, FindingRanDespiteDeny, rec.ActionID, rec.Agent, "%s ran although it was denied", rec.Action)
	case d.outcome == Defer && !d.approved:
		st.find(in, FindingRanUnapproved, rec.ActionID, rec.Agent, "%s was deferred and ran without approval", rec.Action)
	}
}
