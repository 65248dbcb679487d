package governance

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// Canonical returns the canonical TOML text of the constitution: format,
// name, revision, the environment thresholds and every rule in order, with a
// fixed key order, sorted and de-duplicated lists and no comments. Parsing the
// canonical text yields an equal constitution, and Hash is SHAKE-256/32 over
// exactly these bytes.
func (c *Constitution) Canonical() string {
	var b strings.Builder
	b.WriteString("format = 1\n")
	if c.Name != "" {
		b.WriteString("name = ")
		writeString(&b, c.Name)
		b.WriteByte('\n')
	}
	b.WriteString("revision = ")
	b.WriteString(strconv.FormatUint(c.Revision, 10))
	b.WriteString("\n\n[environments]\n")
	writeFloatKV(&b, EnvDev, c.Environments.Dev)
	writeFloatKV(&b, EnvStaging, c.Environments.Staging)
	writeFloatKV(&b, EnvProd, c.Environments.Prod)
	for i := range c.Rules {
		b.WriteByte('\n')
		c.Rules[i].writeCanonical(&b)
	}
	return b.String()
}

// Canonical returns the canonical TOML text of a single rule, a document
// holding one [[rule]] table that ParseRule accepts. Amendments carry this
// text and its SHAKE-256/32 hash (HashRuleText).
func (r *Rule) Canonical() string {
	var b strings.Builder
	n := r.normalized()
	n.writeCanonical(&b)
	return b.String()
}

func (r *Rule) writeCanonical(b *strings.Builder) {
	b.WriteString("[[rule]]\n")
	writeStringKV(b, "id", r.ID)
	if r.Description != "" {
		writeStringKV(b, "description", r.Description)
	}
	writeStringKV(b, "branch", string(r.Branch))
	writeStringKV(b, "severity", string(r.Severity))
	if r.Outcome != "" {
		writeStringKV(b, "outcome", string(r.Outcome))
	}
	if len(r.Sanctions) > 0 {
		s := make([]string, len(r.Sanctions))
		for i, sn := range r.Sanctions {
			s[i] = sn.String()
		}
		writeListKV(b, "sanctions", s)
	}
	var w strings.Builder
	r.When.writeCanonical(&w)
	if w.Len() > 0 {
		b.WriteString("\n[rule.when]\n")
		b.WriteString(w.String())
	}
}

func (c *Conditions) writeCanonical(b *strings.Builder) {
	for _, l := range []struct {
		key  string
		vals []string
	}{
		{"actions", c.Actions}, {"processes", c.Processes}, {"agents", c.Agents}, {"apps", c.Apps},
		{"capabilities", c.Capabilities}, {"without_capabilities", c.WithoutCapabilities},
		{"envs", c.Envs}, {"paths", c.Paths}, {"hosts", c.Hosts}, {"tools", c.Tools}, {"models", c.Models},
	} {
		if len(l.vals) > 0 {
			writeListKV(b, l.key, l.vals)
		}
	}
	if len(c.Context) > 0 {
		keys := make([]string, 0, len(c.Context))
		for k := range c.Context {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteString("context = { ")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writeKey(b, k)
			b.WriteString(" = ")
			writeList(b, c.Context[k])
		}
		b.WriteString(" }\n")
	}
	for _, t := range []struct {
		key string
		v   *float64
	}{
		{"min_risk", c.MinRisk}, {"min_fairness", c.MinFairness}, {"min_privacy", c.MinPrivacy},
		{"min_novelty", c.MinNovelty}, {"min_security", c.MinSecurity}, {"min_magnitude", c.MinMagnitude},
	} {
		if t.v != nil {
			writeFloatKV(b, t.key, *t.v)
		}
	}
	if c.OverEnvThreshold {
		b.WriteString("over_env_threshold = true\n")
	}
	if c.MinAgentRisk != nil {
		writeFloatKV(b, "min_agent_risk", *c.MinAgentRisk)
	}
}

// normalized returns a copy of r whose condition lists and context lists are
// sorted and free of duplicates (conditions are sets, so this does not change
// what the rule matches).
func (r *Rule) normalized() Rule {
	n := *r
	w := &n.When
	for _, l := range []*[]string{&w.Actions, &w.Processes, &w.Agents, &w.Apps, &w.Capabilities,
		&w.WithoutCapabilities, &w.Envs, &w.Paths, &w.Hosts, &w.Tools, &w.Models} {
		*l = sortedSet(*l)
	}
	if len(w.Context) > 0 {
		ctx := make(map[string][]string, len(w.Context))
		for k, v := range w.Context {
			ctx[k] = sortedSet(v)
		}
		w.Context = ctx
	} else {
		w.Context = nil
	}
	if len(n.Sanctions) > 0 {
		n.Sanctions = slices.Clone(n.Sanctions)
		slices.SortFunc(n.Sanctions, func(a, b Sanction) int { return strings.Compare(a.String(), b.String()) })
		n.Sanctions = slices.CompactFunc(n.Sanctions, func(a, b Sanction) bool { return a == b })
	} else {
		n.Sanctions = nil
	}
	return n
}

func sortedSet(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

func writeStringKV(b *strings.Builder, k, v string) {
	b.WriteString(k)
	b.WriteString(" = ")
	writeString(b, v)
	b.WriteByte('\n')
}

func writeListKV(b *strings.Builder, k string, v []string) {
	b.WriteString(k)
	b.WriteString(" = ")
	writeList(b, v)
	b.WriteByte('\n')
}

func writeFloatKV(b *strings.Builder, k string, v float64) {
	b.WriteString(k)
	b.WriteString(" = ")
	b.WriteString(formatFloat(v))
	b.WriteByte('\n')
}

func writeList(b *strings.Builder, v []string) {
	b.WriteByte('[')
	for i, s := range v {
		if i > 0 {
			b.WriteString(", ")
		}
		writeString(b, s)
	}
	b.WriteByte(']')
}

// formatFloat writes a TOML float (always with a '.', an exponent, or the
// special values inf/nan).
func formatFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(v, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

func writeKey(b *strings.Builder, k string) {
	bare := k != ""
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			bare = false
			break
		}
	}
	if bare {
		b.WriteString(k)
		return
	}
	writeString(b, k)
}

// writeString writes a TOML basic string.
func writeString(b *strings.Builder, s string) {
	const hexd = "0123456789ABCDEF"
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\u00`)
			b.WriteByte(hexd[r>>4])
			b.WriteByte(hexd[r&0xf])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}
