package agenthost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/weftos/weftos/internal/agent"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/llm"
	"github.com/weftos/weftos/internal/nodemetrics"
)

// Endpoint is where a provider sends prompts.
type Endpoint struct {
	Host     string // host name, lower case, no port
	Loopback bool   // an IP literal in a loopback range or "localhost": prompts never leave the machine
}

// ProviderEndpoint parses a provider's base URL ("" means the vendor's).
func ProviderEndpoint(kind llm.Kind, baseURL string) Endpoint {
	if baseURL == "" {
		baseURL = llm.DefaultOpenAIBaseURL
		if kind == llm.KindAnthropic {
			baseURL = llm.DefaultAnthropicBaseURL
		}
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return Endpoint{}
	}
	host := strings.ToLower(u.Hostname())
	return Endpoint{Host: host, Loopback: isLoopbackHost(host)}
}

// isLoopbackHost reports whether host certainly names this machine: a
// loopback IP literal, or localhost. Other names are remote, whatever DNS
// says today (DNS may change; the decision must not).
func isLoopbackHost(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// gatedModel makes every model call a privileged act: llm.call is decided
// before the request leaves (provider, model, host; a remote provider
// needs can_network), and recorded after it with token counts and hashes
// of prompt and reply — never their content.
type gatedModel struct {
	h        *Host
	p        *kernel.Process
	session  string
	provider llm.Provider
	name     string // the provider's registry name
	ep       Endpoint
	waited   *atomic.Int64 // nanoseconds spent in the provider itself
	prompts  promptHasher
	// What every call's act has in common, built once: its context's
	// extra members (read only: governance and the records only read
	// them) and its capability check.
	extra  map[string]string
	checks []authority.Check
}

var _ llm.Provider = (*gatedModel)(nil)

func newGatedModel(h *Host, p *kernel.Process, session string, prov llm.Provider, waited *atomic.Int64) *gatedModel {
	m := &gatedModel{h: h, p: p, session: session, provider: prov, name: prov.Name(), ep: h.endpoints[prov.Name()],
		waited: waited, prompts: promptHasher{shared: &h.toolEncodings}}
	m.extra = map[string]string{"provider": m.name, "loopback": strconv.FormatBool(m.ep.Loopback)}
	m.checks = []authority.Check{m.checkNetwork}
	return m
}

// checkNetwork refuses a call to a remote provider unless the agent may
// use the network (its capabilities as they are when the call is made).
func (m *gatedModel) checkNetwork() error {
	if !m.ep.Loopback && !m.p.Capabilities().CanNetwork {
		return fmt.Errorf("%w: llm.call to %s (provider %s) sends the conversation off this machine: the agent needs can_network (or use a provider on loopback)",
			authority.ErrCapability, m.ep.Host, m.name)
	}
	return nil
}

func (m *gatedModel) Name() string { return m.name }

func (m *gatedModel) Models(ctx context.Context) ([]llm.Model, error) { return m.provider.Models(ctx) }

func (m *gatedModel) Chat(ctx context.Context, req *llm.Request, onDelta func(llm.Delta)) (*llm.Response, error) {
	act := authority.Act{Action: "llm.call", Kind: governance.KindLLMCall, Source: "agent", Subject: subjectOf(m.p, m.session), Carry: CarryFrom(ctx),
		Context: governance.Context{Model: req.Model, Host: m.ep.Host, Extra: m.extra}, Checks: m.checks}
	pm, err := m.h.auth.Authorize(ctx, act)
	if err != nil {
		m.h.ops.LLMNotSent(m.name, req.Model, nodemetrics.Classify(err))
		return nil, asKernel(err)
	}
	t0 := time.Now()
	resp, err := m.provider.Chat(ctx, req, onDelta)
	took := time.Since(t0)
	m.waited.Add(int64(took))
	detail := governance.LLMCallDetail{Provider: m.name, Model: req.Model, Host: m.ep.Host, Loopback: m.ep.Loopback, PromptHash: m.prompts.hash(req)}
	var usage llm.Usage
	if resp != nil {
		usage = resp.Usage
		detail.InputTokens, detail.OutputTokens = resp.Usage.InputTokens, resp.Usage.OutputTokens
		detail.ReplyHash, detail.ReplyLen = m.prompts.hashOf(&resp.Message), len(resp.Message.Content)
		detail.ToolCalls, detail.StopReason = len(resp.Message.ToolCalls), string(resp.StopReason)
	}
	m.h.ops.LLMCall(m.name, req.Model, nodemetrics.Classify(err), nodemetrics.Usage(usage), took)
	// The reply is only used to decide the agent's next step: its record
	// shares the fsync of that step's decision (or the end of the turn).
	if rerr := pm.Later(ctx, detail, err); rerr != nil {
		// The reply is not on the chain: it must not be used.
		return nil, errors.Join(err, rerr)
	}
	return resp, err
}

// hashJSON is the hex SHAKE-256 (32 bytes) of v's JSON encoding (of
// nothing when v does not encode): hex.EncodeToString(sha3.SumSHAKE256(
// json.Marshal(v), 32)), with fewer allocations.
func hashJSON(v any) string {
	b, _ := json.Marshal(v)
	return shake(b)
}

// hashOf is hashJSON(v), encoded with the hasher's reused encoder.
func (ph *promptHasher) hashOf(v any) string {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	b, _ := ph.marshal(v) // of nothing when v does not encode, as hashJSON
	return shake(b)
}

// agentModel returns the model an agent process talks to: the named
// provider (or the configured failover list), each route gated for p.
// waited accumulates the time spent in providers themselves (without the
// gate and records), so a turn's own overhead can be told apart.
func (h *Host) agentModel(p *kernel.Process, session, model string, waited *atomic.Int64) (agent.Model, string, error) {
	if model == "" {
		model = h.agents.Model
	}
	if h.models == nil || h.models.Len() == 0 {
		return nil, "", llm.ErrNoProvider
	}
	if model == "" {
		return nil, "", ErrNoModel
	}
	routes := []string{model}
	if len(h.agents.Failover) > 0 {
		routes = append(routes, h.agents.Failover...)
	}
	var rs []llm.Route
	var first string
	for i, r := range routes {
		prov, name, err := h.models.Resolve(r)
		if err != nil {
			return nil, "", err
		}
		if i == 0 {
			first = name
		}
		rs = append(rs, llm.Route{Provider: newGatedModel(h, p, session, prov, waited), Model: name})
	}
	if len(rs) == 1 {
		return rs[0].Provider, first, nil
	}
	f, err := llm.NewFailover("failover", h.log.With("layer", "llm"), rs...)
	if err != nil {
		return nil, "", err
	}
	return f, first, nil
}
