package channels

import (
	"sync"
	"time"
)

// Limiter is a token bucket per key (a gateway token, a sender): rate
// events per minute with bursts of up to burst. Idle keys are forgotten,
// so the memory it holds is bounded by the keys active within a refill
// period. It is safe for concurrent use.
type Limiter struct {
	mu      sync.Mutex
	perSec  float64
	burst   float64
	buckets map[string]*bucket
	sweep   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewLimiter returns a limiter of perMinute events per minute per key,
// bursts of burst.
func NewLimiter(perMinute, burst int) *Limiter {
	return &Limiter{perSec: float64(perMinute) / 60, burst: float64(max(burst, 1)), buckets: map[string]*bucket{}}
}

// Allow takes one event for key at now; false when the key's bucket is
// empty. retry is how long until it holds one again.
func (l *Limiter) Allow(key string, now time.Time) (ok bool, retry time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.sweep) > time.Minute {
		l.forget(now)
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(l.burst, b.tokens+el*l.perSec)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.perSec * float64(time.Second))
}

// forget drops buckets that have refilled completely: they behave exactly
// like new ones.
func (l *Limiter) forget(now time.Time) {
	l.sweep = now
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.perSec >= l.burst {
			delete(l.buckets, k)
		}
	}
}

// Len is the number of keys held.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
