package governance

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// Outcome is the gate's decision.
type Outcome uint8

// Decisions, from least to most restrictive.
const (
	Permit Outcome = iota
	PermitWithWarning
	Defer
	Deny
)

var outcomeNames = [...]string{"permit", "permit_with_warning", "defer", "deny"}

// String returns "permit", "permit_with_warning", "defer" or "deny".
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// Allowed reports whether the action may proceed now (Permit or
// PermitWithWarning).
func (o Outcome) Allowed() bool { return o == Permit || o == PermitWithWarning }

// MarshalText implements encoding.TextMarshaler.
func (o Outcome) MarshalText() ([]byte, error) {
	if int(o) >= len(outcomeNames) {
		return nil, fmt.Errorf("governance: invalid outcome %d", uint8(o))
	}
	return []byte(outcomeNames[o]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (o *Outcome) UnmarshalText(b []byte) error {
	for i, n := range outcomeNames {
		if string(b) == n {
			*o = Outcome(i)
			return nil
		}
	}
	return fmt.Errorf("governance: unknown outcome %q", b)
}

// Context carries the fields of an action's context that conditions can
// match. Extra holds any other key/value pairs (matched by the "context"
// condition).
type Context struct {
	Path  string            `json:"path,omitempty"`
	Host  string            `json:"host,omitempty"`
	Tool  string            `json:"tool,omitempty"`
	Model string            `json:"model,omitempty"`
	Extra map[string]string `json:"extra,omitempty"`
}

// Request describes a privileged operation about to happen.
type Request struct {
	Action       string   `json:"action"`
	Process      string   `json:"process,omitempty"`
	Agent        string   `json:"agent,omitempty"`
	App          string   `json:"app,omitempty"`
	PID          uint64   `json:"pid,omitempty"`
	Capabilities []string `json:"capabilities,omitempty"`
	Context      Context  `json:"context"`
	Effect       Effect   `json:"effect"`
}

// Decision is the gate's answer for one request.
type Decision struct {
	Outcome Outcome `json:"outcome"`
	// RuleIDs lists every rule that matched, in constitution order. The
	// slice may be shared with the engine: do not modify it.
	RuleIDs   []string `json:"rule_ids,omitempty"`
	Effect    Effect   `json:"effect"`
	Magnitude float64  `json:"magnitude"`
	Reason    string   `json:"reason"`
	Env       string   `json:"env"`
	// Threshold is the magnitude threshold of Env.
	Threshold            float64 `json:"threshold"`
	ConstitutionHash     string  `json:"constitution_hash"`
	ConstitutionRevision uint64  `json:"constitution_revision"`
}

// Reasons used when no deciding rule matched.
const (
	ReasonNoRule         = "no rule matched and the effect magnitude is within the environment threshold"
	ReasonOverThreshold  = "no deciding rule matched but the effect magnitude is above the environment threshold: a human must decide"
	ReasonAdvisoryOnly   = "only advisory or lower-severity rules objected"
	ReasonNilRequest     = "no request given"
	reasonOverridePrefix = "; overridden lower-severity objections: "
)

// ErrNotValidated is returned when a Constitution was not built by Parse,
// New, DefaultConstitution or Apply.
var ErrNotValidated = errors.New("governance: constitution was not validated (build it with Parse, New or Apply)")

// Engine is the Executive gate's decision procedure: a constitution compiled
// for one environment. Decide is safe for concurrent use, including while
// SetConstitution or SetEnv swap in a new compiled snapshot.
type Engine struct {
	mu   sync.Mutex // serialises updates
	snap atomic.Pointer[snapshot]
}

// NewEngine compiles c for env (dev, staging or prod).
func NewEngine(c *Constitution, env string) (*Engine, error) {
	s, err := compile(c, env)
	if err != nil {
		return nil, err
	}
	e := &Engine{}
	e.snap.Store(s)
	return e, nil
}

// Decide evaluates req against the rules in force, using req.Effect as the
// effect vector (see Gate.Check for catalog assessment).
//
// Semantics: every executive and legislative rule whose conditions all hold
// matches. Among matched rules of severity warning, blocking or critical,
// only those of the highest severity decide, and among them the most
// restrictive outcome wins (deny > defer > warn > permit). Advisory rules
// never decide; their outcome counts as warn. If the result is Permit but
// any other matched rule asked for more than permit, the result is
// PermitWithWarning. If no deciding rule matched, the result is Permit when
// the effect magnitude is at most the environment threshold and Defer when it
// is above (a human decides), upgraded to PermitWithWarning by any matched
// advisory objection when permitted.
//
// Decide does not allocate when no rule matches or exactly one rule matches.
func (e *Engine) Decide(req *Request) Decision {
	s := e.snap.Load()
	if req == nil {
		return Decision{Outcome: Deny, Reason: ReasonNilRequest, Env: s.env, Threshold: s.threshold,
			ConstitutionHash: s.c.hashHex, ConstitutionRevision: s.c.Revision}
	}
	return s.decide(req)
}

// Constitution returns the constitution in force.
func (e *Engine) Constitution() *Constitution { return e.snap.Load().c }

// Env returns the environment the engine decides for.
func (e *Engine) Env() string { return e.snap.Load().env }

// SetConstitution compiles c for the current environment and swaps it in.
func (e *Engine) SetConstitution(c *Constitution) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, err := compile(c, e.snap.Load().env)
	if err != nil {
		return err
	}
	e.snap.Store(s)
	return nil
}

// SetEnv recompiles the constitution in force for env and swaps it in.
func (e *Engine) SetEnv(env string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, err := compile(e.snap.Load().c, env)
	if err != nil {
		return err
	}
	e.snap.Store(s)
	return nil
}

type ctxCond struct {
	key   string
	globs globList
}

type compiledRule struct {
	idx     int32
	id      string
	ids1    []string
	sev     int8
	outcome Outcome // effective outcome: advisory rules are capped at warn
	decides bool
	reason  string

	actions, processes, agents, apps globList
	paths, hosts, tools, models      globList
	caps, without                    []string
	ctx                              []ctxCond

	minMask   uint8 // bit d set: mins[d] applies
	mins      [numDims]float64
	hasMinMag bool
	minMag    float64
	overEnv   bool

	hasAgentRisk bool
	minAgentRisk float64
	sanctions    []Sanction
}

// snapshot is an immutable compiled constitution for one environment.
type snapshot struct {
	c         *Constitution
	env       string
	threshold float64
	rules     []compiledRule // gate rules (executive, legislative)
	judicial  []compiledRule
	exact     map[string]*bucket // literal action → rules
	prefix    map[string]*bucket // action prefix ending in '.' (or "") → rules
}

func compile(c *Constitution, env string) (*snapshot, error) {
	if c == nil || c.byID == nil {
		return nil, ErrNotValidated
	}
	th, err := c.Environments.Threshold(env)
	if err != nil {
		return nil, err
	}
	s := &snapshot{c: c, env: env, threshold: th, exact: map[string]*bucket{}, prefix: map[string]*bucket{}}
	exact, prefix := map[string][]int32{}, map[string][]int32{}
	for i := range c.Rules {
		r := &c.Rules[i]
		if len(r.When.Envs) > 0 && !containsString(r.When.Envs, env) {
			continue
		}
		cr, err := compileRule(r, int32(i))
		if err != nil {
			return nil, fmt.Errorf("governance: rule %q: %w", r.ID, err)
		}
		if r.Branch == Judicial {
			s.judicial = append(s.judicial, cr)
			continue
		}
		k := int32(len(s.rules))
		s.rules = append(s.rules, cr)
		if len(cr.actions.pos) == 0 {
			prefix[""] = append(prefix[""], k)
			continue
		}
		for _, g := range cr.actions.pos {
			lit, literal := literalPrefix(g.pat)
			if literal {
				exact[lit] = appendUnique(exact[lit], k)
				continue
			}
			b := lit[:strings.LastIndexByte(lit, '.')+1]
			prefix[b] = appendUnique(prefix[b], k)
		}
	}
	for a, l := range exact {
		s.exact[a] = buildBucket(s.rules, l)
	}
	for p, l := range prefix {
		s.prefix[p] = buildBucket(s.rules, l)
	}
	return s, nil
}

func appendUnique(s []int32, v int32) []int32 {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

func containsString(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func compileRule(r *Rule, idx int32) (compiledRule, error) {
	cr := compiledRule{
		idx: idx, id: r.ID, ids1: []string{r.ID}, sev: int8(r.Severity.rank()),
		outcome: r.Outcome.decision(), decides: r.Severity != Advisory,
		caps: r.When.Capabilities, without: r.When.WithoutCapabilities,
		overEnv: r.When.OverEnvThreshold, sanctions: r.Sanctions,
	}
	if r.Severity == Advisory && cr.outcome > PermitWithWarning {
		cr.outcome = PermitWithWarning
	}
	cr.reason = fmt.Sprintf("rule %s (%s %s)", r.ID, r.Severity, r.Outcome)
	if r.Description != "" {
		cr.reason += ": " + r.Description
	}
	hosts := make([]string, len(r.When.Hosts))
	for i, h := range r.When.Hosts {
		hosts[i] = strings.ToLower(h)
	}
	var err error
	for _, l := range []struct {
		dst  *globList
		pats []string
	}{
		{&cr.actions, r.When.Actions}, {&cr.processes, r.When.Processes}, {&cr.agents, r.When.Agents},
		{&cr.apps, r.When.Apps}, {&cr.paths, r.When.Paths}, {&cr.hosts, hosts},
		{&cr.tools, r.When.Tools}, {&cr.models, r.When.Models},
	} {
		if *l.dst, err = compileGlobList(l.pats); err != nil {
			return cr, err
		}
	}
	for _, k := range sortedKeys(r.When.Context) {
		gl, err := compileGlobList(r.When.Context[k])
		if err != nil {
			return cr, err
		}
		cr.ctx = append(cr.ctx, ctxCond{key: k, globs: gl})
	}
	for d, p := range []*float64{r.When.MinRisk, r.When.MinFairness, r.When.MinPrivacy, r.When.MinNovelty, r.When.MinSecurity} {
		if p != nil {
			cr.minMask |= 1 << d
			cr.mins[d] = *p
		}
	}
	if r.When.MinMagnitude != nil {
		cr.hasMinMag, cr.minMag = true, *r.When.MinMagnitude
	}
	if r.When.MinAgentRisk != nil {
		cr.hasAgentRisk, cr.minAgentRisk = true, *r.When.MinAgentRisk
	}
	return cr, nil
}

// matches evaluates every condition except the environment (applied at
// compile time) and the agent risk (judicial, see matchesAgentRisk).
func (r *compiledRule) matches(req *Request, mag, threshold float64) bool {
	if !r.actions.empty() && !r.actions.match(req.Action) {
		return false
	}
	if !r.agents.empty() && !r.agents.match(req.Agent) {
		return false
	}
	if !r.processes.empty() && !r.processes.match(req.Process) {
		return false
	}
	if !r.apps.empty() && !r.apps.match(req.App) {
		return false
	}
	for _, c := range r.caps {
		if !containsString(req.Capabilities, c) {
			return false
		}
	}
	if len(r.without) > 0 {
		missing := false
		for _, c := range r.without {
			if !containsString(req.Capabilities, c) {
				missing = true
				break
			}
		}
		if !missing {
			return false
		}
	}
	if r.minMask != 0 {
		for d := Dimension(0); d < numDims; d++ {
			if r.minMask&(1<<d) != 0 && !(req.Effect.Get(d) >= r.mins[d]) {
				return false
			}
		}
	}
	if r.hasMinMag && !(mag >= r.minMag) {
		return false
	}
	if r.overEnv && !(mag > threshold) {
		return false
	}
	if !r.paths.empty() && !r.paths.match(req.Context.Path) {
		return false
	}
	if !r.hosts.empty() && !r.hosts.match(strings.ToLower(req.Context.Host)) {
		return false
	}
	if !r.tools.empty() && !r.tools.match(req.Context.Tool) {
		return false
	}
	if !r.models.empty() && !r.models.match(req.Context.Model) {
		return false
	}
	for i := range r.ctx {
		if !r.ctx[i].globs.match(req.Context.Extra[r.ctx[i].key]) {
			return false
		}
	}
	return true
}

func (s *snapshot) collect(matched []int32, list []int32, req *Request, mag float64) []int32 {
	for _, k := range list {
		if containsInt32(matched, k) {
			continue
		}
		if s.rules[k].matches(req, mag, s.threshold) {
			matched = append(matched, k)
		}
	}
	return matched
}

func containsInt32(s []int32, v int32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func (s *snapshot) decide(req *Request) Decision {
	mag := req.Effect.Magnitude()
	var buf [16]int32
	matched := buf[:0]
	a := req.Action
	host := lowerHost(req.Context.Host)
	matched = s.collectBucket(matched, s.exact[a], req, mag, host)
	matched = s.collectBucket(matched, s.prefix[""], req, mag, host)
	for i := 0; i < len(a); i++ {
		if a[i] == '.' {
			matched = s.collectBucket(matched, s.prefix[a[:i+1]], req, mag, host)
		}
	}
	d := Decision{
		Effect: req.Effect, Magnitude: mag, Env: s.env, Threshold: s.threshold,
		ConstitutionHash: s.c.hashHex, ConstitutionRevision: s.c.Revision,
	}
	if len(matched) == 0 {
		if mag > s.threshold {
			d.Outcome, d.Reason = Defer, ReasonOverThreshold
		} else {
			d.Outcome, d.Reason = Permit, ReasonNoRule
		}
		return d
	}
	// Constitution order (insertion sort: the list is short).
	for i := 1; i < len(matched); i++ {
		for j := i; j > 0 && matched[j] < matched[j-1]; j-- {
			matched[j], matched[j-1] = matched[j-1], matched[j]
		}
	}
	top := int8(-1)
	for _, k := range matched {
		if r := &s.rules[k]; r.decides && r.sev > top {
			top = r.sev
		}
	}
	var decisive, objections int
	var firstDecisive = int32(-1)
	var final Outcome
	if top < 0 {
		final = Permit
		if mag > s.threshold {
			final = Defer
		}
	}
	for _, k := range matched {
		r := &s.rules[k]
		if r.decides && r.sev == top {
			if decisive == 0 || r.outcome > final {
				final, firstDecisive = r.outcome, k
			}
			decisive++
		}
	}
	for _, k := range matched {
		r := &s.rules[k]
		if (!r.decides || r.sev != top) && r.outcome > Permit {
			objections++
		}
	}
	if final == Permit && objections > 0 {
		final = PermitWithWarning
	}
	d.Outcome = final
	if len(matched) == 1 {
		d.RuleIDs = s.rules[matched[0]].ids1
		if firstDecisive >= 0 {
			d.Reason = s.rules[firstDecisive].reason
		} else if top < 0 && mag > s.threshold {
			d.Reason = ReasonOverThreshold
		} else {
			d.Reason = s.rules[matched[0]].reason
		}
		return d
	}
	d.RuleIDs = make([]string, len(matched))
	for i, k := range matched {
		d.RuleIDs[i] = s.rules[k].id
	}
	d.Reason = s.explain(matched, top, final, mag)
	return d
}

// explain builds the reason for a decision involving several rules: the
// decisive rules first, then the overridden or advisory objections.
func (s *snapshot) explain(matched []int32, top int8, final Outcome, mag float64) string {
	var b strings.Builder
	if top < 0 {
		if mag > s.threshold {
			b.WriteString(ReasonOverThreshold)
		} else {
			b.WriteString(ReasonAdvisoryOnly)
		}
	} else {
		n := 0
		for _, k := range matched {
			r := &s.rules[k]
			if r.decides && r.sev == top && r.outcome == final {
				if n > 0 {
					b.WriteString("; ")
				}
				b.WriteString(r.reason)
				n++
			}
		}
		if n == 0 { // permit upgraded to warning
			for _, k := range matched {
				r := &s.rules[k]
				if r.decides && r.sev == top {
					if n > 0 {
						b.WriteString("; ")
					}
					b.WriteString(r.reason)
					n++
				}
			}
		}
	}
	first := true
	for _, k := range matched {
		r := &s.rules[k]
		if (!r.decides || r.sev != top) && r.outcome > Permit {
			if first {
				b.WriteString(reasonOverridePrefix)
				first = false
			} else {
				b.WriteString(", ")
			}
			b.WriteString(r.id)
		}
	}
	return b.String()
}
