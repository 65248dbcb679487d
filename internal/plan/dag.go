// Package plan is ECC's Generate mode without its I/O: a plan is a DAG of
// tasks (each one an instruction for an agent, with the tasks it depends
// on); this package parses the plan a model proposes, validates it
// (unique ids, known dependencies, no cycle — the cycle named — and
// known agents and tools through a caller's Known), and schedules it:
// Schedule is a pure ready-set state machine with a critical-path-first
// priority (longest remaining path), and Run drives it with N workers
// over an Executor, asking a Replanner for a replacement subgraph when a
// task fails (bounded attempts). Generate puts it together over a Host:
// propose (a refused proposal is recorded and the planner asked once more
// with the reason), adopt, run, replan, compose the final answer. The
// model, the agents and the records are the Host's: the daemon runs each
// task as an ordinary governed agent turn.
package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Limits of a plan a model may propose.
const (
	// MaxTasks bounds the tasks of one plan (and of a replacement).
	MaxTasks = 200
	// MaxPromptBytes bounds one task's instruction.
	MaxPromptBytes = 16 << 10
	// MaxIDLen bounds a task id (ids name agent sessions).
	MaxIDLen = 32
)

// Sentinel errors.
var (
	// ErrInvalid reports a malformed plan: bad JSON, a bad or duplicate
	// id, an unknown dependency, an empty instruction, too many tasks.
	ErrInvalid = errors.New("plan: invalid plan")
	// ErrCycle reports a dependency cycle; the error is a *CycleError.
	ErrCycle = errors.New("plan: dependency cycle")
	// ErrUnknown reports a task naming an agent or a tool that does not
	// exist (returned by a Known).
	ErrUnknown = errors.New("plan: unknown agent or tool")
	// ErrState reports a scheduler call that does not fit the task's
	// state (starting a task whose dependencies are not done, say).
	ErrState = errors.New("plan: task in the wrong state")
)

// Task is one step of a plan: an instruction for an agent, run after the
// tasks it depends on have succeeded (their results are given to it).
type Task struct {
	ID string `json:"id"`
	// Agent names the agent definition that runs the task ("" or
	// "default": the default agent).
	Agent string `json:"agent,omitempty"`
	// Prompt is the instruction.
	Prompt string `json:"prompt"`
	// Deps are the ids of the tasks whose results this one needs.
	Deps []string `json:"deps,omitempty"`
	// Tools are the tools the task expects to use; each must be offered
	// to its agent.
	Tools []string `json:"tools,omitempty"`
	// Cost is an estimate of the task's duration in any unit (0: 1), used
	// only to rank tasks by their longest remaining path.
	Cost float64 `json:"cost,omitempty"`
}

func (t Task) cost() float64 {
	if t.Cost > 0 {
		return t.Cost
	}
	return 1
}

// Plan is a DAG of tasks.
type Plan struct {
	Tasks []Task `json:"tasks"`
}

// Known says whether an agent and a tool exist; its errors should wrap
// ErrUnknown.
type Known interface {
	Agent(name string) error
	Tool(agent, tool string) error
}

// CycleError names a dependency cycle: Path[0] depends on Path[1], …, and
// the last depends on Path[0].
type CycleError struct{ Path []string }

func (e *CycleError) Error() string {
	return fmt.Sprintf("plan: dependency cycle %s → %s (each task depends on the next)", strings.Join(e.Path, " → "), e.Path[0])
}

// Is makes errors.Is(err, ErrCycle) true.
func (e *CycleError) Is(target error) bool { return target == ErrCycle }

var idRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// ValidID reports whether s can be a task id: 1–32 of A-Z a-z 0-9 _ -,
// starting with a letter or digit.
func ValidID(s string) bool { return len(s) <= MaxIDLen && idRE.MatchString(s) }

// Parse reads a plan from a model's answer: the first JSON object in it
// (a ```json fence around it is fine), decoded strictly — an unknown field
// (a misspelt "deps") is an error, never silently dropped.
func Parse(text string) (Plan, error) {
	var p Plan
	return p, parseObject(text, &p)
}

func parseObject(text string, into any) error {
	i := strings.IndexByte(text, '{')
	if i < 0 {
		return fmt.Errorf("%w: the answer holds no JSON object", ErrInvalid)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(text[i:])))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}

// Validate checks the plan as a whole: see check. known may be nil (no
// agent or tool check).
func (p Plan) Validate(known Known) error {
	if len(p.Tasks) == 0 {
		return fmt.Errorf("%w: the plan has no tasks", ErrInvalid)
	}
	return check(p.Tasks, nil, known)
}

