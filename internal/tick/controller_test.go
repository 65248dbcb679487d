package tick

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestControlTable(t *testing.T) {
	budget := 2 * time.Millisecond
	cases := []struct {
		name string
		in   State
		obs  Observation
		want State
	}{
		{"first tick, idle: slowest cadence", State{Budget: budget}, Observation{Elapsed: time.Second},
			State{Interval: time.Second, Batch: 1, Budget: budget}},
		{"cost sizes the batch: 0.8 × 2 ms / 10 µs", State{Interval: time.Second, Budget: budget},
			Observation{Elapsed: time.Second, Processed: 10, Compute: 100 * time.Microsecond},
			State{Interval: time.Second, Batch: 160, Cost: 1e-5, Budget: budget}},
		{"load: halve at most per tick", State{Interval: time.Second, Cost: 1e-5, Budget: budget},
			Observation{Elapsed: time.Second, Arrived: 16000},
			State{Interval: 500 * time.Millisecond, Batch: 160, Rate: 16000, Cost: 1e-5, Budget: budget}},
		{"within hysteresis: keep", State{Interval: 100 * time.Millisecond, Rate: 1600, Cost: 1e-5, Budget: budget},
			Observation{Elapsed: 100 * time.Millisecond, Arrived: 180},
			State{Interval: 100 * time.Millisecond, Batch: 160, Rate: 1660, Cost: 1e-5, Budget: budget}},
		{"backlog counts as load", State{Interval: 100 * time.Millisecond, Cost: 1e-5, Budget: budget},
			Observation{Elapsed: 100 * time.Millisecond, Depth: 16000},
			State{Interval: 50 * time.Millisecond, Batch: 160, Cost: 1e-5, Budget: budget}},
		{"floor", State{Interval: 10 * time.Millisecond, Rate: 1e6, Cost: 1e-5, Budget: budget},
			Observation{Elapsed: 10 * time.Millisecond, Arrived: 10000},
			State{Interval: 10 * time.Millisecond, Batch: 160, Rate: 1e6, Cost: 1e-5, Budget: budget}},
		{"load gone: double at most per tick", State{Interval: 10 * time.Millisecond, Rate: 1, Cost: 1e-5, Budget: budget},
			Observation{Elapsed: 10 * time.Millisecond},
			State{Interval: 20 * time.Millisecond, Batch: 160, Rate: 0.7, Cost: 1e-5, Budget: budget}},
	}
	for _, c := range cases {
		got := Control(c.in, c.obs, Limits{})
		if math.Abs(got.Rate-c.want.Rate) < 1e-9 {
			got.Rate = c.want.Rate
		}
		if math.Abs(got.Cost-c.want.Cost) < 1e-12 {
			got.Cost = c.want.Cost
		}
		if got != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
}

// sim runs the controller against a simulated queue: arrivals at rate(t)
// per second (Poisson-ish), per-impulse cost with ±20% jitter. It returns
// the intervals chosen and how many ticks overran the budget.
type sim struct {
	rng     *rand.Rand
	st      State
	depth   int
	cost    float64 // true seconds per impulse
	ticks   []State
	overrun int
	work    int // ticks that did work
}

func newSim(seed uint64, budget time.Duration, cost float64) *sim {
	return &sim{rng: rand.New(rand.NewPCG(seed, 9)), st: State{Budget: budget}, cost: cost}
}

func (s *sim) step(rate float64) {
	dt := s.st.Interval
	if dt == 0 {
		dt = time.Second
	}
	// The runner also ticks as soon as a full batch is pending.
	if batch := max(s.st.Batch, 1); rate > 0 {
		fill := time.Duration(float64(max(batch-s.depth, 1)) / rate * float64(time.Second))
		dt = max(min(dt, fill), time.Millisecond)
	}
	mean := rate * dt.Seconds()
	arrived := int(mean + s.rng.NormFloat64()*math.Sqrt(mean) + 0.5)
	arrived = max(arrived, 0)
	s.depth += arrived
	batch := s.st.Batch
	if batch == 0 {
		batch = 1
	}
	n := min(batch, s.depth)
	compute := 0.0
	for range n {
		compute += s.cost * (1 + 0.2*(2*s.rng.Float64()-1))
	}
	s.depth -= n
	c := time.Duration(compute * 1e9)
	if n > 0 {
		s.work++
		if c > s.st.Budget {
			s.overrun++
		}
	}
	s.st = Control(s.st, Observation{Elapsed: dt, Arrived: arrived, Processed: n, Compute: c, Depth: s.depth}, Limits{})
	s.ticks = append(s.ticks, s.st)
}

// settleTicks is how many ticks after from the interval takes to enter,
// and stay in, ±25% of its final value.
func settleTicks(ticks []State, from int) int {
	final := float64(ticks[len(ticks)-1].Interval)
	last := from
	for i := from; i < len(ticks); i++ {
		if math.Abs(float64(ticks[i].Interval)-final)/final > 0.25 {
			last = i + 1
		}
	}
	return last - from
}

// TestSettlesAfterALoadStep: a step from 50 to 10 000 impulses per second (the service rate at the
// fastest cadence is 16 000)
// (and back) settles within 20 ticks.
func TestSettlesAfterALoadStep(t *testing.T) {
	for seed := range uint64(10) {
		s := newSim(seed, 2*time.Millisecond, 10e-6)
		for range 50 {
			s.step(50)
		}
		up := len(s.ticks)
		// The step's first tick, at the idle cadence, sees a second of
		// arrivals; the backlog drains at 6 000/s, within 400 ticks.
		for range 400 {
			s.step(10000)
		}
		if s.depth > 1000 {
			t.Fatalf("seed %d: backlog %d at high load", seed, s.depth)
		}
		if n := settleTicks(s.ticks[:len(s.ticks)], up); n > 20 {
			t.Fatalf("seed %d: %d ticks to settle after the step up", seed, n)
		}
		down := len(s.ticks)
		for range 100 {
			s.step(50)
		}
		if n := settleTicks(s.ticks, down); n > 20 {
			t.Fatalf("seed %d: %d ticks to settle after the step down", seed, n)
		}
		if s.depth > 1000 {
			t.Fatalf("seed %d: backlog %d not drained", seed, s.depth)
		}
	}
}

// TestOverrunUnderBurst: a 2× burst over the steady rate keeps the share
// of ticks over budget below 1%, and the backlog bounded.
func TestOverrunUnderBurst(t *testing.T) {
	s := newSim(1, 2*time.Millisecond, 10e-6)
	for range 200 {
		s.step(5000)
	}
	for range 500 {
		s.step(10000)
	}
	if share := float64(s.overrun) / float64(s.work); share >= 0.01 {
		t.Fatalf("%.2f%% of ticks overran", 100*share)
	}
	if s.depth > 2000 {
		t.Fatalf("backlog %d under a 2× burst", s.depth)
	}
}

// BenchmarkControllerFigures reports the controller's figures on the
// simulated queue (10 seeds): ticks to settle after a 200× load step, and
// the overrun share under a 2× burst.
func BenchmarkControllerFigures(b *testing.B) {
	worst, over, work := 0, 0, 0
	for i := range b.N {
		s := newSim(uint64(i), 2*time.Millisecond, 10e-6)
		for range 50 {
			s.step(50)
		}
		up := len(s.ticks)
		for range 100 {
			s.step(10000)
		}
		worst = max(worst, settleTicks(s.ticks, up))
		b2 := newSim(uint64(i), 2*time.Millisecond, 10e-6)
		for range 200 {
			b2.step(5000)
		}
		for range 500 {
			b2.step(10000)
		}
		over += b2.overrun
		work += b2.work
	}
	b.ReportMetric(float64(worst), "settle-ticks")
	b.ReportMetric(100*float64(over)/float64(work), "overrun-%")
}
