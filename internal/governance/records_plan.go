package governance

// Chain event kinds of ECC's Generate mode (weft plan, internal/plan): the
// plan a model proposed and adopted, each replacement of a failed subtree,
// each task's run and the final answer — all acts (ActRecord). Task
// instructions and answers appear as hashes, never as text; the agent turns
// inside a task are recorded by their own acts (llm.call, tool.call, …).
const (
	KindPlanCreate = "plan.create" // a validated plan adopted (its DAG)
	KindPlanReplan = "plan.replan" // a failed task and its dependants replaced
	KindPlanTask   = "plan.task"   // one task run as an agent turn
	KindPlanAnswer = "plan.answer" // the final answer composed from the task results
)

// PlanTaskSpec is one task of a recorded plan: its place in the DAG and a
// hash of its instruction.
type PlanTaskSpec struct {
	ID         string   `json:"id"`
	Agent      string   `json:"agent,omitempty"`
	Deps       []string `json:"deps,omitempty"`
	Tools      []string `json:"tools,omitempty"`
	PromptHash string   `json:"prompt_hash"`
}

// PlanDetail is the Detail of plan.create and plan.replan. For a replan,
// Failed is the task that failed (Error why), Replaced the ids taken out
// and Tasks the ones put in.
type PlanDetail struct {
	Plan     string         `json:"plan"`
	Revision int            `json:"revision"`
	GoalHash string         `json:"goal_hash"`
	Tasks    []PlanTaskSpec `json:"tasks"`
	Workers  int            `json:"workers,omitempty"`
	Failed   string         `json:"failed,omitempty"`
	Error    string         `json:"error,omitempty"`
	Replaced []string       `json:"replaced,omitempty"`
}

// PlanTaskDetail is the Detail of plan.task: which task ran in which
// session, the ids of the results it was given (its dependencies') and of
// the result it produced (universal ids, linked derived_from in the causal
// graph), a hash of its answer.
type PlanTaskDetail struct {
	Plan       string   `json:"plan"`
	Task       string   `json:"task"`
	Agent      string   `json:"agent,omitempty"`
	Session    string   `json:"session"`
	Deps       []string `json:"deps,omitempty"`
	Result     string   `json:"result,omitempty"`
	AnswerHash string   `json:"answer_hash,omitempty"`
	Turns      int      `json:"turns,omitempty"`
	Code       string   `json:"code,omitempty"`
	// TurnAnswer is the agent turn's own answer id when it recalled
	// memories (Act mode): the result derives from it too.
	TurnAnswer string `json:"turn_answer,omitempty"`
}

// PlanAnswerDetail is the Detail of plan.answer: the final answer's id and
// hash and the task results it derives from.
type PlanAnswerDetail struct {
	Plan       string   `json:"plan"`
	Answer     string   `json:"answer,omitempty"`
	AnswerHash string   `json:"answer_hash,omitempty"`
	Session    string   `json:"session"`
	From       []string `json:"from"`
	TurnAnswer string   `json:"turn_answer,omitempty"`
}

func init() {
	kindSpecs[KindPlanCreate] = KindSpec{Kind: KindPlanCreate, Class: ClassAct, Detail: func() any { return &PlanDetail{} }}
	kindSpecs[KindPlanReplan] = KindSpec{Kind: KindPlanReplan, Class: ClassAct, Detail: func() any { return &PlanDetail{} }}
	kindSpecs[KindPlanTask] = KindSpec{Kind: KindPlanTask, Class: ClassAct, Detail: func() any { return &PlanTaskDetail{} }}
	kindSpecs[KindPlanAnswer] = KindSpec{Kind: KindPlanAnswer, Class: ClassAct, Detail: func() any { return &PlanAnswerDetail{} }}
}
