package daemon

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/causal"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/impulse"
	"github.com/weftos/weftos/internal/jcs"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/tick"
	"github.com/weftos/weftos/internal/xref"
)

// salienceSize bounds the working set: the most active refs the tick has
// seen, by activation.
const salienceSize = 256

// eccEngine is the ECC layer's running part: the impulse queue fed by the
// chain indexer, and the cognitive tick that works through it — keeping
// the working set (what is salient now) and making the causal graph
// durable at most once per tick.
type eccEngine struct {
	queue   *impulse.Queue
	runner  *tick.Runner[impulse.Impulse]
	mu      sync.Mutex
	salient map[string]apitype.EccSalient
}

// openECC starts the impulse queue and the tick (calibrated on the real
// tick work against a scratch working set).
func (d *Daemon) openECC(ctx context.Context) {
	e := &eccEngine{queue: impulse.New(impulse.Options{Clock: d.opts.Clock}), salient: map[string]apitype.EccSalient{}}
	e.runner = tick.New(tick.Options[impulse.Impulse]{Queue: e.queue, Clock: d.opts.Clock, Logger: d.log.With("layer", "ecc"),
		Work: func(ctx context.Context, batch []impulse.Impulse) { d.eccWork(e, e.salient, batch, true) }})
	scratch := map[string]apitype.EccSalient{}
	now := d.opts.Clock.Now()
	sample := make([]impulse.Impulse, tick.CalibrationBatch)
	for i := range sample {
		sample[i] = impulse.Impulse{Key: "calibration:" + strconv.Itoa(i), Source: "calibration", Count: 1, First: now, Last: now}
	}
	e.runner.Calibrate(ctx, sample, func(ctx context.Context, batch []impulse.Impulse) { d.eccWork(e, scratch, batch, false) })
	d.ecc = e
	e.runner.Start(d.bgCtx)
}

// eccWork is one tick's work: each impulse joins the working set with its
// activation (the least active leaves when it is full), and the graph's
// new edges are made durable (one fsync).
func (d *Daemon) eccWork(e *eccEngine, ws map[string]apitype.EccSalient, batch []impulse.Impulse, sync bool) {
	e.mu.Lock()
	for _, imp := range batch {
		s := ws[imp.Key]
		s.Key, s.Source, s.Ref, s.Activation, s.Count = imp.Key, imp.Source, imp.Ref, imp.Activation, s.Count+imp.Count
		s.Seen = imp.Last
		ws[imp.Key] = s
	}
	evictLeastActive(ws, salienceSize)
	e.mu.Unlock()
	if sync {
		if err := d.syncGraph(false); err != nil {
			d.log.Error("syncing the causal graph failed", "err", err)
		}
	}
}

// evictLeastActive removes the least active entries of ws (ties: the
// smaller key first) until at most size remain — in one sort, not a scan
// of the whole set per entry evicted.
func evictLeastActive(ws map[string]apitype.EccSalient, size int) {
	if len(ws) <= size {
		return
	}
	keys := make([]string, 0, len(ws))
	for k := range ws {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		x, y := ws[a].Activation, ws[b].Activation
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return strings.Compare(a, b)
	})
	for _, k := range keys[:len(keys)-size] {
		delete(ws, k)
	}
}

// emitImpulses feeds the queue from indexed chain events: every event,
// memory writes (rehearsed when the same record is stored again), and
// messages on IPC topics.
func (d *Daemon) emitImpulses(evs []chain.Event) {
	if d.ecc == nil {
		return
	}
	q := d.ecc.queue
	for _, ev := range evs {
		q.Emit("seq:"+strconv.FormatUint(ev.Seq, 10), "chain", ev.Kind)
		switch ev.Kind {
		case governance.KindMemoryStore:
			var rec governance.ActRecord
			var det governance.MemoryDetail
			if json.Unmarshal(ev.Payload, &rec) == nil && rec.OK && json.Unmarshal(rec.Detail, &det) == nil && det.ID != "" {
				q.Emit("memory:"+det.ID, "memory", rec.Session)
			}
		case governance.KindIPCSend:
			if target, err := jcs.MemberString(ev.Payload, "target"); err == nil && strings.HasPrefix(target, "topic:") {
				q.Emit(target, "topic", "")
			}
		}
	}
}

