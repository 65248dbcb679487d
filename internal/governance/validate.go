package governance

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

const maxIDLen = 128

func validID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// reservedContext are context keys that have dedicated conditions.
var reservedContext = map[string]string{"path": "paths", "host": "hosts", "tool": "tools", "model": "models"}

// validate checks every rule on its own and then the rules against each
// other. It returns errors and warnings.
func validate(c *Constitution, lines lineIndex) []Problem {
	var probs []Problem
	add := func(level Level, field, rule, format string, args ...any) {
		probs = append(probs, lines.problem(level, field, rule, fmt.Sprintf(format, args...)))
	}
	if !utf8.ValidString(c.Name) {
		add(LevelError, "name", "", "not valid UTF-8")
	}
	for _, e := range []struct {
		name string
		v    float64
	}{{EnvDev, c.Environments.Dev}, {EnvStaging, c.Environments.Staging}, {EnvProd, c.Environments.Prod}} {
		if math.IsNaN(e.v) || e.v < 0 || e.v > 1 {
			add(LevelError, "environments."+e.name, "", "threshold %v is outside [0,1]", e.v)
		}
	}
	if c.Environments.Prod > c.Environments.Staging || c.Environments.Staging > c.Environments.Dev {
		add(LevelWarning, "environments", "", "thresholds are usually strictest in prod: want prod <= staging <= dev, have %v / %v / %v",
			c.Environments.Prod, c.Environments.Staging, c.Environments.Dev)
	}
	firstByID := map[string]int{}
	type seenWhen struct {
		idx int
	}
	byWhen := map[string]seenWhen{}
	for i := range c.Rules {
		r := &c.Rules[i]
		rp := rulePath(i)
		probs = append(probs, validateRule(r, rp, lines)...)
		if r.ID != "" {
			if j, dup := firstByID[r.ID]; dup {
				add(LevelError, rp+".id", r.ID, "duplicate rule id %q (first defined at %s)", r.ID, lines.where(j, c.Rules[j].Line))
			} else {
				firstByID[r.ID] = i
			}
		}
		n := r.normalized()
		var w strings.Builder
		w.WriteString(string(r.Branch))
		w.WriteByte('\n')
		n.When.writeCanonical(&w)
		key := w.String()
		if prev, ok := byWhen[key]; ok {
			o := &c.Rules[prev.idx]
			switch {
			case o.Severity == r.Severity && o.Outcome != r.Outcome:
				add(LevelError, rp+".outcome", r.ID, "contradicts rule %q (%s): identical conditions and severity %s but outcome %s vs %s",
					o.ID, lines.where(prev.idx, o.Line), r.Severity, r.Outcome, o.Outcome)
			case o.Severity != r.Severity && o.Outcome != r.Outcome:
				add(LevelWarning, rp+".severity", r.ID, "rule %q (%s) has identical conditions with outcome %s at severity %s; the higher severity always decides",
					o.ID, lines.where(prev.idx, o.Line), o.Outcome, o.Severity)
			default:
				add(LevelWarning, rp, r.ID, "duplicates the conditions and outcome of rule %q (%s)", o.ID, lines.where(prev.idx, o.Line))
			}
		} else {
			byWhen[key] = seenWhen{idx: i}
		}
	}
	return probs
}

// where names a rule's location for cross-references.
func (li lineIndex) where(idx, line int) string {
	if l := li.line(rulePath(idx)); l > 0 {
		line = l
	}
	if line > 0 {
		return fmt.Sprintf("line %d", line)
	}
	return rulePath(idx)
}

