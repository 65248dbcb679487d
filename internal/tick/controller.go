// Package tick is ECC's cognitive tick: an event-driven loop that wakes
// when impulses arrive or the next one expires (never polling when idle),
// works through a budgeted batch, and adapts its interval to the load —
// queue depth and arrival rate as well as its own compute time — with
// hysteresis. The controller that decides the next interval and batch is
// a pure function (Control), tested on tables; the Runner applies it with
// an injected clock.
package tick

import (
	"math"
	"time"
)

// Limits of the controller.
type Limits struct {
	MinInterval time.Duration // fastest cadence under load (default 10 ms)
	MaxInterval time.Duration // slowest cadence with work pending (default 1 s)
	// Drain is the horizon over which a backlog should be cleared
	// (default 1 s).
	Drain time.Duration
	// Hysteresis is the relative change below which the interval is kept
	// (default 0.25).
	Hysteresis float64
	// Headroom is the share of the budget a batch is sized to use
	// (default 0.8), leaving room for jitter.
	Headroom float64
}

func (l Limits) withDefaults() Limits {
	if l.MinInterval <= 0 {
		l.MinInterval = 10 * time.Millisecond
	}
	if l.MaxInterval <= 0 {
		l.MaxInterval = time.Second
	}
	if l.Drain <= 0 {
		l.Drain = time.Second
	}
	if l.Hysteresis <= 0 {
		l.Hysteresis = 0.25
	}
	if l.Headroom <= 0 || l.Headroom > 1 {
		l.Headroom = 0.8
	}
	return l
}

// State is what the controller carries from tick to tick.
type State struct {
	Interval time.Duration `json:"interval"`
	Batch    int           `json:"batch"`
	// Rate is the smoothed arrival rate (impulses per second).
	Rate float64 `json:"rate"`
	// Cost is the smoothed compute time per impulse (seconds).
	Cost float64 `json:"cost"`
	// Budget is the compute time one tick may take (calibrated at boot).
	Budget time.Duration `json:"budget"`
}

// Observation is what one tick saw.
type Observation struct {
	Elapsed   time.Duration // since the previous tick
	Arrived   int           // impulses emitted since the previous tick
	Processed int           // impulses this tick worked through
	Compute   time.Duration // time this tick's work took
	Depth     int           // impulses still pending after it
}

// smoothing of the rate and cost averages.
const smoothing = 0.3

// Control returns the state after a tick: the next interval and batch.
// The batch is what the budget allows at the measured cost per impulse;
// the interval is what serves the arrival rate plus the backlog (cleared
// over the drain horizon) with that batch, kept unchanged within the
// hysteresis band and moved by at most a factor of two per tick.
func Control(s State, o Observation, l Limits) State {
	l = l.withDefaults()
	if s.Interval <= 0 {
		s.Interval = l.MaxInterval
	}
	if o.Elapsed > 0 {
		r := float64(o.Arrived) / o.Elapsed.Seconds()
		if s.Rate == 0 {
			s.Rate = r
		} else {
			s.Rate += smoothing * (r - s.Rate)
		}
	}
	if o.Processed > 0 {
		c := o.Compute.Seconds() / float64(o.Processed)
		if s.Cost == 0 {
			s.Cost = c
		} else {
			s.Cost += smoothing * (c - s.Cost)
		}
	}
	s.Batch = 1
	if s.Cost > 0 {
		s.Batch = max(1, int(math.Floor(l.Headroom*s.Budget.Seconds()/s.Cost)))
	}
	need := s.Rate + float64(o.Depth)/l.Drain.Seconds() // impulses per second
	target := l.MaxInterval
	if need > 0 {
		target = time.Duration(float64(s.Batch) / need * float64(time.Second))
	}
	target = min(max(target, l.MinInterval), l.MaxInterval)
	if rel := math.Abs(float64(target-s.Interval)) / float64(s.Interval); rel <= l.Hysteresis {
		return s
	}
	s.Interval = min(max(target, s.Interval/2), s.Interval*2)
	s.Interval = min(max(s.Interval, l.MinInterval), l.MaxInterval)
	return s
}
