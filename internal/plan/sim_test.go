package plan

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// This file is a deterministic discrete-event simulation of Run's loop
// over Schedule: virtual time, no goroutines, no sleeps. Tasks have random
// latencies and may fail (a failed task is replaced by a retry with the
// same dependants, as a model's replacement would). The simulation drives
// the Schedule exactly as Run does — fill the free workers with Next,
// then take the earliest finish — and checks every start against the
// finish times of the task's dependencies.

// shapes of random DAGs.
var shapes = []string{"layered", "random", "forkjoin", "chain"}

// genDAG returns a random DAG of n tasks of the given shape and each
// task's latency.
func genDAG(rng *rand.Rand, n int, shape string) (Plan, map[string]float64) {
	p := Plan{Tasks: make([]Task, n)}
	lat := make(map[string]float64, n)
	logNormal := rng.IntN(2) == 0
	for i := range p.Tasks {
		id := "t" + strconv.Itoa(i)
		p.Tasks[i] = Task{ID: id, Prompt: "do " + id}
		if logNormal {
			lat[id] = math.Exp(3 + rng.NormFloat64())
		} else {
			lat[id] = 1 + 99*rng.Float64()
		}
	}
	dep := func(i, j int) {
		if !slices.Contains(p.Tasks[i].Deps, p.Tasks[j].ID) {
			p.Tasks[i].Deps = append(p.Tasks[i].Deps, p.Tasks[j].ID)
		}
	}
	switch shape {
	case "layered": // layers of random width up to W, each task after 1–3 of the layer before
		maxW := []int{2, 4, 8, 16, 32}[rng.IntN(5)]
		prev, start := []int{}, 0
		for start < n {
			w := min(1+rng.IntN(maxW), n-start)
			var cur []int
			for i := start; i < start+w; i++ {
				if len(prev) > 0 {
					for range 1 + rng.IntN(3) {
						dep(i, prev[rng.IntN(len(prev))])
					}
				}
				cur = append(cur, i)
			}
			prev, start = cur, start+w
		}
	case "random": // each earlier task a dependency with probability k/n
		k := []float64{1, 2, 4}[rng.IntN(3)]
		for i := range n {
			for j := range i {
				if rng.Float64() < k/float64(n) {
					dep(i, j)
				}
			}
		}
	case "forkjoin": // stages: a fan-out of up to 16 tasks, then a join
		join := -1
		for i := 0; i < n; {
			w := min(1+rng.IntN(16), n-i)
			for k := i; k < i+w; k++ {
				if join >= 0 {
					dep(k, join)
				}
			}
			i += w
			if i < n {
				for k := i - w; k < i; k++ {
					dep(i, k)
				}
				join = i
				i++
			}
		}
	case "chain": // a few long chains with cross links
		chains := 1 + rng.IntN(4)
		for i := chains; i < n; i++ {
			dep(i, i-chains)
			if rng.IntN(8) == 0 {
				dep(i, rng.IntN(i))
			}
		}
	}
	return p, lat
}

type simRun struct {
	finish float64
	seq    int
	id     string
	fails  bool
}

type simHeap []simRun