func validateRule(r *Rule, rp string, lines lineIndex) []Problem {
	var probs []Problem
	add := func(level Level, field, format string, args ...any) {
		probs = append(probs, lines.problem(level, field, r.ID, fmt.Sprintf(format, args...)))
	}
	switch {
	case r.ID == "":
		add(LevelError, rp+".id", "missing rule id")
	case !validID(r.ID):
		add(LevelError, rp+".id", "invalid id %q: want 1 to %d characters of letters, digits, '-', '_' or '.'", r.ID, maxIDLen)
	}
	if !utf8.ValidString(r.Description) {
		add(LevelError, rp+".description", "not valid UTF-8")
	}
	switch r.Branch {
	case Legislative, Executive, Judicial:
	case "":
		add(LevelError, rp+".branch", "missing (want legislative, executive or judicial)")
	default:
		add(LevelError, rp+".branch", "invalid value %q (want legislative, executive or judicial)", r.Branch)
	}
	switch {
	case r.Severity == "":
		add(LevelError, rp+".severity", "missing (want advisory, warning, blocking or critical)")
	case r.Severity.rank() < 0:
		add(LevelError, rp+".severity", "invalid value %q (want advisory, warning, blocking or critical)", r.Severity)
	}
	if r.Branch == Judicial {
		if r.Outcome != "" {
			add(LevelError, rp+".outcome", "judicial rules name sanctions, not an outcome")
		}
		if len(r.Sanctions) == 0 {
			add(LevelError, rp+".sanctions", "a judicial rule must name at least one sanction")
		}
	} else {
		switch r.Outcome {
		case RulePermit, RuleWarn, RuleDefer, RuleDeny:
		case "":
			add(LevelError, rp+".outcome", "missing (want permit, warn, defer or deny)")
		default:
			add(LevelError, rp+".outcome", "invalid value %q (want permit, warn, defer or deny)", r.Outcome)
		}
		if r.When.MinAgentRisk != nil {
			add(LevelError, rp+".when.min_agent_risk", "only judicial rules may use min_agent_risk")
		}
		if r.Severity == Advisory && (r.Outcome == RuleDeny || r.Outcome == RuleDefer) {
			add(LevelWarning, rp+".outcome", "advisory rules never block: outcome %s acts as warn", r.Outcome)
		}
		if r.Outcome == RulePermit && len(r.Sanctions) > 0 {
			add(LevelWarning, rp+".sanctions", "sanctions on a permit rule punish permitted actions")
		}
	}
	for i, s := range r.Sanctions {
		if _, err := ParseSanction(s.String()); err != nil {
			add(LevelError, fmt.Sprintf("%s.sanctions[%d]", rp, i), "%v", err)
		}
	}
	w := &r.When
	wp := rp + ".when"
	lists := []struct {
		key  string
		vals []string
		glob bool
	}{
		{"actions", w.Actions, true}, {"processes", w.Processes, true}, {"agents", w.Agents, true},
		{"apps", w.Apps, true}, {"capabilities", w.Capabilities, false},
		{"without_capabilities", w.WithoutCapabilities, false}, {"envs", w.Envs, false},
		{"paths", w.Paths, true}, {"hosts", w.Hosts, true}, {"tools", w.Tools, true}, {"models", w.Models, true},
	}
	for _, l := range lists {
		for j, v := range l.vals {
			f := fmt.Sprintf("%s.%s[%d]", wp, l.key, j)
			if msg := checkListValue(v, l.glob); msg != "" {
				add(LevelError, f, "%s", msg)
				continue
			}
			if l.key == "envs" && !ValidEnv(v) {
				add(LevelError, f, "unknown environment %q (want dev, staging or prod)", v)
			}
		}
	}
	for _, k := range sortedKeys(w.Context) {
		globs := w.Context[k]
		f := wp + ".context." + k
		if k == "" || !utf8.ValidString(k) {
			add(LevelError, wp+".context", "invalid context key %q", k)
			continue
		}
		if alt, ok := reservedContext[k]; ok {
			add(LevelError, f, "use the %q condition for the %s field", alt, k)
			continue
		}
		if len(globs) == 0 {
			add(LevelError, f, "empty list matches nothing")
		}
		for j, v := range globs {
			if msg := checkListValue(v, true); msg != "" {
				add(LevelError, fmt.Sprintf("%s[%d]", f, j), "%s", msg)
			}
		}
	}
	for _, t := range []struct {
		key string
		v   *float64
	}{
		{"min_risk", w.MinRisk}, {"min_fairness", w.MinFairness}, {"min_privacy", w.MinPrivacy},
		{"min_novelty", w.MinNovelty}, {"min_security", w.MinSecurity}, {"min_magnitude", w.MinMagnitude},
		{"min_agent_risk", w.MinAgentRisk},
	} {
		if t.v != nil && (math.IsNaN(*t.v) || *t.v < 0 || *t.v > 1) {
			add(LevelError, wp+"."+t.key, "threshold %v is outside [0,1]", *t.v)
		}
	}
	if r.Branch == Legislative {
		if len(w.Actions) == 0 {
			add(LevelError, wp+".actions", "legislative rules govern the constitution: list constitution.* actions")
		}
		for j, a := range w.Actions {
			if strings.HasPrefix(a, "!") {
				continue
			}
			if lit, _ := literalPrefix(a); !strings.HasPrefix(lit, "constitution.") {
				add(LevelError, fmt.Sprintf("%s.actions[%d]", wp, j), "legislative rules may only govern constitution.* actions, not %q", a)
			}
		}
	}
	return probs
}

// checkListValue returns a message when v is not an acceptable list element.
func checkListValue(v string, isGlob bool) string {
	if !utf8.ValidString(v) {
		return "not valid UTF-8"
	}
	p := v
	if isGlob {
		p = strings.TrimPrefix(v, "!")
	}
	if p == "" {
		return "empty value"
	}
	if _, err := compileGlob(p); err != nil {
		return err.Error()
	}
	if !isGlob && strings.ContainsAny(v, "*?!") {
		return fmt.Sprintf("%q: wildcards are not allowed here", v)
	}
	return ""
}
