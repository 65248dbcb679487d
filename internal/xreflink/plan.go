package xreflink

import (
	"encoding/json"

	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/xref"
)

// The cross-references of plans' events (weft plan, internal/planhost), indexed in
// every build: a binary without agents (nollm) still indexes a chain a
// full build wrote.

// relProduced links a plan.task or plan.answer outcome to the result or
// answer it produced.
const relProduced = "produced"

// planXref indexes a plan.task or plan.answer outcome: the event produced
// the result (a graph node), which lives in the task's session.
func planXref(r *round, e xref.ID, seq uint64, kind string, detail json.RawMessage) {
	var id, session string
	switch kind {
	case governance.KindPlanTask:
		var det governance.PlanTaskDetail
		if json.Unmarshal(detail, &det) != nil {
			return
		}
		id, session = det.Result, det.Session
	case governance.KindPlanAnswer:
		var det governance.PlanAnswerDetail
		if json.Unmarshal(detail, &det) != nil {
			return
		}
		id, session = det.Answer, det.Session
	}
	res, err := xref.ParseID(id)
	if err != nil {
		return // a failed task produced nothing
	}
	r.node(xref.Node{ID: res, Type: "graph.node"}, nil)
	r.link(e, relProduced, res, seq)
	if session != "" {
		r.link(res, relInSession, r.node(r.l.sessionNode(session)), seq)
	}
}
