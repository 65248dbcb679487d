package plan

import (
	"container/heap"
	"fmt"
	"slices"
)

// State is a task's state in a Schedule.
type State uint8

// Task states. A task is Waiting until its dependencies are Done, then
// Ready; Next makes it Running; it ends Done or Failed. A failed task's
// dependants are replaced (Replace) or Skipped (Abandon).
const (
	Waiting State = iota + 1
	Ready
	Running
	Done
	Failed
	Skipped
)

var stateNames = [...]string{"", "waiting", "ready", "running", "done", "failed", "skipped"}

func (s State) String() string {
	if int(s) < len(stateNames) && s > 0 {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

type node struct {
	Task
	state      State
	unmet      int      // dependencies not yet Done
	dependants []string // tasks that depend on this one
	rank       float64  // longest remaining path, this task included
	seq        int      // insertion order: the tie-break
	heapIx     int
}

// Schedule is a plan's ready-set state machine: it knows which tasks may
// start (all their dependencies done) and hands out the one with the
// longest remaining path first (critical-path-first list scheduling; ties
// in insertion order). It does no I/O and keeps no time: Run drives it
// with goroutines, a discrete-event simulation with virtual time. It is
// not safe for concurrent use.
type Schedule struct {
	nodes   map[string]*node
	order   []string // ids in insertion order (replaced tasks removed)
	ready   readyHeap
	seq     int
	running int
	counts  [Skipped + 1]int
}

// NewSchedule validates the plan's structure (not its agents and tools:
// that is Plan.Validate's) and returns its schedule.
func NewSchedule(p Plan) (*Schedule, error) {
	if len(p.Tasks) == 0 {
		return nil, fmt.Errorf("%w: the plan has no tasks", ErrInvalid)
	}
	if err := check(p.Tasks, nil, nil); err != nil {
		return nil, err
	}
	s := &Schedule{nodes: make(map[string]*node, len(p.Tasks))}
	s.add(p.Tasks)
	return s, nil
}

// add inserts checked tasks, ranks what changed and queues the ready ones.
func (s *Schedule) add(tasks []Task) {
	for _, t := range tasks {
		t.Deps = slices.Clone(t.Deps)
		t.Tools = slices.Clone(t.Tools)
		n := &node{Task: t, state: Waiting, seq: s.seq, heapIx: -1}
		s.seq++
		s.nodes[t.ID] = n
		s.order = append(s.order, t.ID)
		s.counts[Waiting]++
	}
	for _, t := range tasks {
		n := s.nodes[t.ID]
		for _, d := range t.Deps {
			dn := s.nodes[d]
			dn.dependants = append(dn.dependants, t.ID)
			if dn.state != Done {
				n.unmet++
			}
		}
	}
	s.rerank()
	for _, t := range tasks {
		if n := s.nodes[t.ID]; n.unmet == 0 {
			s.set(n, Ready)
			heap.Push(&s.ready, n)
		}
	}
}

// rerank recomputes every unfinished task's longest remaining path (new
// tasks lengthen their dependencies' paths). Finished tasks keep theirs.
func (s *Schedule) rerank() {
	memo := make(map[string]float64, len(s.nodes))
	var visit func(n *node) float64
	visit = func(n *node) float64 {
		if r, ok := memo[n.ID]; ok {
			return r
		}
		var best float64
		for _, d := range n.dependants {
			best = max(best, visit(s.nodes[d]))
		}
		r := n.cost() + best
		memo[n.ID] = r
		return r
	}
	for _, id := range s.order {
		n := s.nodes[id]
		if n.state == Waiting || n.state == Ready {
			n.rank = visit(n)
			if n.heapIx >= 0 {
				heap.Fix(&s.ready, n.heapIx)
			}
		}
	}
}

func (s *Schedule) set(n *node, st State) {
	s.counts[n.state]--
	n.state = st
	s.counts[st]++
}

// Next starts the ready task with the longest remaining path and returns
// it; false when no task is ready.
func (s *Schedule) Next() (Task, bool) {
	if s.ready.Len() == 0 {
		return Task{}, false
	}
	n := heap.Pop(&s.ready).(*node)
	s.set(n, Running)
	s.running++
	return n.Task, true
}

// Done marks a running task done and returns the tasks it made ready.
func (s *Schedule) Done(id string) ([]string, error) {
	n, err := s.need(id, Running)
	if err != nil {
		return nil, err
	}
	s.set(n, Done)
	s.running--
	var ready []string
	for _, d := range n.dependants {
		dn := s.nodes[d]
		dn.unmet--
		if dn.unmet == 0 && dn.state == Waiting {
			s.set(dn, Ready)
			heap.Push(&s.ready, dn)
			ready = append(ready, d)
		}
	}
	return ready, nil
}

// Fail marks a running task failed and returns its transitive dependants
// (all waiting: none can have started), in insertion order. They stay
// waiting until Replace or Abandon.
func (s *Schedule) Fail(id string) ([]Task, error) {
	n, err := s.need(id, Running)
	if err != nil {
		return nil, err
	}
	s.set(n, Failed)
	s.running--
	return s.subtree(n), nil
}

// subtree returns the transitive dependants of n in insertion order.
func (s *Schedule) subtree(n *node) []Task {
	seen := map[string]bool{}
	var walk func(n *node)
	walk = func(n *node) {
		for _, d := range n.dependants {
			if !seen[d] {
				seen[d] = true
				walk(s.nodes[d])
			}
		}
	}
	walk(n)
	var out []Task
	for _, id := range s.order {
		if seen[id] {
			out = append(out, s.nodes[id].Task)
		}
	}
	return out
}

func (s *Schedule) need(id string, st State) (*node, error) {
	n, ok := s.nodes[id]
	if !ok {
		return nil, fmt.Errorf("%w: no task %q", ErrState, id)
	}
	if n.state != st {
		return nil, fmt.Errorf("%w: task %q is %s, not %s", ErrState, id, n.state, st)
	}
	return n, nil
}

// CheckReplacement validates tasks as the replacement of the failed task
// id and its dependants without changing anything: their ids must be new
// (the replaced ids may be reused), their dependencies tasks that stay or
// each other, and they must not form a cycle. known may be nil.
func (s *Schedule) CheckReplacement(id string, tasks []Task, known Known) error {
	n, err := s.need(id, Failed)
	if err != nil {
		return err
	}
	if len(tasks) == 0 {
		return fmt.Errorf("%w: a replacement needs at least one task", ErrInvalid)
	}
	gone := map[string]bool{id: true}
	for _, t := range s.subtree(n) {
		gone[t.ID] = true
	}
	stay := map[string]bool{}
	for _, sid := range s.order {
		if !gone[sid] && s.nodes[sid].state != Failed && s.nodes[sid].state != Skipped {
			stay[sid] = true
		}
	}
	// Ids of other failed or skipped tasks may not be reused or named.
	for _, t := range tasks {
		if nn, ok := s.nodes[t.ID]; ok && !gone[t.ID] && !stay[t.ID] {
			return fmt.Errorf("%w: task id %q is taken by a %s task", ErrInvalid, t.ID, nn.state)
		}
	}
	return check(tasks, stay, known)
}

// Replace removes the failed task id and its dependants and adds tasks in
// their place (see CheckReplacement). It returns the ids removed.
func (s *Schedule) Replace(id string, tasks []Task) ([]string, error) {
	if err := s.CheckReplacement(id, tasks, nil); err != nil {
		return nil, err
	}
	n := s.nodes[id]
	removed := []string{id}
	for _, t := range s.subtree(n) {
		removed = append(removed, t.ID)
	}
	gone := map[string]bool{}
	for _, r := range removed {
		gone[r] = true
		rn := s.nodes[r]
		s.counts[rn.state]--
		delete(s.nodes, r)
		// The removed tasks' dependencies forget them.
		for _, d := range rn.Deps {
			if dn, ok := s.nodes[d]; ok {
				dn.dependants = slices.DeleteFunc(dn.dependants, func(x string) bool { return x == r })
			}
		}
	}
	s.order = slices.DeleteFunc(s.order, func(x string) bool { return gone[x] })
	s.add(tasks)
	return removed, nil
}

// Abandon gives up on the failed task id: its dependants are Skipped and
// returned.
func (s *Schedule) Abandon(id string) ([]string, error) {
	n, err := s.need(id, Failed)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range s.subtree(n) {
		if dn := s.nodes[t.ID]; dn.state == Waiting {
			s.set(dn, Skipped)
			out = append(out, t.ID)
		}
	}
	return out, nil
}

// Idle reports that nothing runs and nothing is ready: the plan is over
// unless a failure waits for Replace or Abandon.
func (s *Schedule) Idle() bool { return s.running == 0 && s.ready.Len() == 0 }

// Count is the number of tasks in state st.
func (s *Schedule) Count(st State) int { return s.counts[st] }

// Len is the number of tasks in the schedule (replaced tasks excluded).
func (s *Schedule) Len() int { return len(s.nodes) }

// State returns a task's state (false: no such task).
func (s *Schedule) State(id string) (State, bool) {
	n, ok := s.nodes[id]
	if !ok {
		return 0, false
	}
	return n.state, true
}

// Task returns a task of the schedule.
func (s *Schedule) Task(id string) (Task, bool) {
	n, ok := s.nodes[id]
	if !ok {
		return Task{}, false
	}
	return n.Task, true
}

// Tasks returns the schedule's tasks in insertion order.
func (s *Schedule) Tasks() []Task {
	out := make([]Task, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.nodes[id].Task)
	}
	return out
}

// Rank is a task's longest remaining path when it was last ranked.
func (s *Schedule) Rank(id string) float64 {
	if n, ok := s.nodes[id]; ok {
		return n.rank
	}
	return 0
}

// readyHeap orders ready tasks by rank (highest first), then insertion.
type readyHeap []*node

func (h readyHeap) Len() int { return len(h) }
func (h readyHeap) Less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank > h[j].rank
	}
	return h[i].seq < h[j].seq
}
func (h readyHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIx, h[j].heapIx = i, j
}
func (h *readyHeap) Push(x any) {
	n := x.(*node)
	n.heapIx = len(*h)
	*h = append(*h, n)
}
func (h *readyHeap) Pop() any {
	old := *h
	n := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	n.heapIx = -1
	return n
}