func (h simHeap) Len() int { return len(h) }
func (h simHeap) Less(i, j int) bool {
	if h[i].finish != h[j].finish {
		return h[i].finish < h[j].finish
	}
	return h[i].seq < h[j].seq
}
func (h simHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *simHeap) Push(x any)   { *h = append(*h, x.(simRun)) }
func (h *simHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type simResult struct {
	makespan   float64
	violations []string
	replans    int
	done       int
	idleReady  int // times a worker stayed idle while a task was ready
}

// simulate runs p on workers in virtual time. informed gives the
// scheduler each task's latency as its cost (else every cost is 1);
// failP is the chance that an attempt fails (part way through).
func simulate(p Plan, lat map[string]float64, workers int, informed bool, failP float64, rng *rand.Rand) simResult {
	lat = cloneLat(lat)
	p.Tasks = slices.Clone(p.Tasks)
	for i := range p.Tasks {
		p.Tasks[i].Cost = 0
		if informed {
			p.Tasks[i].Cost = lat[p.Tasks[i].ID]
		}
	}
	s, err := NewSchedule(p)
	if err != nil {
		return simResult{violations: []string{err.Error()}}
	}
	var r simResult
	doneAt := map[string]float64{}
	started := map[string]bool{}
	var running simHeap
	now, seq := 0.0, 0
	for {
		for len(running) < workers {
			t, ok := s.Next()
			if !ok {
				break
			}
			if started[t.ID] {
				r.violations = append(r.violations, t.ID+" started twice")
			}
			started[t.ID] = true
			for _, d := range t.Deps {
				if at, ok := doneAt[d]; !ok || at > now {
					r.violations = append(r.violations, fmt.Sprintf("%s started at %.2f before its dependency %s finished", t.ID, now, d))
				}
			}
			fails := rng.Float64() < failP
			d := lat[t.ID]
			if fails {
				d *= rng.Float64()
			}
			heap.Push(&running, simRun{finish: now + d, seq: seq, id: t.ID, fails: fails})
			seq++
		}
		if len(running) < workers && s.Count(Ready) > 0 {
			r.idleReady++
		}
		if len(running) == 0 {
			break
		}
		ev := heap.Pop(&running).(simRun)
		now = ev.finish
		if !ev.fails {
			if _, err := s.Done(ev.id); err != nil {
				r.violations = append(r.violations, err.Error())
			}
			doneAt[ev.id] = now
			r.done++
			continue
		}
		deps, err := s.Fail(ev.id)
		if err != nil {
			r.violations = append(r.violations, err.Error())
			continue
		}
		// The replacement: a retry of the failed task under a new id,
		// and its dependants as they were, now after the retry.
		failed, _ := s.Task(ev.id)
		r.replans++
		retry := failed
		retry.ID = "r" + strconv.Itoa(r.replans) + "-" + strings.SplitN(failed.ID, "-", 2)[len(strings.SplitN(failed.ID, "-", 2))-1]
		lat[retry.ID] = lat[failed.ID]
		repl := []Task{retry}
		for _, dt := range deps {
			dt.Deps = slices.Clone(dt.Deps)
			for i, d := range dt.Deps {
				if d == failed.ID {
					dt.Deps[i] = retry.ID
				}
			}
			repl = append(repl, dt)
		}
		if _, err := s.Replace(ev.id, repl); err != nil {
			r.violations = append(r.violations, "replace: "+err.Error())
		}
	}
	if !s.Idle() || s.Count(Done) != s.Len() {
		r.violations = append(r.violations, fmt.Sprintf("ended with %d of %d tasks done", s.Count(Done), s.Len()))
	}
	r.makespan = now
	return r
}

func cloneLat(m map[string]float64) map[string]float64 {
	c := make(map[string]float64, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// bounds are the makespan's lower bounds for p with latencies lat: the
// critical path and the total work per worker.
func bounds(p Plan, lat map[string]float64, workers int) (cp, work float64) {
	p.Tasks = slices.Clone(p.Tasks)
	for i := range p.Tasks {
		p.Tasks[i].Cost = lat[p.Tasks[i].ID]
	}
	cp, _ = p.CriticalPath()
	return cp, p.TotalCost() / float64(workers)
}

// TestSimulatedSchedules: on random DAGs of 1–200 tasks with 8 workers,
// no task starts before its dependencies finish, every task runs once, no
// worker idles while a task is ready, and the makespan lies between the
// lower bound max(critical path, work/8) and Graham's list-scheduling
// bound work/8 + (1 − 1/8)·critical path — with and without latency
// estimates.
func TestSimulatedSchedules(t *testing.T) {
	const workers = 8
	rng := rand.New(rand.NewPCG(14, 5))
	n := 200
	if testing.Short() {
		n = 60
	}
	for i := range n {
		shape := shapes[i%len(shapes)]
		p, lat := genDAG(rng, 1+rng.IntN(200), shape)
		cp, work := bounds(p, lat, workers)
		for _, informed := range []bool{true, false} {
			r := simulate(p, lat, workers, informed, 0, rng)
			if len(r.violations) > 0 || r.idleReady > 0 {
				t.Fatalf("dag %d (%s, %d tasks, informed %v): %v, idle with ready tasks %d", i, shape, len(p.Tasks), informed, r.violations, r.idleReady)
			}
			lb, graham := max(cp, work), work+(1-1.0/workers)*cp
			if r.makespan < lb-1e-6 || r.makespan > graham+1e-6 {
				t.Fatalf("dag %d (%s, %d tasks): makespan %.2f outside [%.2f, %.2f]", i, shape, len(p.Tasks), r.makespan, lb, graham)
			}
		}
	}
}

// TestSimulatedFailures: with 10% of attempts failing and every failure
// replanned, no dependency is ever violated and every task of the final
// plan completes.
func TestSimulatedFailures(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 6))
	n := 150
	if testing.Short() {
		n = 50
	}
	replans := 0
	for i := range n {
		shape := shapes[i%len(shapes)]
		p, lat := genDAG(rng, 1+rng.IntN(200), shape)
		r := simulate(p, lat, 8, i%2 == 0, 0.1, rng)
		if len(r.violations) > 0 {
			t.Fatalf("dag %d (%s, %d tasks): %v", i, shape, len(p.Tasks), r.violations)
		}
		if r.done != len(p.Tasks) {
			t.Fatalf("dag %d: %d of %d tasks done", i, r.done, len(p.Tasks))
		}
		replans += r.replans
	}
	if replans == 0 {
		t.Fatal("no failure was injected")
	}
}

// makespanReport schedules count random DAGs on workers and summarises
// makespan / critical path and makespan / max(critical path, work/workers).
func makespanReport(count, workers int, informed bool, seed uint64) (string, map[string]float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	var toCP, toLB []float64
	var cpBound, cpWithin, lbWithin, cpBoundWithin int
	byShape := map[string][]float64{}
	shapeCPBound := map[string]int{}
	for i := range count {
		shape := shapes[i%len(shapes)]
		p, lat := genDAG(rng, 1+rng.IntN(200), shape)
		cp, work := bounds(p, lat, workers)
		r := simulate(p, lat, workers, informed, 0, rng)
		rc, rl := r.makespan/cp, r.makespan/max(cp, work)
		toCP, toLB = append(toCP, rc), append(toLB, rl)
		byShape[shape] = append(byShape[shape], rl)
		if cp >= work {
			shapeCPBound[shape]++
		}
		if rc <= 1.05 {
			cpWithin++
		}
		if rl <= 1.05 {
			lbWithin++
		}
		if cp >= work {
			cpBound++
			if rc <= 1.05 {
				cpBoundWithin++
			}
		}
	}
	slices.Sort(toCP)
	slices.Sort(toLB)
	q := func(xs []float64, f float64) float64 { return xs[min(len(xs)-1, int(f*float64(len(xs))))] }
	m := map[string]float64{
		"cp_p50": q(toCP, .5), "cp_p95": q(toCP, .95), "cp_max": toCP[len(toCP)-1],
		"lb_p50": q(toLB, .5), "lb_p95": q(toLB, .95), "lb_max": toLB[len(toLB)-1],
		"within5_cp": float64(cpWithin) / float64(count), "within5_lb": float64(lbWithin) / float64(count),
		"cp_bound": float64(cpBound) / float64(count),
	}
	if cpBound > 0 {
		m["cp_bound_within5"] = float64(cpBoundWithin) / float64(cpBound)
	}
	s := fmt.Sprintf("%d DAGs, %d workers, informed=%v: makespan/CP p50 %.3f p95 %.3f max %.3f (≤1.05: %.1f%%); makespan/max(CP,W/%d) p50 %.3f p95 %.3f max %.3f (≤1.05: %.1f%%); CP-bound DAGs %.1f%%, of which ≤1.05×CP %.1f%%",
		count, workers, informed, m["cp_p50"], m["cp_p95"], m["cp_max"], 100*m["within5_cp"], workers, m["lb_p50"], m["lb_p95"], m["lb_max"],
		100*m["within5_lb"], 100*m["cp_bound"], 100*m["cp_bound_within5"])
	for _, shape := range shapes {
		xs := byShape[shape]
		slices.Sort(xs)
		within := 0
		for _, x := range xs {
			if x <= 1.05 {
				within++
			}
		}
		s += fmt.Sprintf("\n  %-8s %4d DAGs, CP-bound %5.1f%%: makespan/max(CP,W/%d) p50 %.3f p95 %.3f max %.3f, ≤1.05: %5.1f%%",
			shape, len(xs), 100*float64(shapeCPBound[shape])/float64(len(xs)), workers, q(xs, .5), q(xs, .95), xs[len(xs)-1], 100*float64(within)/float64(len(xs)))
	}
	return s, m
}

// BenchmarkMakespan reports the makespan figures of 1,000 random DAGs of
// 1–200 tasks on 8 workers (run with -v to see the summary lines):
//
//	go test -run '^$' -bench Makespan -benchtime 1x -v ./internal/plan/
func BenchmarkMakespan(b *testing.B) {
	for _, informed := range []bool{true, false} {
		b.Run("informed="+strconv.FormatBool(informed), func(b *testing.B) {
			var s string
			var m map[string]float64
			for b.Loop() {
				s, m = makespanReport(1000, 8, informed, 2026)
			}
			for _, k := range []string{"cp_p50", "cp_p95", "lb_p50", "lb_p95", "lb_max", "within5_lb", "cp_bound_within5"} {
				b.ReportMetric(m[k], k)
			}
			b.Log(s)
		})
	}
}

// BenchmarkSchedule measures the scheduler's own cost per task: a random
// 200-task DAG scheduled to completion (Next and Done for each task).
func BenchmarkSchedule(b *testing.B) {
	p, _ := genDAG(rand.New(rand.NewPCG(1, 2)), 200, "layered")
	for b.Loop() {
		s, err := NewSchedule(p)
		if err != nil {
			b.Fatal(err)
		}
		for !s.Idle() {
			t, _ := s.Next()
			if _, err := s.Done(t.ID); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(p.Tasks)), "ns/task")
}
