package governance

import (
	"crypto/sha3"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Branch is the branch of government a rule belongs to. It decides who
// evaluates the rule: executive rules are evaluated by the gate for every
// privileged operation; legislative rules are evaluated by the gate too but
// may only govern the constitution itself (actions "constitution.*");
// judicial rules are evaluated by the auditor while it replays the chain and
// name the sanctions to apply when an agent's record crosses their
// thresholds.
type Branch string

// The three branches.
const (
	Legislative Branch = "legislative"
	Executive   Branch = "executive"
	Judicial    Branch = "judicial"
)

// Severity ranks a rule. When several rules match, only those of the highest
// severity decide (see Engine.Decide); advisory rules never decide and only
// add warnings.
type Severity string

// The four severities, from lowest to highest.
const (
	Advisory Severity = "advisory"
	Warning  Severity = "warning"
	Blocking Severity = "blocking"
	Critical Severity = "critical"
)

func (s Severity) rank() int {
	switch s {
	case Advisory:
		return 0
	case Warning:
		return 1
	case Blocking:
		return 2
	case Critical:
		return 3
	}
	return -1
}

// RuleOutcome is what a matching rule asks for.
type RuleOutcome string

// Rule outcomes, from least to most restrictive.
const (
	RulePermit RuleOutcome = "permit"
	RuleWarn   RuleOutcome = "warn"
	RuleDefer  RuleOutcome = "defer"
	RuleDeny   RuleOutcome = "deny"
)

func (o RuleOutcome) decision() Outcome {
	switch o {
	case RulePermit:
		return Permit
	case RuleWarn:
		return PermitWithWarning
	case RuleDefer:
		return Defer
	}
	return Deny
}

// Environment names accepted in the constitution and in conditions.
const (
	EnvDev     = "dev"
	EnvStaging = "staging"
	EnvProd    = "prod"
)

// Default magnitude thresholds of the three environments.
const (
	DefaultDevThreshold     = 0.9
	DefaultStagingThreshold = 0.6
	DefaultProdThreshold    = 0.3
)

// Environments holds the magnitude threshold of each environment: an action
// whose effect magnitude is strictly above the threshold of the environment
// the node runs in is "over threshold" (see Conditions.OverEnvThreshold and
// the default outcome in Engine.Decide).
type Environments struct {
	Dev     float64 `json:"dev"`
	Staging float64 `json:"staging"`
	Prod    float64 `json:"prod"`
}

// DefaultEnvironments returns the default thresholds 0.9 / 0.6 / 0.3.
func DefaultEnvironments() Environments {
	return Environments{Dev: DefaultDevThreshold, Staging: DefaultStagingThreshold, Prod: DefaultProdThreshold}
}

// ErrUnknownEnv is returned for an environment other than dev, staging, prod.
var ErrUnknownEnv = errors.New("governance: unknown environment")

// Threshold returns the magnitude threshold of env.
func (e Environments) Threshold(env string) (float64, error) {
	switch env {
	case EnvDev:
		return e.Dev, nil
	case EnvStaging:
		return e.Staging, nil
	case EnvProd:
		return e.Prod, nil
	}
	return 0, fmt.Errorf("%w: %q (want dev, staging or prod)", ErrUnknownEnv, env)
}

// ValidEnv reports whether env is dev, staging or prod.
func ValidEnv(env string) bool {
	return env == EnvDev || env == EnvStaging || env == EnvProd
}

// Conditions are the "when" part of a rule. All set conditions must hold for
// the rule to match (logical AND); within a list, any element may match
// (logical OR), and glob elements starting with '!' exclude. An empty
// condition set matches every request.
type Conditions struct {
	Actions   []string `json:"actions,omitempty"`   // globs over Request.Action
	Processes []string `json:"processes,omitempty"` // globs over Request.Process
	Agents    []string `json:"agents,omitempty"`    // globs over Request.Agent
	Apps      []string `json:"apps,omitempty"`      // globs over Request.App

	Capabilities        []string `json:"capabilities,omitempty"`         // the request must hold all of these
	WithoutCapabilities []string `json:"without_capabilities,omitempty"` // the request must lack at least one of these

	Envs []string `json:"envs,omitempty"` // environments in which the rule applies

	Paths   []string            `json:"paths,omitempty"`   // globs over Context.Path
	Hosts   []string            `json:"hosts,omitempty"`   // globs over Context.Host (lower-case)
	Tools   []string            `json:"tools,omitempty"`   // globs over Context.Tool
	Models  []string            `json:"models,omitempty"`  // globs over Context.Model
	Context map[string][]string `json:"context,omitempty"` // key → globs over Context.Extra[key]

	// Thresholds: the effect component (or magnitude) must be >= the value.
	MinRisk      *float64 `json:"min_risk,omitempty"`
	MinFairness  *float64 `json:"min_fairness,omitempty"`
	MinPrivacy   *float64 `json:"min_privacy,omitempty"`
	MinNovelty   *float64 `json:"min_novelty,omitempty"`
	MinSecurity  *float64 `json:"min_security,omitempty"`
	MinMagnitude *float64 `json:"min_magnitude,omitempty"`

	// OverEnvThreshold requires the effect magnitude to be strictly above
	// the magnitude threshold of the environment the node runs in.
	OverEnvThreshold bool `json:"over_env_threshold,omitempty"`

	// MinAgentRisk (judicial rules only) requires the acting agent's
	// exponentially weighted risk, as kept by the auditor, to be >= value.
	MinAgentRisk *float64 `json:"min_agent_risk,omitempty"`
}

// Sanction is a consequence a rule names: warn the agent, suspend the
// process, or revoke one capability.
type Sanction struct {
	Kind       SanctionKind `json:"kind"`
	Capability string       `json:"capability,omitempty"`
}

// SanctionKind is warn, suspend or revoke.
type SanctionKind string

// Sanction kinds.
const (
	SanctionWarn    SanctionKind = "warn"
	SanctionSuspend SanctionKind = "suspend"
	SanctionRevoke  SanctionKind = "revoke"
)

// String returns the constitution spelling: "warn", "suspend" or
// "revoke:<capability>".
func (s Sanction) String() string {
	if s.Kind == SanctionRevoke {
		return "revoke:" + s.Capability
	}
	return string(s.Kind)
}

// ParseSanction parses "warn", "suspend" or "revoke:<capability>".
func ParseSanction(s string) (Sanction, error) {
	switch {
	case s == string(SanctionWarn):
		return Sanction{Kind: SanctionWarn}, nil
	case s == string(SanctionSuspend):
		return Sanction{Kind: SanctionSuspend}, nil
	case strings.HasPrefix(s, "revoke:"):
		c := s[len("revoke:"):]
		if c == "" || strings.ContainsAny(c, " \t\n\r\"") {
			return Sanction{}, fmt.Errorf("revoke needs a capability name, as in revoke:can_network")
		}
		return Sanction{Kind: SanctionRevoke, Capability: c}, nil
	}
	return Sanction{}, fmt.Errorf("unknown sanction %q (want warn, suspend or revoke:<capability>)", s)
}

// Rule is one article of the constitution.
type Rule struct {
	ID          string      `json:"id"`
	Description string      `json:"description"`
	Branch      Branch      `json:"branch"`
	Severity    Severity    `json:"severity"`
	Outcome     RuleOutcome `json:"outcome,omitempty"` // empty for judicial rules
	Sanctions   []Sanction  `json:"sanctions,omitempty"`
	When        Conditions  `json:"when"`

	// Line is the line of the rule's [[rule]] header in the file it was
	// parsed from (0 when built in code). It is not part of the canonical
	// text or the hash.
	Line int `json:"line,omitempty"`
}

// Constitution is an immutable, validated set of rules plus the environment
// thresholds. Build one with Parse, DefaultConstitution or Apply; do not
// modify the slices it exposes.
type Constitution struct {
	Name         string
	Revision     uint64
	Environments Environments
	Rules        []Rule

	file     string
	hash     [32]byte
	hashHex  string
	warnings []Problem
	byID     map[string]int
}

// File returns the file name the constitution was parsed from.
func (c *Constitution) File() string { return c.file }

// Hash returns the SHAKE-256/32 hash of the canonical text (see Canonical).
func (c *Constitution) Hash() [32]byte { return c.hash }

// HashHex returns Hash in lower-case hex.
func (c *Constitution) HashHex() string { return c.hashHex }

// Warnings returns the warning-level problems found by validation (errors
// make Parse fail, so a built constitution has none).
func (c *Constitution) Warnings() []Problem { return slices.Clone(c.warnings) }

// Rule returns the rule with the given id.
func (c *Constitution) Rule(id string) (Rule, bool) {
	i, ok := c.byID[id]
	if !ok {
		return Rule{}, false
	}
	return c.Rules[i], true
}

// finish validates a freshly built constitution and, when it has no
// error-level problems, normalises, indexes and hashes it. It returns every
// problem found (errors and warnings).
func (c *Constitution) finish(lines lineIndex) []Problem {
	probs := validate(c, lines)
	c.warnings = nil
	for _, p := range probs {
		if p.Level != LevelError {
			c.warnings = append(c.warnings, p)
		}
	}
	if hasErrors(probs) {
		return probs
	}
	c.byID = make(map[string]int, len(c.Rules))
	for i := range c.Rules {
		c.Rules[i] = c.Rules[i].normalized()
		c.byID[c.Rules[i].ID] = i
	}
	c.hash = hashText([]byte(c.Canonical()))
	c.hashHex = hex.EncodeToString(c.hash[:])
	return probs
}

func hasErrors(probs []Problem) bool {
	for _, p := range probs {
		if p.Level == LevelError {
			return true
		}
	}
	return false
}

// errorsOnly returns a *ParseError with the error-level problems, or nil.
func errorsOnly(probs []Problem) error {
	var errs []Problem
	for _, p := range probs {
		if p.Level == LevelError {
			errs = append(errs, p)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &ParseError{Problems: errs}
}

// hashText returns SHAKE-256 with 32 bytes of output over b.
func hashText(b []byte) [32]byte {
	var out [32]byte
	h := sha3.NewSHAKE256()
	_, _ = h.Write(b)
	_, _ = h.Read(out[:])
	return out
}

// HashRuleText returns the lower-case hex SHAKE-256/32 of a rule's canonical
// text, as carried by amendments.
func HashRuleText(text string) string {
	h := hashText([]byte(text))
	return hex.EncodeToString(h[:])
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// New builds and validates a constitution from rules written in code. The
// revision starts at 0.
func New(name string, envs Environments, rules []Rule) (*Constitution, error) {
	c := &Constitution{file: "<code>", Name: name, Environments: envs, Rules: slices.Clone(rules)}
	if err := errorsOnly(c.finish(lineIndex{file: "<code>"})); err != nil {
		return nil, err
	}
	return c, nil
}