// check validates tasks, which may also depend on the ids in outside
// (tasks of the plan they join): every problem is reported (joined), so a
// model can fix them all at once; a cycle is reported once the rest is
// sound.
func check(tasks []Task, outside map[string]bool, known Known) error {
	if len(tasks) > MaxTasks {
		return fmt.Errorf("%w: %d tasks (at most %d)", ErrInvalid, len(tasks), MaxTasks)
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...))
	}
	ids := map[string]bool{}
	for i, t := range tasks {
		switch {
		case !ValidID(t.ID):
			bad("task %d: id %q: use 1-%d of A-Z a-z 0-9 _ -, starting with a letter or digit", i+1, t.ID, MaxIDLen)
		case ids[t.ID] || outside[t.ID]:
			bad("task id %q is used twice", t.ID)
		}
		ids[t.ID] = true
		if strings.TrimSpace(t.Prompt) == "" {
			bad("task %q has an empty prompt", t.ID)
		} else if len(t.Prompt) > MaxPromptBytes {
			bad("task %q: prompt of %d bytes (at most %d)", t.ID, len(t.Prompt), MaxPromptBytes)
		}
		if t.Cost < 0 {
			bad("task %q: negative cost", t.ID)
		}
	}
	for _, t := range tasks {
		seen := map[string]bool{}
		for _, d := range t.Deps {
			switch {
			case d == t.ID:
				errs = append(errs, &CycleError{Path: []string{t.ID}})
			case !ids[d] && !outside[d]:
				bad("task %q depends on %q, which is not a task", t.ID, d)
			case seen[d]:
				bad("task %q lists dependency %q twice", t.ID, d)
			}
			seen[d] = true
		}
		if known != nil {
			if err := known.Agent(t.Agent); err != nil {
				errs = append(errs, fmt.Errorf("task %q: %w", t.ID, err))
				continue
			}
			for _, tool := range t.Tools {
				if err := known.Tool(t.Agent, tool); err != nil {
					errs = append(errs, fmt.Errorf("task %q: %w", t.ID, err))
				}
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if c := findCycle(tasks); c != nil {
		return c
	}
	return nil
}

// findCycle returns a dependency cycle among tasks (dependencies outside
// them cannot close one), or nil. Deterministic: tasks are visited in
// order, dependencies in the order listed.
func findCycle(tasks []Task) *CycleError {
	idx := make(map[string]int, len(tasks))
	for i, t := range tasks {
		idx[t.ID] = i
	}
	const (
		white = iota
		grey
		black
	)
	color := make([]uint8, len(tasks))
	var stack []int
	var found []int
	var visit func(i int) bool
	visit = func(i int) bool {
		color[i] = grey
		stack = append(stack, i)
		for _, d := range tasks[i].Deps {
			j, ok := idx[d]
			if !ok {
				continue
			}
			switch color[j] {
			case grey:
				k := slices.Index(stack, j)
				found = slices.Clone(stack[k:])
				return true
			case white:
				if visit(j) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[i] = black
		return false
	}
	for i := range tasks {
		if color[i] == white && visit(i) {
			path := make([]string, len(found))
			for k, j := range found {
				path[k] = tasks[j].ID
			}
			return &CycleError{Path: path}
		}
	}
	return nil
}

// CriticalPath is the plan's longest dependency chain by cost: its length
// (the sum of its tasks' costs) is a lower bound on any schedule's
// makespan, whatever the number of workers.
func (p Plan) CriticalPath() (length float64, path []string) {
	ranks, next := rank(p.Tasks)
	best := -1
	for i, t := range p.Tasks {
		if best < 0 || ranks[t.ID] > ranks[p.Tasks[best].ID] {
			best = i
		}
	}
	if best < 0 {
		return 0, nil
	}
	for id := p.Tasks[best].ID; id != ""; id = next[id] {
		path = append(path, id)
	}
	return ranks[p.Tasks[best].ID], path
}

// TotalCost is the sum of the tasks' costs: divided by the number of
// workers, a second lower bound on the makespan.
func (p Plan) TotalCost() float64 {
	var s float64
	for _, t := range p.Tasks {
		s += t.cost()
	}
	return s
}

// rank computes each task's longest remaining path: its cost plus the
// largest rank among the tasks that depend on it (next names that task).
// tasks must be acyclic.
func rank(tasks []Task) (map[string]float64, map[string]string) {
	byID := make(map[string]*Task, len(tasks))
	dependants := make(map[string][]string, len(tasks))
	for i := range tasks {
		byID[tasks[i].ID] = &tasks[i]
	}
	for _, t := range tasks {
		for _, d := range t.Deps {
			if _, ok := byID[d]; ok {
				dependants[d] = append(dependants[d], t.ID)
			}
		}
	}
	ranks := make(map[string]float64, len(tasks))
	next := make(map[string]string, len(tasks))
	var visit func(id string) float64
	visit = func(id string) float64 {
		if r, ok := ranks[id]; ok {
			return r
		}
		var best float64
		for _, s := range dependants[id] {
			if r := visit(s); r > best || next[id] == "" {
				best, next[id] = r, s
			}
		}
		ranks[id] = byID[id].cost() + best
		return ranks[id]
	}
	for _, t := range tasks {
		visit(t.ID)
	}
	return ranks, next
}
