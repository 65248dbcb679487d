package apitype

import "github.com/weftos/weftos/internal/governance"

// RulesResponse answers GET /v1/gov/rules.
type RulesResponse struct {
	Name         string                  `json:"name"`
	Hash         string                  `json:"hash"`
	Revision     uint64                  `json:"revision"`
	Environment  string                  `json:"environment"`
	Environments governance.Environments `json:"environments"`
	Rules        []governance.Rule       `json:"rules"`
	Invalid      string                  `json:"invalid,omitempty"`
}

// CheckRequest is the body of POST /v1/gov/check (a dry run).
type CheckRequest struct {
	Request governance.Request `json:"request"`
	Env     string             `json:"env,omitempty"`
}

// Decision answers POST /v1/gov/check.
type Decision = governance.Decision

// EnvRequest is the body of POST /v1/gov/env.
type EnvRequest struct {
	Env string `json:"env"` // dev, staging or prod
}

// EnvResponse answers GET and POST /v1/gov/env.
type EnvResponse struct {
	Environment string  `json:"environment"`
	Threshold   float64 `json:"threshold"`
}

// AmendRequest is the body of POST /v1/gov/amend and /v1/gov/retire.
type AmendRequest struct {
	Text   string `json:"text,omitempty"`    // a [[rule]] TOML table, for amend
	RuleID string `json:"rule_id,omitempty"` // for retire
}

// AmendResponse answers an amendment.
type AmendResponse struct {
	ActionID  string               `json:"action_id"`
	Amendment governance.Amendment `json:"amendment"`
	Hash      string               `json:"constitution_hash"`
	Revision  uint64               `json:"revision"`
}

// PendingItem is one act waiting for a human: GET /v1/gov/pending.
type PendingItem = governance.PendingItem

// ResolveRequest is the body of POST /v1/gov/pending/{id}/approve|reject.
type ResolveRequest struct {
	By     string `json:"by,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// ResolveResponse answers an approval or a rejection.
type ResolveResponse struct {
	ID       string `json:"id"`
	Resolved string `json:"resolved"` // approve or reject
}

// AuditReport answers GET /v1/gov/audit?since=.
type AuditReport = governance.Report
