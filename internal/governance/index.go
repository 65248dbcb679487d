package governance

import (
	"slices"
	"strings"
)

// Second-level index. The first level buckets rules by the literal part of
// their action globs. A bucket that still holds many rules (for example 200
// rules about net.egress, each for other hosts) is split further: each rule
// whose condition on one request field (tool, host, agent, process, app,
// model or path) has only positive globs with a literal prefix is filed under
// the first k bytes of those prefixes (k: the rule's shortest literal prefix,
// at most 16), so a request probes one map entry per field and key length
// instead of evaluating every rule. A glob with literal prefix P can
// only match values that start with P, so a value shorter than k, or whose
// first k bytes differ, cannot match any rule filed under another key.

// splitThreshold is the bucket size from which a bucket is split.
const splitThreshold = 8

// maxKeyLen caps the key length of a sub-index.
const maxKeyLen = 16

type field uint8

const (
	fieldTool field = iota
	fieldHost
	fieldAgent
	fieldProcess
	fieldApp
	fieldModel
	fieldPath
	numFields
)

func (r *compiledRule) fieldGlobs(f field) *globList {
	switch f {
	case fieldTool:
		return &r.tools
	case fieldHost:
		return &r.hosts
	case fieldAgent:
		return &r.agents
	case fieldProcess:
		return &r.processes
	case fieldApp:
		return &r.apps
	case fieldModel:
		return &r.models
	}
	return &r.paths
}

// fieldValue returns the request's value for f; host is passed lower-cased.
func fieldValue(req *Request, f field, host string) string {
	switch f {
	case fieldTool:
		return req.Context.Tool
	case fieldHost:
		return host
	case fieldAgent:
		return req.Agent
	case fieldProcess:
		return req.Process
	case fieldApp:
		return req.App
	case fieldModel:
		return req.Context.Model
	}
	return req.Context.Path
}

type subIndex struct {
	field field
	k     int
	m     map[string][]int32
}

// bucket is the candidate set for one action key.
type bucket struct {
	rest []int32 // rules evaluated for every request reaching the bucket
	subs []subIndex
}

// minLiteral returns the shortest literal prefix among l's globs, or 0 when
// l cannot be indexed (empty, or with negations).
func minLiteral(l *globList) int {
	if len(l.pos) == 0 || len(l.neg) > 0 {
		return 0
	}
	n := maxKeyLen
	for i := range l.pos {
		lit, _ := literalPrefix(l.pos[i].pat)
		n = min(n, len(lit))
	}
	return n
}

// buildBucket splits the rule list of one action key.
func buildBucket(rules []compiledRule, list []int32) *bucket {
	b := &bucket{}
	if len(list) < splitThreshold {
		b.rest = list
		return b
	}
	// Each rule goes to the field with the longest indexable prefix.
	byField := make([][]int32, numFields)
	for _, k := range list {
		best, bestLen := field(0), 0
		for f := field(0); f < numFields; f++ {
			if n := minLiteral(rules[k].fieldGlobs(f)); n > bestLen {
				best, bestLen = f, n
			}
		}
		if bestLen == 0 {
			b.rest = append(b.rest, k)
			continue
		}
		byField[best] = append(byField[best], k)
	}
	for f := field(0); f < numFields; f++ {
		ks := byField[f]
		if len(ks) == 0 {
			continue
		}
		if len(ks) < splitThreshold/2 {
			b.rest = append(b.rest, ks...)
			continue
		}
		// One sub-index per distinct key length: a rule is filed under the
		// first L bytes of its literal prefixes, L its shortest prefix (at
		// most maxKeyLen), so every rule of the field is indexed.
		byLen := map[int]*subIndex{}
		for _, r := range ks {
			gl := rules[r].fieldGlobs(f)
			kl := minLiteral(gl)
			sub := byLen[kl]
			if sub == nil {
				sub = &subIndex{field: f, k: kl, m: map[string][]int32{}}
				byLen[kl] = sub
			}
			for j := range gl.pos {
				lit, _ := literalPrefix(gl.pos[j].pat)
				key := lit[:kl]
				sub.m[key] = appendUnique(sub.m[key], r)
			}
		}
		for _, kl := range sortedIntKeys(byLen) {
			b.subs = append(b.subs, *byLen[kl])
		}
	}
	slices.Sort(b.rest)
	return b
}

// collectBucket evaluates the candidates of b.
func (s *snapshot) collectBucket(matched []int32, b *bucket, req *Request, mag float64, host string) []int32 {
	if b == nil {
		return matched
	}
	matched = s.collect(matched, b.rest, req, mag)
	for i := range b.subs {
		sub := &b.subs[i]
		v := fieldValue(req, sub.field, host)
		if len(v) < sub.k {
			continue
		}
		matched = s.collect(matched, sub.m[v[:sub.k]], req, mag)
	}
	return matched
}

func sortedIntKeys[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// lowerHost lower-cases a host name without allocating when it is already
// lower-case.
func lowerHost(h string) string { return strings.ToLower(h) }
