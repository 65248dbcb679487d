package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/homedir"
	"github.com/weftos/weftos/internal/localapi"
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

// xrefBatch is how many chain events one indexing round reads.
const xrefBatch = 512

// chainFanout is the chain's Observer: the metrics, and a kick for the
// cross-reference indexer after every group commit (never blocking).
type chainFanout struct {
	next chain.Observer
	kick chan struct{}
}

func (o chainFanout) Committed(events, checkpoints int) {
	o.next.Committed(events, checkpoints)
	if events > 0 {
		select {
		case o.kick <- struct{}{}:
		default:
		}
	}
}

func (o chainFanout) Synced(d time.Duration) { o.next.Synced(d) }

// openXref opens the cross-reference index (HOME/xref.log) and starts
// indexing the chain from where the index stopped. The index is derived
// from the chain: a damaged file is set aside (kept, renamed) and rebuilt.
func (d *Daemon) openXref() error {
	if d.chain == nil {
		return nil
	}
	path := filepath.Join(d.home, homedir.Xref)
	x, err := openDerived(d, homedir.Xref, "cross-reference index", xref.Open, xref.ErrCorrupt)
	if err != nil {
		return err
	}
	if x.Through() > d.chain.Len() {
		// The index describes a longer chain than this one: rebuild.
		_ = x.Close()
		aside := fmt.Sprintf("%s.stale-%d", path, d.opts.Clock.Now().UnixNano())
		d.log.Warn("the cross-reference index is ahead of the chain: set aside and rebuilt", "through", x.Through(), "chain", d.chain.Len(), "kept", aside)
		if err := os.Rename(path, aside); err != nil {
			return fmt.Errorf("daemon: %w", err)
		}
		if x, err = xref.Open(path); err != nil {
			return fmt.Errorf("daemon: xref index: %w", err)
		}
	}
	if d.graph != nil && d.graph.Through() < x.Through() {
		// Edges recorded since the graph's last sync may be missing.
		if err := d.replayGraph(d.graph.Through(), x.Through()); err != nil {
			_ = x.Close()
			return err
		}
	}
	d.xref = x
	d.xrefLinker = &linker{node: d.id.NodeID, x: x}
	d.goBackground(d.runXref)
	return nil
}

// runXref indexes every committed chain event, woken by each commit.
func (d *Daemon) runXref(ctx context.Context) {
	for {
		if err := d.indexChain(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("cross-reference indexing failed; retried at the next commit", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-d.chainKick:
		}
	}
}

// indexChain indexes the events the index does not cover yet.
func (d *Daemon) indexChain(ctx context.Context) error {
	d.xrefMu.Lock()
	defer d.xrefMu.Unlock()
	for ctx.Err() == nil {
		from, to := d.xref.Through(), d.chain.Len()
		if from >= to {
			return nil
		}
		to = min(to, from+xrefBatch)
		var evs []chain.Event
		for ev, err := range d.chain.Events(from, to) {
			if err != nil {
				return err
			}
			evs = append(evs, ev)
		}
		b, err := d.xrefLinker.batch(evs)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if d.graph == nil {
				continue
			}
			var err error
			switch ev.Kind {
			case governance.KindEccEdge:
				err = d.applyEdgeRecord(ev.Payload)
			case governance.KindEccAnalyze:
				err = d.applyAnalyzeRecord(ev.Payload)
			}
			if err != nil {
				return fmt.Errorf("graph edges at seq %d: %w", ev.Seq, err)
			}
		}
		if err := d.xref.Apply(b); err != nil {
			return err
		}
		d.emitImpulses(evs)
	}
	return nil
}

// closeXref syncs and closes the index (the indexer has stopped).
func (d *Daemon) closeXref() error {
	if d.xref == nil {
		return nil
	}
	if err := d.xref.Close(); err != nil {
		return fmt.Errorf("xref: %w", err)
	}
	return nil
}

// linker turns chain events into xref nodes and links.
type linker struct {
	node  string // this node's id: processes are (node, pid)
	x     *xref.Index
	procs map[uint64]xref.Node // process nodes made, by pid (most events name one)
}

// maxProcNodes bounds linker.procs; it is emptied when full.
const maxProcNodes = 4096

// ids of the structures events refer to: entities, content only.
func sessionNode(name string) (xref.Node, error) { return xref.SessionNode(name) }

