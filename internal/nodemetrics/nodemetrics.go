// Package nodemetrics holds a node's operational instruments: model calls
// (by provider, model and outcome, with tokens and latency), tool calls
// (by tool and outcome, with latency), audit-chain group commits and
// fsync latency, memory searches, and the authority pipeline's decisions —
// everything an operator scrapes from /metrics beyond the kernel's own
// numbers. The lower layers report to it through the observer interfaces
// they declare (chain.Observer, memory.Observer); the composition root
// reports model and tool calls from the wrappers it puts around them.
// docs/OPERATIONS.md lists every metric.
package nodemetrics

import (
	"context"
	"errors"
	"time"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/memory"
	"github.com/weftos/weftos/internal/metrics"
)

// Outcome is how a model call, tool call or memory search ended.
type Outcome string

// Outcomes.
const (
	// OK: the call succeeded.
	OK Outcome = "ok"
	// Error: the provider, the tool or the store failed.
	Error Outcome = "error"
	// Refused: the authority pipeline refused the act (capability, limit,
	// governance, or a chain that cannot be written); nothing ran.
	Refused Outcome = "refused"
	// Canceled: the caller went away or its deadline passed.
	Canceled Outcome = "canceled"
)

// Classify maps a call's error to its outcome.
func Classify(err error) Outcome {
	switch {
	case err == nil:
		return OK
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return Canceled
	case errors.Is(err, authority.ErrRefused):
		return Refused
	}
	return Error
}

// Histogram bounds, in seconds.
var (
	llmBuckets    = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160}
	toolBuckets   = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60}
	fsyncBuckets  = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}
	searchBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}
)

// Metrics are a node's instruments. All methods are safe for concurrent
// use and cheap enough for the append path.
type Metrics struct {
	llmCalls    *metrics.CounterVec
	llmTokens   *metrics.CounterVec
	llmSeconds  *metrics.HistogramVec
	toolCalls   *metrics.CounterVec
	toolSeconds *metrics.HistogramVec

	chainEvents      *metrics.CounterVec
	chainCommits     *metrics.CounterVec
	chainCheckpoints *metrics.CounterVec
	chainFsync       *metrics.HistogramVec

	searches       *metrics.CounterVec
	searchSeconds  *metrics.HistogramVec
	searchHitsSeen *metrics.CounterVec
}

var (
	_ chain.Observer  = (*Metrics)(nil)
	_ memory.Observer = (*Metrics)(nil)
)

// New returns zeroed instruments.
func New() *Metrics {
	return &Metrics{
		llmCalls:         metrics.NewCounterVec("provider", "model", "outcome"),
		llmTokens:        metrics.NewCounterVec("provider", "model", "type"),
		llmSeconds:       metrics.NewHistogramVec(llmBuckets, "provider", "model"),
		toolCalls:        metrics.NewCounterVec("tool", "outcome"),
		toolSeconds:      metrics.NewHistogramVec(toolBuckets, "tool"),
		chainEvents:      metrics.NewCounterVec(),
		chainCommits:     metrics.NewCounterVec(),
		chainCheckpoints: metrics.NewCounterVec(),
		chainFsync:       metrics.NewHistogramVec(fsyncBuckets),
		searches:         metrics.NewCounterVec("outcome"),
		searchSeconds:    metrics.NewHistogramVec(searchBuckets),
		searchHitsSeen:   metrics.NewCounterVec(),
	}
}

// Register exposes the instruments on r.
func (m *Metrics) Register(r *metrics.Registry) error {
	type reg struct {
		name, help string
		kind       metrics.Kind
		collect    func() []metrics.Sample
	}
	var errs []error
	for _, x := range []reg{
		{"weftos_llm_calls_total", "Model calls by provider, model and outcome (ok, error, refused, canceled); a failover counts each provider tried.", metrics.Counter, m.llmCalls.Samples},
		{"weftos_llm_tokens_total", "Tokens the providers reported, by provider, model and type: prompt (uncached), completion, cache_read, cache_write.", metrics.Counter, m.llmTokens.Samples},
		{"weftos_llm_request_duration_seconds", "Time from sending a model request to its last byte, for calls that reached the provider.", metrics.Histogram, m.llmSeconds.Samples},
		{"weftos_tool_calls_total", "Agent tool calls (built-in, memory, WASM) and operator tool runs, by tool and outcome (ok, error, refused, canceled).", metrics.Counter, m.toolCalls.Samples},
		{"weftos_tool_call_duration_seconds", "Duration of tool calls that ran (outcome ok or error), decision and records included.", metrics.Histogram, m.toolSeconds.Samples},
		{"weftos_chain_appended_events_total", "Events made durable on the audit chain.", metrics.Counter, m.chainEvents.Samples},
		{"weftos_chain_commits_total", "Group commits of the audit chain (one write and fsync per segment touched).", metrics.Counter, m.chainCommits.Samples},
		{"weftos_chain_checkpoints_written_total", "Signed checkpoints written to the audit chain.", metrics.Counter, m.chainCheckpoints.Samples},
		{"weftos_chain_fsync_duration_seconds", "Duration of each fsync of an audit-chain segment.", metrics.Histogram, m.chainFsync.Samples},
		{"weftos_memory_searches_total", "Memory searches (agents' memory_search, automatic recall, operator search) by outcome (ok, error).", metrics.Counter, m.searches.Samples},
		{"weftos_memory_search_duration_seconds", "Duration of memory searches, embedding the query included.", metrics.Histogram, m.searchSeconds.Samples},
		{"weftos_memory_search_hits_total", "Records returned by memory searches.", metrics.Counter, m.searchHitsSeen.Samples},
	} {
		errs = append(errs, r.Register(x.name, x.help, x.kind, x.collect))
	}
	return errors.Join(errs...)
}

