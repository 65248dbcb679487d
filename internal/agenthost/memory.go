//go:build !nomemory

package agenthost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/llm"
	"github.com/weftos/weftos/internal/memory"
)

// memoryFilter is the search filter a process's memory scope allows.
func memoryFilter(agent string, scope kernel.MemoryScope) (memory.Filter, bool) {
	switch scope {
	case kernel.MemoryNone:
		return memory.Filter{}, false
	case kernel.MemoryAll:
		return memory.Filter{Scope: memory.ScopeAll}, true
	case kernel.MemoryShared:
		return memory.Filter{Agent: agent, Scope: memory.ScopeShared}, true
	default:
		return memory.Filter{Agent: agent, Scope: memory.ScopeOwn}, true
	}
}

// errNoMemory refuses memory acts to a process whose scope is none.
var errNoMemory = fmt.Errorf("%w: memory is not available to this agent (memory scope none)", authority.ErrCapability)

// noMemoryChecks is the checks of a memory act by a process whose scope
// is none: the refusal.
var noMemoryChecks = []authority.Check{func() error { return errNoMemory }}

// memoryScopeCheck refuses memory acts to a process whose scope is none.
func memoryScopeCheck(p *kernel.Process) authority.Check {
	return func() error {
		if p.Capabilities().Memory == kernel.MemoryNone {
			return errNoMemory
		}
		return nil
	}
}

// recallExtras are the context members of automatic recalls, built once
// per memory scope (read only, as every act's context is).
var recallExtras = func() map[kernel.MemoryScope]map[string]string {
	m := map[kernel.MemoryScope]map[string]string{}
	for _, s := range []kernel.MemoryScope{kernel.MemoryNone, kernel.MemoryOwn, kernel.MemoryShared, kernel.MemoryAll, ""} {
		m[s] = map[string]string{"scope": string(s), "via": "recall"}
	}
	return m
}()

// searchExtra is the context members of a memory search.
func searchExtra(scope kernel.MemoryScope, via, callID string) map[string]string {
	if via == "recall" && callID == "" {
		if m, ok := recallExtras[scope]; ok {
			return m
		}
	}
	extra := map[string]string{"scope": string(scope), "via": via}
	if callID != "" {
		extra["call_id"] = callID
	}
	return extra
}

// searchMemory is a memory search by an agent process: a privileged read
// (memory.search), decided and recorded like any act — whether the agent
// asked through memory_search or the daemon recalls for it (via "recall").
func (h *Host) searchMemory(ctx context.Context, p *kernel.Process, agentName, session, query string, k int, via, callID string, charge bool) ([]memory.Hit, error) {
	// The scope the search runs with is the one the check sees.
	scope := p.Capabilities().Memory
	var checks []authority.Check
	switch {
	case scope == kernel.MemoryNone:
		checks = noMemoryChecks
	case charge:
		checks = []authority.Check{func() error { return kernelErr(p.ChargeToolCall(memorySearchSpec.Name)) }}
	}
	extra := searchExtra(scope, via, callID)
	act := authority.Act{Action: "memory.search", Kind: governance.KindMemorySearch, Source: "memory", Subject: subjectOf(p, session),
		Context: governance.Context{Extra: extra}, Checks: checks, Carry: CarryFrom(ctx),
		// An automatic recall only feeds the next model call, whose own
		// decision is written (with this one) before the prompt leaves.
		Internal: via == "recall"}
	pm, err := h.auth.Authorize(ctx, act)
	if err != nil {
		return nil, err
	}
	f, _ := memoryFilter(agentName, scope)
	hits, err := h.memory.Search(ctx, query, k, f)
	det := governance.MemoryDetail{QueryHash: shake([]byte(query)), K: k, Scope: string(scope)}
	for _, h := range hits {
		det.Hits = append(det.Hits, h.Record.ID)
	}
	// What was read goes only into the agent's next model call: its
	// record shares the fsync of that call's decision.
	if rerr := pm.Later(ctx, det, err); rerr != nil {
		return nil, errors.Join(err, rerr)
	}
	return hits, err
}

// recall returns the texts (and record ids) of the k memories most
// relevant to query that the agent may see. A refused or failed recall
// adds nothing (and is on the chain); the turn goes on.
func (h *Host) recall(ctx context.Context, p *kernel.Process, agentName, session, query string, k int) ([]string, []string) {
	if p.Capabilities().Memory == kernel.MemoryNone || k <= 0 {
		return nil, nil
	}
	hits, err := h.searchMemory(ctx, p, agentName, session, query, k, "recall", "", false)
	if err != nil {
		h.log.Warn("memory recall", "agent", agentName, "err", err)
		return nil, nil
	}
	out, ids := make([]string, len(hits)), make([]string, len(hits))
	for i, h := range hits {
		out[i], ids[i] = h.Record.Text, h.Record.ID
	}
	return out, ids
}

// MemoryStore is the node's semantic memory (internal/memory; an empty
// type in a binary built without it, memory_off.go).
type MemoryStore = memory.Store