func (l *linker) processNode(pid uint64) (xref.Node, error) {
	if n, ok := l.procs[pid]; ok {
		return n, nil
	}
	id, err := xref.EntityFields("process", xref.Str("node", l.node), xref.Uint("pid", pid))
	n := xref.Node{ID: id, Type: "process", Key: "pid:" + strconv.FormatUint(pid, 10)}
	if err == nil {
		if l.procs == nil || len(l.procs) >= maxProcNodes {
			l.procs = make(map[uint64]xref.Node)
		}
		l.procs[pid] = n
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
	l       *linker
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
	a, ok := r.l.x.Key("action:" + actionID)
	if !ok {
		return
	}
	for _, in := range r.l.x.In(a.ID) {
		if in.Rel == relDecides {
			dec = in.From
			break
		}
	}
	if dec.IsZero() {
		return
	}
	for _, out := range r.l.x.Out(dec) {
		if out.Rel == relForCall {
			return dec, out.To
		}
	}
	return dec, xref.ID{}
}

func (l *linker) batch(evs []chain.Event) (xref.Batch, error) {
	r := &round{l: l, decided: map[string]xref.ID{}, calls: map[xref.ID]xref.ID{}}
	for _, ev := range evs {
		l.event(r, ev)
		r.b.Through = ev.Seq + 1
	}
	return r.b, errors.Join(r.errs...)
}

// event adds an event's node and the links its payload names.
func (l *linker) event(r *round, ev chain.Event) {
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
func (l *linker) act(r *round, e xref.ID, seq uint64, kind string, rec actLinks) {
	var call, sess, proc xref.ID
	if rec.ActionID != "" {
		r.link(e, relOutcomeOf, r.node(actionNode(rec.ActionID)), seq)
		dec, c := r.decisionOf(rec.ActionID)
		r.link(e, relDecidedBy, dec, seq)
		call = c
	}
	if rec.Session != "" {
		sess = r.node(sessionNode(rec.Session))
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
			doc := r.node(documentNode(det.Document))
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
			r.link(e, relAbout, r.node(sessionNode(det.Session)), seq)
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
			r.link(e, relInSession, r.node(sessionNode(det.Session)), seq)
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
func (l *linker) analysis(r *round, e xref.ID, seq uint64, det governance.EccAnalyzeDetail) {
	// A record the daemon did not write (it writes them whole) names
	// nothing to link: skipped, as malformed ecc.edge records are.
	docID, err := xref.ParseID(det.Document)
	edges, eerr := analysisEdges(det)
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
		r.node(entityNode(k))
	}
	for _, ed := range edges {
		r.link(xref.ID(ed.From), "ecc."+ed.Type.String(), xref.ID(ed.To), seq)
	}
}

// kernelEvent links process lifecycle and IPC events to their processes.
func (l *linker) kernelEvent(r *round, e xref.ID, seq uint64, kind string, payload json.RawMessage) {
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

func (d *Daemon) xrefRoutes() []localapi.Route {
	return []localapi.Route{{Pattern: "GET /v1/xref/{id}", Handler: d.handleXref}}
}

// handleXref shows what is linked to an id (or key, or hex prefix), to
// ?depth= hops (default 1, at most 6).
func (d *Daemon) handleXref(w http.ResponseWriter, r *http.Request) {
	if d.xref == nil {
		d.fail(w, d.chainErr())
		return
	}
	depth, err := queryUint(r, "depth", 1)
	if err != nil {
		d.fail(w, err)
		return
	}
	depth = min(max(depth, 1), 6)
	// What was committed before the request is indexed before it is
	// answered.
	if err := d.indexChain(r.Context()); err != nil {
		d.fail(w, err)
		return
	}
	id, err := d.xref.Resolve(r.PathValue("id"))
	if err != nil {
		d.fail(w, err)
		return
	}
	nodes, links := d.xref.Neighbourhood(id, int(depth), 1000)
	out := apitype.XrefResponse{Through: d.xref.Through(), Truncated: len(links) >= 1000}
	for _, n := range nodes {
		out.Nodes = append(out.Nodes, apitype.XrefNode{ID: n.ID.String(), Type: n.Type, Key: n.Key})
	}
	for _, l := range links {
		out.Links = append(out.Links, apitype.XrefLink{From: l.From.String(), To: l.To.String(), Rel: l.Rel, Seq: l.Seq})
	}
	localapi.WriteJSON(w, out)
}

// openDerived opens a file derived from the chain (HOME/name) with open; a
// damaged one (errCorrupt) is set aside — kept, renamed — and opened anew,
// to be rebuilt from the chain.
func openDerived[T any](d *Daemon, name, what string, open func(string) (T, error), errCorrupt error) (T, error) {
	path := filepath.Join(d.home, name)
	v, err := open(path)
	if errors.Is(err, errCorrupt) {
		aside := fmt.Sprintf("%s.corrupt-%d", path, d.opts.Clock.Now().UnixNano())
		d.log.Warn("the "+what+" is damaged: set aside and rebuilt from the chain", "err", err, "kept", aside)
		if rerr := os.Rename(path, aside); rerr != nil {
			var zero T
			return zero, fmt.Errorf("daemon: setting aside a damaged %s: %w", what, rerr)
		}
		v, err = open(path)
	}
	if err != nil {
		var zero T
		return zero, fmt.Errorf("daemon: %s: %w", what, err)
	}
	return v, nil
}