func (d *Daemon) closeECC() {
	if d.ecc != nil {
		d.ecc.runner.Close()
	}
}

// handleEccStatus answers GET /v1/ecc/status.
func (d *Daemon) handleEccStatus(w http.ResponseWriter, r *http.Request) {
	if d.ecc == nil {
		d.fail(w, d.chainErr())
		return
	}
	ts := d.ecc.runner.Stats()
	qs := d.ecc.queue.Stats()
	out := apitype.EccStatus{
		Interval: ts.State.Interval, Batch: ts.State.Batch, Budget: ts.State.Budget, BudgetUse: ts.BudgetUse,
		LastCompute: ts.LastCompute, ArrivalRate: ts.State.Rate, Ticks: ts.Ticks, Wakes: ts.Wakes, Overruns: ts.Overruns,
		CalibrationP50: ts.CalibrationP50, CalibrationP95: ts.CalibrationP95,
		Queue: apitype.EccQueue{Depth: qs.Depth, Capacity: qs.Capacity, Emitted: qs.Emitted, Rehearsed: qs.Rehearsed,
			Expired: qs.Expired, Evicted: qs.Evicted, Processed: qs.Drained},
	}
	if el := d.opts.Clock.Now().Sub(ts.Started).Seconds(); el > 0 {
		out.WakesPerSecond = float64(ts.Wakes) / el
	}
	if d.graph != nil {
		gs := d.graph.Stats()
		h := d.graph.Hash()
		out.Graph = apitype.EccGraph{Nodes: gs.Nodes, Edges: gs.Edges, Stale: gs.Stale, Refused: gs.Refused, Invalidations: gs.Invalidations,
			Hash: hex.EncodeToString(h[:])}
	}
	if d.xref != nil {
		out.Xref.Nodes, out.Xref.Links = d.xref.Len()
		out.Xref.Through = d.xref.Through()
	}
	d.ecc.mu.Lock()
	for _, s := range d.ecc.salient {
		out.Salient = append(out.Salient, s)
	}
	d.ecc.mu.Unlock()
	slices.SortFunc(out.Salient, func(a, b apitype.EccSalient) int {
		if a.Activation != b.Activation {
			if a.Activation > b.Activation {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Key, b.Key)
	})
	if len(out.Salient) > 10 {
		out.Salient = out.Salient[:10]
	}
	localapi.WriteJSON(w, out)
}

// linkAnswer is ECC's Act mode: an agent's answer gets a universal id (an
// event: the session, the process, the answer's hash, the time) and a
// derived_from edge — a governed act — to every memory recalled for it;
// each recalled memory is rehearsed in the impulse queue. It returns the
// answer's id, or "" when nothing was recalled or the graph is closed.
func (d *Daemon) linkAnswer(ctx context.Context, p *kernel.Process, session, answer string, memories []string) string {
	if d.graph == nil || len(memories) == 0 {
		return ""
	}
	id, err := xref.EventFields("agent.answer", d.opts.Clock.Now(), xref.Str("session", session), xref.Uint("pid", uint64(p.PID())), xref.Str("answer_hash", shake([]byte(answer))))
	if err != nil {
		d.log.Error("answer id", "err", err)
		return ""
	}
	for _, m := range memories {
		mem, err := memoryNode(m)
		if err != nil {
			continue
		}
		e := causal.Edge{From: causal.ID(id), To: causal.ID(mem.ID), Type: causal.DerivedFrom, Weight: 1}
		if _, err := d.linkEdge(ctx, subjectOf(p, session), e); err != nil {
			d.log.Warn("linking an answer to a recalled memory", "memory", m, "err", err)
			continue
		}
		if d.ecc != nil {
			d.ecc.queue.Emit("memory:"+m, "memory", session)
		}
	}
	return id.String()
}
