package apitype

import "time"

// PlanRequest is the body of POST /v1/plan/run: a goal for ECC's Generate
// mode. The planner agent proposes a DAG of tasks; the daemon validates it,
// runs its tasks as agent turns on Workers at once, replans failed
// subtrees at most MaxReplans times, and composes the final answer.
type PlanRequest struct {
	Goal      string `json:"goal"`
	Workspace string `json:"workspace"`
	// Agent is the planner's (and the final answer's) agent definition;
	// each task names its own.
	Agent string `json:"agent,omitempty"`
	Model string `json:"model,omitempty"`
	// Workers bounds the tasks running at once (0: 4, at most 32).
	Workers int `json:"workers,omitempty"`
	// MaxReplans bounds the replacements of failed subtrees (0: 2;
	// negative: none).
	MaxReplans int `json:"max_replans,omitempty"`
}

// PlanTask is one task of a plan as the client sees it.
type PlanTask struct {
	ID     string   `json:"id"`
	Agent  string   `json:"agent,omitempty"`
	Prompt string   `json:"prompt"`
	Deps   []string `json:"deps,omitempty"`
	Tools  []string `json:"tools,omitempty"`
}

// Plan event types, in the order a client sees them.
const (
	PlanProposed = "plan"     // the plan adopted (Plan, Tasks, Seq of its plan.create record)
	PlanRejected = "rejected" // a proposal refused (Message): the model is asked once more
	PlanStart    = "start"    // a task started (Task)
	PlanDone     = "done"     // a task succeeded (Task, Output, ResultID)
	PlanFail     = "fail"     // a task failed (Task, Code, Message)
	PlanReplan   = "replan"   // a failed task and its dependants replaced (Task, Removed, Tasks added)
	PlanAbandon  = "abandon"  // a failed task's dependants given up (Task, Skipped, Message)
	PlanApproval = "approval" // a task's act waits for a human (Task, Code: the action, Message: how to approve)
	PlanFinal    = "final"    // the final answer (Answer, AnswerID, Results)
	PlanError    = "error"    // the plan could not be made or finished (Code, Message)
)

// PlanEvent is one line of the /v1/plan/run stream.
type PlanEvent struct {
	Type string    `json:"type"`
	Plan string    `json:"plan,omitempty"`
	Time time.Time `json:"time,omitzero"`
	Task string    `json:"task,omitempty"`
	// Tasks: the plan (plan), or the tasks a replan added (replan).
	Tasks   []PlanTask `json:"tasks,omitempty"`
	Removed []string   `json:"removed,omitempty"`
	Skipped []string   `json:"skipped,omitempty"`
	Output  string     `json:"output,omitempty"`
	// ResultID is a done task's result id (universal id; `weave ecc why`
	// shows the results it derives from).
	ResultID string `json:"result_id,omitempty"`
	Answer   string `json:"answer,omitempty"`
	AnswerID string `json:"answer_id,omitempty"`
	// Results maps each task of the final plan to its result id (final).
	Results map[string]string `json:"results,omitempty"`
	// Running, Done and Total describe the schedule after the event.
	Running int    `json:"running,omitempty"`
	Done    int    `json:"done,omitempty"`
	Total   int    `json:"total,omitempty"`
	Replans int    `json:"replans,omitempty"`
	Seq     uint64 `json:"seq,omitempty"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}
