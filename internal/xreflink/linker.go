// Package xreflink turns ExoChain events into the cross-reference graph's
// nodes and links (internal/xref): each decision to its action, each
// outcome to its decision, session, process and tool call, and what an act
// touched — memory records, documents, graph edges, plans' results,
// spawned processes. The daemon feeds it every committed event in order
// and applies the batches to the index; docs/ECC.md lists the relations.
package xreflink

import (
	"bytes"
	"encoding/json"
	"errors"
	"hash/maphash"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/ecchost"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/xref"
)

// Relations of cross-reference links (docs/ECC.md lists them).
const (
	relOutcomeOf = "outcome_of" // an act's outcome event → its action
	relDecides   = "decides"    // a decision event → the action it allowed
	relRefuses   = "refuses"    // a refusal event → the action it refused
	relDecidedBy = "decided_by" // an outcome event → the decision event
	relInSession = "in_session" // an event or tool call → its session
	relByProcess = "by_process" // an event or tool call → the process that acted
	relForCall   = "for_call"   // an event → the tool call it served
	relStored    = "stored"     // memory.store → the record
	relRecalled  = "recalled"   // memory.search → each record it returned
	relDeleted   = "deleted"    // memory.delete → the record
	relSpawned   = "spawned"    // process.spawn → the process
	relChildOf   = "child_of"   // a process → its parent
	relAbout     = "about"      // a process or session event → its subject
	relPartOf    = "part_of"    // an ingested chunk → its document
)

// Linker turns chain events into xref nodes and links. It keeps the
// process and session nodes it made lately (bounded) and reads
// the index it feeds to find an outcome's decision in an earlier batch;
// one goroutine uses it at a time.
type Linker struct {
	node string // this node's id: processes are (node, pid)
	x    *xref.Index
	// Nodes made lately: most events name their process and session,
	// which other events named before. (An action is named twice, by its
	// decision and its outcome, but a cache of them missed the CPU caches
	// for longer than hashing it again takes.)
	procs    nodeCache[uint64]
	sessions nodeCache[string]
	r        round // reused by Batch
}

// nodeCache remembers nodes made lately by name, in a fixed number of
// slots: a name's slot is picked by a seeded hash and a newer name takes
// it over. A node is a function of its name: the cache only saves making
// it again.
type nodeCache[K comparable] struct {
	seed  maphash.Seed
	slots []cacheSlot[K]
}

type cacheSlot[K comparable] struct {
	name K
	node xref.Node
	full bool
}

// cacheSlots is the size of each node cache (a power of two).
const cacheSlots = 4096

func (c *nodeCache[K]) slot(name K) *cacheSlot[K] {
	if c.slots == nil {
		c.seed, c.slots = maphash.MakeSeed(), make([]cacheSlot[K], cacheSlots)
	}
	return &c.slots[maphash.Comparable(c.seed, name)&(cacheSlots-1)]
}

// ids of the structures events refer to: entities, content only.

func (l *Linker) sessionNode(name string) (xref.Node, error) {
	s := l.sessions.slot(name)
	if s.full && s.name == name {
		return s.node, nil
	}
	n, err := xref.SessionNode(name)
	if err == nil {
		*s = cacheSlot[string]{name: name, node: n, full: true}
	}
	return n, err
}

func (l *Linker) processNode(pid uint64) (xref.Node, error) {
	s := l.procs.slot(pid)
	if s.full && s.name == pid {
		return s.node, nil
	}
	id, err := xref.EntityFields("process", xref.Str("node", l.node), xref.Uint("pid", pid))
	n := xref.Node{ID: id, Type: "process", Key: "pid:" + strconv.FormatUint(pid, 10)}
	if err == nil {
		*s = cacheSlot[uint64]{name: pid, node: n, full: true}
	}
	return n, err
}

func memoryNode(contentID string) (xref.Node, error) { return xref.MemoryNode(contentID) }

func toolCallNode(pid uint64, callID string) (xref.Node, error) {
	id, err := xref.EntityFields("tool.call", xref.Uint("pid", pid), xref.Str("call_id", callID))
	return xref.Node{ID: id, Type: "tool.call", Key: "call:" + strconv.FormatUint(pid, 10) + "/" + callID}, err
}