// Usage is the tokens a model call reported, with llm.Usage's fields
// (convert with Usage(u)): the metrics do not link the model providers.
type Usage struct {
	InputTokens, OutputTokens, CacheReadTokens, CacheWriteTokens int
}

// LLMCall records one model call that reached the provider: its outcome
// (Classify of the provider's error), the tokens it reported and how long
// it took.
func (m *Metrics) LLMCall(provider, model string, outcome Outcome, u Usage, d time.Duration) {
	m.llmCalls.Inc(provider, model, string(outcome))
	m.llmSeconds.Observe(d.Seconds(), provider, model)
	for _, t := range []struct {
		kind string
		n    int
	}{{"prompt", u.InputTokens}, {"completion", u.OutputTokens}, {"cache_read", u.CacheReadTokens}, {"cache_write", u.CacheWriteTokens}} {
		if t.n > 0 {
			m.llmTokens.Add(float64(t.n), provider, model, t.kind)
		}
	}
}

// LLMNotSent records a model call that never reached the provider: the
// pipeline refused it, or its caller went away first. It is counted, not
// timed.
func (m *Metrics) LLMNotSent(provider, model string, outcome Outcome) {
	m.llmCalls.Inc(provider, model, string(outcome))
}

// ToolCall records one tool call.
func (m *Metrics) ToolCall(tool string, outcome Outcome, d time.Duration) {
	m.toolCalls.Inc(tool, string(outcome))
	if outcome == OK || outcome == Error {
		m.toolSeconds.Observe(d.Seconds(), tool)
	}
}

// Committed implements chain.Observer.
func (m *Metrics) Committed(events, checkpoints int) {
	m.chainCommits.Inc()
	m.chainEvents.Add(float64(events))
	m.chainCheckpoints.Add(float64(checkpoints))
}

// Synced implements chain.Observer.
func (m *Metrics) Synced(d time.Duration) { m.chainFsync.Observe(d.Seconds()) }

// ChainSyncs is how many fsyncs of the audit chain completed.
func (m *Metrics) ChainSyncs() uint64 { return m.chainFsync.Count() }

// Searched implements memory.Observer.
func (m *Metrics) Searched(d time.Duration, hits int, err error) {
	o := OK
	if err != nil {
		o = Error
	}
	m.searches.Inc(string(o))
	m.searchSeconds.Observe(d.Seconds())
	m.searchHitsSeen.Add(float64(hits))
}

// RegisterGate exposes the authority pipeline's decisions by outcome.
func RegisterGate(r *metrics.Registry, s *authority.Stats) error {
	return r.Register("weftos_gate_decisions_total",
		"Privileged acts by how the authority pipeline decided them: permit, permit_with_warning, defer (held for a human; a rejected or expired one is counted again as deny), deny, refused (by a check before governance), failed (the chain cannot be written).",
		metrics.Counter, func() []metrics.Sample {
			out := make([]metrics.Sample, 0, 6)
			for _, x := range []struct {
				outcome string
				n       uint64
			}{
				{"permit", s.Permitted.Load()}, {"permit_with_warning", s.Warned.Load()}, {"defer", s.Deferred.Load()},
				{"deny", s.Denied.Load()}, {"refused", s.Refused.Load()}, {"failed", s.Failed.Load()},
			} {
				out = append(out, metrics.Sample{Labels: map[string]string{"outcome": x.outcome}, Value: float64(x.n)})
			}
			return out
		})
}