// memoryTools are offered to agents whose memory scope is not none.
var memoryTools = []llm.ToolSpec{memoryStoreSpec, memorySearchSpec}

// memoryTool runs call when it is a memory tool (ok).
func (r *ToolRunner) memoryTool(ctx context.Context, call llm.ToolCall) (out string, failure, fatal error, ok bool) {
	if call.Name != memoryStoreSpec.Name && call.Name != memorySearchSpec.Name {
		return "", nil, nil, false
	}
	out, failure, fatal = r.h.runMemoryTool(ctx, r.p, r.agent, r.session, call)
	return out, failure, fatal, true
}

// The memory tools.
var (
	memoryStoreSpec = llm.ToolSpec{Name: "memory_store", Description: "Remember a fact for later sessions. Memories are searched by similarity and recalled automatically when relevant.",
		Parameters: json.RawMessage(`{"type":"object","properties":{"text":{"type":"string","minLength":1,"maxLength":20000,"description":"What to remember, self-contained."},"tags":{"type":"array","items":{"type":"string"},"description":"Optional labels."},"shared":{"type":"boolean","description":"Let other agents with shared memory see it."}},"required":["text"],"additionalProperties":false}`)}
	memorySearchSpec = llm.ToolSpec{Name: "memory_search", Description: "Search your memories by similarity to a query.",
		Parameters: json.RawMessage(`{"type":"object","properties":{"query":{"type":"string","minLength":1},"k":{"type":"integer","minimum":1,"maximum":20,"description":"How many results (default 5)."}},"required":["query"],"additionalProperties":false}`)}
)

// runMemoryTool serves memory_store and memory_search for an agent whose
// memories are filed under agentName (its definition's name, so memory
// outlives sessions). Both are acts through the authority pipeline.
func (h *Host) runMemoryTool(ctx context.Context, p *kernel.Process, agentName, session string, call llm.ToolCall) (out string, failure, fatal error) {
	subject := subjectOf(p, session)
	dec := json.NewDecoder(strings.NewReader(string(call.Arguments)))
	dec.DisallowUnknownFields()
	refuseInput := func(action, msg string) (string, error, error) {
		act := authority.Act{Action: action, Subject: subject, Context: governance.Context{Tool: call.Name}, Carry: CarryFrom(ctx)}
		cause := fmt.Errorf("%w: %s", authority.ErrInput, msg)
		if err := h.auth.Refuse(ctx, act, cause); errors.Is(err, authority.ErrLedger) {
			return "", nil, err
		}
		return msg, cause, nil
	}
	switch call.Name {
	case memoryStoreSpec.Name:
		var in struct {
			Text   string   `json:"text"`
			Tags   []string `json:"tags"`
			Shared bool     `json:"shared"`
		}
		if err := dec.Decode(&in); err != nil || strings.TrimSpace(in.Text) == "" {
			return refuseInput("memory.store", `invalid input: want {"text": "..."}`)
		}
		var rec memory.Record
		var created bool
		err := h.auth.Do(ctx, authority.Act{Action: "memory.store", Kind: governance.KindMemoryStore, Source: "memory", Subject: subject,
			Context: governance.Context{Tool: call.Name, Extra: map[string]string{"shared": fmt.Sprint(in.Shared), "call_id": call.ID}}, Carry: CarryFrom(ctx),
			Checks: []authority.Check{memoryScopeCheck(p), func() error { return kernelErr(p.ChargeToolCall(call.Name)) }}},
			func(ctx context.Context, pm *authority.Permit) (any, error) {
				det := governance.MemoryDetail{ID: memory.ContentID(in.Text), Bytes: len(in.Text), Tags: in.Tags, Shared: in.Shared}
				var err error
				// The record carries the seq of the decision that allowed
				// it; the outcome event (same action id) names the record.
				rec, created, err = h.memory.Put(ctx, in.Text, memory.Meta{Agent: agentName, Session: session, Source: "agent", Tags: in.Tags, Shared: in.Shared},
					pm.DecisionSeq())
				det.Created = created
				return det, err
			})
		if err != nil {
			return Refusal(ctx, err)
		}
		b, _ := json.Marshal(map[string]any{"id": rec.ID, "stored": created, "chain_seq": rec.ChainSeq})
		return string(b), nil, nil
	default:
		var in struct {
			Query string `json:"query"`
			K     int    `json:"k"`
		}
		if err := dec.Decode(&in); err != nil || strings.TrimSpace(in.Query) == "" {
			return refuseInput("memory.search", `invalid input: want {"query": "..."}`)
		}
		if in.K <= 0 || in.K > 20 {
			in.K = 5
		}
		hits, err := h.searchMemory(ctx, p, agentName, session, in.Query, in.K, "tool", call.ID, true)
		if err != nil {
			return Refusal(ctx, err)
		}
		type hit struct {
			Text  string  `json:"text"`
			Score float32 `json:"score"`
		}
		out := make([]hit, len(hits))
		for i, h := range hits {
			out[i] = hit{h.Record.Text, h.Score}
		}
		b, _ := json.Marshal(out)
		return string(b), nil, nil
	}
}