func actionNode(actionID string) (xref.Node, error) {
	id, err := xref.EntityFields("action", xref.Str("action_id", actionID))
	return xref.Node{ID: id, Type: "action", Key: "action:" + actionID}, err
}

// EventID is a chain event's universal id: an event, so its timestamp is
// part of it, with the chain id, seq and hash.
func EventID(ev chain.Event) (xref.ID, error) {
	return xref.EventFields("chain.event", time.Unix(0, ev.Timestamp), xref.Uint("chain_id", uint64(ev.ChainID)), xref.Uint("seq", ev.Seq), xref.Hash32("hash", ev.Hash))
}

// round collects one batch and what it learnt, so that an outcome finds
// its decision even when both are in the batch.
type round struct {
	l       *Linker
	b       xref.Batch
	decided map[string]xref.ID  // action id → decision event
	calls   map[xref.ID]xref.ID // decision event → tool call
	errs    []error
}

func (r *round) node(n xref.Node, err error) xref.ID {
	if err != nil {
		r.errs = append(r.errs, err)
		return xref.ID{}
	}
	r.b.Nodes = append(r.b.Nodes, n)
	return n.ID
}

func (r *round) link(from xref.ID, rel string, to xref.ID, seq uint64) {
	if from.IsZero() || to.IsZero() {
		return
	}
	r.b.Links = append(r.b.Links, xref.Link{From: from, To: to, Rel: rel, Seq: seq})
}

// decisionOf finds the decision event of an action, in this round or the
// index, and the tool call it served.
func (r *round) decisionOf(actionID string) (dec, call xref.ID) {
	if id, ok := r.decided[actionID]; ok {
		return id, r.calls[id]
	}
	a, ok := r.l.x.KeyID("action:" + actionID)
	if !ok {
		return
	}
	if dec, ok = r.l.x.FirstIn(a, relDecides); !ok {
		return
	}
	call, _ = r.l.x.FirstOut(dec, relForCall)
	return dec, call
}

// New returns the linker of node (this node's id: processes are (node,
// pid)) feeding x.
func New(node string, x *xref.Index) *Linker { return &Linker{node: node, x: x} }

// Batch is the nodes and links of evs, consecutive chain events; its
// Through is the seq after the last. Events whose payload cannot be read
// add their own node only; an id that cannot be made is an error (the
// batch holds the rest).
//
// The batch's slices are the linker's, reused by the next Batch: apply
// the batch before calling it again.
func (l *Linker) Batch(evs []chain.Event) (xref.Batch, error) {
	r := &l.r
	if r.decided == nil || len(r.decided) > 4096 { // do not keep a huge batch's maps
		r.decided, r.calls = map[string]xref.ID{}, map[xref.ID]xref.ID{}
	}
	clear(r.decided)
	clear(r.calls)
	*r = round{l: l, decided: r.decided, calls: r.calls, b: xref.Batch{Nodes: r.b.Nodes[:0], Links: r.b.Links[:0]}}
	for _, ev := range evs {
		l.event(r, ev)
		r.b.Through = ev.Seq + 1
	}
	b, err := r.b, errors.Join(r.errs...)
	if cap(b.Nodes)+cap(b.Links) > 1<<16 { // nor its slices
		r.b = xref.Batch{}
	}
	return b, err
}

