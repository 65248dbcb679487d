package groupcommit

import (
	"testing"
	"time"
)

func TestPaceLinger(t *testing.T) {
	tests := []struct {
		name string
		rate float64 // requests per second
		have int
		want time.Duration
	}{
		{"idle", 0, 1, 0},
		{"a few arrivals", 500, 1, 0},
		{"just below the threshold", 999, 1, 0},
		{"busy: wait for the batch to fill", 4000, 2, 1500 * time.Microsecond},
		{"very busy: a short wait", 100000, 1, 70 * time.Microsecond},
		{"slow fill: capped", 1000, 1, MaxLinger},
		{"batch already full", 100000, LingerTarget, 0},
	}
	for _, tc := range tests {
		p := Pace{rate: tc.rate}
		if got := p.Linger(tc.have); got != tc.want {
			t.Errorf("%s: linger %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPaceRate(t *testing.T) {
	tests := []struct {
		name   string
		queued []int // requests queued at the end of each 200 µs commit
		linger bool
	}{
		{"a lone requester: nothing queues", []int{0, 0, 0, 0, 0}, false},
		{"one now and then", []int{0, 0, 1, 0, 0, 0, 0}, false},
		{"a thousand agents", []int{1, 2, 1, 2, 1, 2, 1, 2}, true},
	}
	for _, tc := range tests {
		var p Pace
		for _, q := range tc.queued {
			p.Committed(q, 200*time.Microsecond)
		}
		if got := p.Linger(1) > 0; got != tc.linger {
			t.Errorf("%s: rate %.0f/s, lingers %v, want %v", tc.name, p.rate, got, tc.linger)
		}
	}
}
