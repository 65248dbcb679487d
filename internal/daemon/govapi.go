package daemon

import (
	"fmt"
	"os"
	"regexp"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/durable"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/localapi"
)

// Wire types of the governance endpoints (internal/apitype).
type (
	RulesResponse  = apitype.RulesResponse
	CheckRequest   = apitype.CheckRequest
	AmendRequest   = apitype.AmendRequest
	AmendResponse  = apitype.AmendResponse
	ResolveRequest = apitype.ResolveRequest
)

func (g *gov) routes() []localapi.Route {
	return []localapi.Route{
		{Pattern: "GET /v1/gov/rules", Handler: g.handleRules},
		{Pattern: "POST /v1/gov/check", Handler: g.handleCheck},
		{Pattern: "GET /v1/gov/env", Handler: g.handleEnv},
		{Pattern: "POST /v1/gov/env", Handler: g.handleSetEnv},
		{Pattern: "POST /v1/gov/amend", Handler: g.handleAmend},
		{Pattern: "POST /v1/gov/retire", Handler: g.handleAmend},
		{Pattern: "GET /v1/gov/pending", Handler: g.handlePending},
		{Pattern: "POST /v1/gov/pending/{id}/{verdict}", Handler: g.handleResolve},
	}
}

func (g *gov) handleRules(w http.ResponseWriter, r *http.Request) {
	c := g.engine.Constitution()
	localapi.WriteJSON(w, RulesResponse{Name: c.Name, Hash: c.HashHex(), Revision: c.Revision, Environment: g.engine.Env(),
		Environments: c.Environments, Rules: c.Rules, Invalid: g.invalidReason()})
}

func (g *gov) handleCheck(w http.ResponseWriter, r *http.Request) {
	var req CheckRequest
	if !localapi.DecodeBody(w, r, &req) {
		return
	}
	if err := req.Request.Effect.Validate(); err != nil {
		localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", err.Error())
		return
	}
	d, err := g.gate.Preview(&req.Request, req.Env)
	if err != nil {
		localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", err.Error())
		return
	}
	localapi.WriteJSON(w, d)
}

func (g *gov) handleEnv(w http.ResponseWriter, r *http.Request) {
	c := g.engine.Constitution()
	th, _ := c.Environments.Threshold(g.engine.Env())
	localapi.WriteJSON(w, apitype.EnvResponse{Environment: g.engine.Env(), Threshold: th})
}

var envLine = regexp.MustCompile(`(?m)^(\s*environment\s*=\s*)"[a-z]*"`)

// handleSetEnv switches the environment: a governed action
// (constitution.env), recorded on the chain and written to weftos.toml so
// it survives a restart.
func (g *gov) handleSetEnv(w http.ResponseWriter, r *http.Request) {
	var body apitype.EnvRequest
	if !localapi.DecodeBody(w, r, &body) {
		return
	}
	switch body.Env {
	case "dev", "staging", "prod":
	default:
		localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("environment %q is not dev, staging or prod", body.Env))
		return
	}
	from := g.engine.Env()
	pm, err := g.d.auth.Authorize(r.Context(), authority.Act{Action: "constitution.env", Subject: operator(),
		Context: governance.Context{Extra: map[string]string{"from": from, "to": body.Env}}})
	if err != nil {
		g.d.fail(w, err)
		return
	}
	// The switch is recorded before it takes effect.
	if _, err := g.d.auth.Record(r.Context(), "governance", governance.KindEnvironment,
		governance.EnvironmentRecord{ActionID: pm.ActionID(), From: from, Environment: body.Env}); err != nil {
		g.d.fail(w, err)
		return
	}
	_ = pm.Done(r.Context(), nil, nil)
	if err := g.engine.SetEnv(body.Env); err != nil {
		localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", err.Error())
		return
	}
	data, err := os.ReadFile(g.d.cfgPath)
	if err == nil {
		if envLine.Match(data) {
			data = envLine.ReplaceAll(data, []byte(`${1}"`+body.Env+`"`))
		} else {
			data = append(data, []byte("\n[governance]\nenvironment = \""+body.Env+"\"\n")...)
		}
		err = durable.WriteFile(g.d.cfgPath, data)
	}
	if err != nil {
		g.d.log.Error("environment switched but not saved to the config file", "err", err)
	}
	g.d.cfg.Governance.Environment = body.Env
	g.handleEnv(w, r)
}

// handleAmend adds, modifies (amend) or retires a rule: the amendment is
// signed by the node key, decided by the gate as action
// constitution.amend, durably recorded on the chain with the rule text and
// its hash, then put in force and saved to constitution.toml.
func (g *gov) handleAmend(w http.ResponseWriter, r *http.Request) {
	var body AmendRequest
	if !localapi.DecodeBody(w, r, &body) {
		return
	}
	// In a cluster the amendment commits through the replicated log, whose
	// application on this node takes amendMu: it is not held here.
	clustered := g.d.inConsensus()
	if !clustered {
		g.amendMu.Lock()
		defer g.amendMu.Unlock()
	}
	base := g.engine.Constitution()
	var a governance.Amendment
	var err error
	if r.URL.Path == "/v1/gov/retire" {
		a, err = governance.NewRetirement(base, body.RuleID)
	} else {
		a, err = governance.NewRuleAmendmentFromText(base, "rule.toml", []byte(body.Text))
	}
	if err != nil {
		localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", err.Error())
		return
	}
	if err := a.Sign(g.d.id.Ed25519); err != nil {
		g.d.fail(w, err)
		return
	}
	req := a.Request("operator", operator().Caps)
	pm, err := g.d.auth.Authorize(r.Context(), authority.Act{Action: req.Action, Subject: operator(), Context: req.Context})
	if err != nil {
		g.d.fail(w, err)
		return
	}
	// While waiting for approval another amendment may have landed.
	if cur := g.engine.Constitution(); cur.HashHex() != base.HashHex() {
		err := fmt.Errorf("%w: the constitution changed while this amendment waited; amend again", authority.ErrConflict)
		_ = pm.Done(r.Context(), nil, err)
		localapi.WriteError(w, http.StatusConflict, apitype.CodeStaleAmendment, err.Error())
		return
	}
	var next *governance.Constitution
	if clustered {
		next, err = g.d.commitAmendment(r.Context(), pm.ActionID(), a)
	} else {
		next, err = g.apply(r.Context(), pm.ActionID(), a, base)
	}
	_ = pm.Done(r.Context(), nil, err)
	if err != nil {
		g.d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, AmendResponse{ActionID: pm.ActionID(), Amendment: a, Hash: next.HashHex(), Revision: next.Revision})
}

func (g *gov) handlePending(w http.ResponseWriter, r *http.Request) {
	localapi.WriteJSON(w, g.pending.List())
}

func (g *gov) handleResolve(w http.ResponseWriter, r *http.Request) {
	var body ResolveRequest
	if r.ContentLength != 0 && !localapi.DecodeBody(w, r, &body) {
		return
	}
	if body.By == "" {
		body.By = "operator"
	}
	id := r.PathValue("id")
	var err error
	switch r.PathValue("verdict") {
	case "approve":
		err = g.pending.Approve(id, body.By)
	case "reject":
		err = g.pending.Reject(id, body.By, body.Reason)
	default:
		localapi.WriteError(w, http.StatusNotFound, "invalid_argument", "want approve or reject")
		return
	}
	if err != nil {
		g.d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, apitype.ResolveResponse{ID: id, Resolved: r.PathValue("verdict")})
}