// event adds an event's node and the links its payload names.
func (l *Linker) event(r *round, ev chain.Event) {
	id, err := EventID(ev)
	e := r.node(xref.Node{ID: id, Type: "chain.event", Key: "seq:" + strconv.FormatUint(ev.Seq, 10)}, err)
	if e.IsZero() || len(ev.Payload) == 0 {
		return
	}
	seq := ev.Seq
	spec, _ := governance.LookupKind(ev.Kind)
	switch {
	case ev.Kind == governance.KindDecision || ev.Kind == governance.KindRefusal:
		rec, err := readDecision(ev.Payload)
		if err != nil || rec.ActionID == "" {
			return
		}
		rel := relDecides
		if ev.Kind == governance.KindRefusal {
			rel = relRefuses
		}
		r.link(e, rel, r.node(actionNode(rec.ActionID)), seq)
		if ev.Kind == governance.KindDecision {
			r.decided[rec.ActionID] = e
		}
		if rec.PID != 0 {
			p := r.node(l.processNode(rec.PID))
			r.link(e, relByProcess, p, seq)
			if c := rec.CallID; c != "" {
				call := r.node(toolCallNode(rec.PID, c))
				r.link(e, relForCall, call, seq)
				r.link(call, relByProcess, p, seq)
				r.calls[e] = call
			}
		}
	case spec.Class == governance.ClassAct:
		rec, err := readAct(ev.Payload)
		if err != nil {
			return
		}
		l.act(r, e, seq, ev.Kind, rec)
	default:
		l.kernelEvent(r, e, seq, ev.Kind, ev.Payload)
	}
}

// act links an act's outcome: its action and decision, session, process,
// tool call, and what it touched.
func (l *Linker) act(r *round, e xref.ID, seq uint64, kind string, rec actLinks) {
	var call, sess, proc xref.ID
	if rec.ActionID != "" {
		r.link(e, relOutcomeOf, r.node(actionNode(rec.ActionID)), seq)
		dec, c := r.decisionOf(rec.ActionID)
		r.link(e, relDecidedBy, dec, seq)
		call = c
	}
	if rec.Session != "" {
		sess = r.node(l.sessionNode(rec.Session))
		r.link(e, relInSession, sess, seq)
	}
	if rec.PID != 0 {
		proc = r.node(l.processNode(rec.PID))
		r.link(e, relByProcess, proc, seq)
	}
	switch kind {
	case governance.KindToolCall:
		var det governance.ToolCallDetail
		if json.Unmarshal(rec.Detail, &det) == nil && det.CallID != "" && rec.PID != 0 {
			call = r.node(toolCallNode(rec.PID, det.CallID))
		}
	case governance.KindEccAnalyze:
		var det governance.EccAnalyzeDetail
		if rec.OK && json.Unmarshal(rec.Detail, &det) == nil {
			l.analysis(r, e, seq, det)
		}
	case governance.KindMemoryIngest:
		var det governance.MemoryDetail
		if rec.OK && json.Unmarshal(rec.Detail, &det) == nil && det.Document != "" {
			doc := r.node(ecchost.DocumentNode(det.Document))
			r.link(e, relAbout, doc, seq)
			for _, c := range det.ChunkIDs {
				if c != "" {
					chunk := r.node(memoryNode(c))
					r.link(e, relStored, chunk, seq)
					r.link(chunk, relPartOf, doc, seq)
				}
			}
		}
	case governance.KindMemoryStore, governance.KindMemorySearch, governance.KindMemoryDelete:
		if kind == governance.KindMemorySearch && !mayName(rec.Detail, "hit") {
			break // no hits: nothing to link, whether the detail decodes or not
		}
		var det governance.MemoryDetail
		if json.Unmarshal(rec.Detail, &det) != nil {
			break
		}
		switch kind {
		case governance.KindMemoryStore:
			if det.ID != "" && rec.OK {
				r.link(e, relStored, r.node(memoryNode(det.ID)), seq)
			}
		case governance.KindMemoryDelete:
			if det.ID != "" && rec.OK {
				r.link(e, relDeleted, r.node(memoryNode(det.ID)), seq)
			}
		default:
			for _, h := range det.Hits {
				r.link(e, relRecalled, r.node(memoryNode(h)), seq)
			}
		}
	case governance.KindSessionRemove:
		var det governance.SessionDetail
		if json.Unmarshal(rec.Detail, &det) == nil && det.Session != "" {
			r.link(e, relAbout, r.node(l.sessionNode(det.Session)), seq)
		}
	case governance.KindEccEdge:
		var det governance.EccEdgeDetail
		if json.Unmarshal(rec.Detail, &det) == nil && det.Added {
			from, err1 := xref.ParseID(det.From)
			to, err2 := xref.ParseID(det.To)
			if err1 == nil && err2 == nil {
				// Nodes the index does not know yet (a derived artifact's
				// new id) become graph nodes; known ones keep their type.
				r.node(xref.Node{ID: from, Type: "graph.node"}, nil)
				r.node(xref.Node{ID: to, Type: "graph.node"}, nil)
				r.link(from, "ecc."+det.Type, to, seq)
				r.link(e, relAbout, from, seq)
			}
		}
	case governance.KindPlanTask, governance.KindPlanAnswer:
		planXref(r, e, seq, kind, rec.Detail)
	case governance.KindChannelMessage:
		var det governance.ChannelMessageDetail
		if json.Unmarshal(rec.Detail, &det) == nil && det.Session != "" {
			r.link(e, relInSession, r.node(l.sessionNode(det.Session)), seq)
		}
	}
	if !call.IsZero() {
		r.link(e, relForCall, call, seq)
		r.link(call, relInSession, sess, seq)
		r.link(call, relByProcess, proc, seq)
	}
}

