package governance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Chain event kinds of the records below. Executed actions are recorded
// under their own kinds (for example "tool.call") with an ActionRecord
// payload.
const (
	KindDecision   = "governance.decision"
	KindAmendment  = "governance.amendment"
	KindResolution = "governance.resolution"
	KindSanction   = "governance.sanction"
	KindToolCall   = "tool.call"
)

// DecisionRecord is the payload of a governance.decision event: the request
// as the caller made it, the decision (whose Effect is the assessed vector
// the rules saw) and the action id that later records refer to.
type DecisionRecord struct {
	ActionID string   `json:"action_id"`
	Request  Request  `json:"request"`
	Decision Decision `json:"decision"`
}

// AmendmentRecord is the payload of a governance.amendment event. ActionID
// refers to the decision that allowed the amendment (empty only for the
// genesis adoption); ResultHash and ResultRevision describe the constitution
// in force after it.
type AmendmentRecord struct {
	ActionID       string    `json:"action_id,omitempty"`
	Amendment      Amendment `json:"amendment"`
	ResultHash     string    `json:"result_hash"`
	ResultRevision uint64    `json:"result_revision"`
}

// ResolutionRecord is the payload of a governance.resolution event: a human
// (or the deadline) resolved a deferred action.
type ResolutionRecord struct {
	ActionID string `json:"action_id"`
	Approved bool   `json:"approved"`
	Expired  bool   `json:"expired,omitempty"`
	By       string `json:"by,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// SanctionRecord is the payload of a governance.sanction event, and what the
// auditor asks the daemon to apply.
type SanctionRecord struct {
	Agent           string   `json:"agent"`
	PID             uint64   `json:"pid,omitempty"`
	RuleID          string   `json:"rule_id"`
	Sanction        Sanction `json:"sanction"`
	Reason          string   `json:"reason"`
	TriggerActionID string   `json:"trigger_action_id"`
	AgentRisk       float64  `json:"agent_risk"`
}

func (s *SanctionRecord) key() string {
	return s.Agent + "\x00" + s.RuleID + "\x00" + s.Sanction.String() + "\x00" + s.TriggerActionID
}

// ActionRecord is the governance view of an executed privileged action
// (payload of "tool.call" and similar events): which decision allowed it.
// Other fields of the payload are ignored.
type ActionRecord struct {
	ActionID string `json:"action_id"`
	Action   string `json:"action"`
	Agent    string `json:"agent,omitempty"`
	PID      uint64 `json:"pid,omitempty"`
}

// AuditInput is one chain event as the auditor sees it: exactly one of the
// record pointers is set.
type AuditInput struct {
	Seq        uint64
	Kind       string
	Decision   *DecisionRecord
	Amendment  *AmendmentRecord
	Resolution *ResolutionRecord
	Sanction   *SanctionRecord
	Action     *ActionRecord
}

// ErrBadRecord is wrapped by DecodeAuditInput errors.
var ErrBadRecord = errors.New("governance: malformed record")

// DecodeAuditInput decodes a chain event payload. governance.* kinds are
// decoded strictly (unknown fields are an error: records are written by this
// package); any other kind is read as an ActionRecord and must carry an
// "action" field.
func DecodeAuditInput(seq uint64, kind string, payload []byte) (AuditInput, error) {
	in := AuditInput{Seq: seq, Kind: kind}
	var target any
	strict := true
	switch kind {
	case KindDecision:
		in.Decision = &DecisionRecord{}
		target = in.Decision
	case KindAmendment:
		in.Amendment = &AmendmentRecord{}
		target = in.Amendment
	case KindResolution:
		in.Resolution = &ResolutionRecord{}
		target = in.Resolution
	case KindSanction:
		in.Sanction = &SanctionRecord{}
		target = in.Sanction
	default:
		in.Action = &ActionRecord{}
		target = in.Action
		strict = false
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(target); err != nil {
		return AuditInput{}, fmt.Errorf("%w: seq %d kind %s: %w", ErrBadRecord, seq, kind, err)
	}
	if dec.More() {
		return AuditInput{}, fmt.Errorf("%w: seq %d kind %s: trailing data", ErrBadRecord, seq, kind)
	}
	switch {
	case in.Action != nil && in.Action.Action == "":
		return AuditInput{}, fmt.Errorf("%w: seq %d kind %s: missing action", ErrBadRecord, seq, kind)
	case in.Decision != nil && in.Decision.ActionID == "":
		return AuditInput{}, fmt.Errorf("%w: seq %d: decision without action_id", ErrBadRecord, seq)
	case in.Resolution != nil && in.Resolution.ActionID == "":
		return AuditInput{}, fmt.Errorf("%w: seq %d: resolution without action_id", ErrBadRecord, seq)
	}
	return in, nil
}