// analysis links an ecc.analyze outcome: the event stored each chunk and
// is about the document; each chunk is part of the document, follows the
// chunk before it and mentions its entities (the graph's edges, as links).
func (l *Linker) analysis(r *round, e xref.ID, seq uint64, det governance.EccAnalyzeDetail) {
	// A record the daemon did not write (it writes them whole) names
	// nothing to link: skipped, as malformed ecc.edge records are.
	docID, err := xref.ParseID(det.Document)
	edges, eerr := ecchost.AnalysisEdges(det)
	if err != nil || eerr != nil {
		return
	}
	typ := "document"
	if strings.HasPrefix(det.Key, "session:") {
		typ = "session"
	}
	doc := r.node(xref.Node{ID: docID, Type: typ, Key: det.Key}, nil)
	r.link(e, relAbout, doc, seq)
	for _, c := range det.Chunks {
		if c != "" {
			r.link(e, relStored, r.node(memoryNode(c)), seq)
		}
	}
	for _, k := range det.Entities {
		r.node(ecchost.EntityNode(k))
	}
	for _, ed := range edges {
		r.link(xref.ID(ed.From), "ecc."+ed.Type.String(), xref.ID(ed.To), seq)
	}
}

// kernelEvent links process lifecycle and IPC events to their processes.
func (l *Linker) kernelEvent(r *round, e xref.ID, seq uint64, kind string, payload json.RawMessage) {
	p, err := readKernelEvent(payload)
	if err != nil {
		return
	}
	if p.ActionID != "" {
		r.link(e, relOutcomeOf, r.node(actionNode(p.ActionID)), seq)
		dec, _ := r.decisionOf(p.ActionID)
		r.link(e, relDecidedBy, dec, seq)
	}
	switch kind {
	case governance.KindProcessSpawn:
		if p.PID == 0 {
			return
		}
		proc := r.node(l.processNode(p.PID))
		r.link(e, relSpawned, proc, seq)
		r.link(proc, relChildOf, r.node(l.processNode(p.Parent)), seq)
	case governance.KindProcessState, governance.KindProcessExit, governance.KindProcessLimit, governance.KindProcessElevate:
		if p.PID != 0 {
			r.link(e, relAbout, r.node(l.processNode(p.PID)), seq)
		}
	case governance.KindIPCSend, governance.KindIPCDeadLetter:
		r.link(e, relByProcess, r.node(l.processNode(p.From)), seq)
	}
}

// mayName reports whether JSON text may hold a member name that
// encoding/json matches to a field whose name starts with word (ASCII
// lowercase letters): it does unless the text is ASCII without escapes
// (no other letters fold to ASCII ones, and an escape could spell any)
// and word appears in no case in it.
func mayName(text []byte, word string) bool {
	w := []byte(word)
	for i, c := range text {
		if c >= utf8.RuneSelf || c == '\\' {
			return true
		}
		if i+len(w) <= len(text) && bytes.EqualFold(text[i:i+len(w)], w) {
			return true
		}
	}
	return false
}
