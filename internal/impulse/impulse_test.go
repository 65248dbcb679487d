package impulse

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/clock"
)

var update = flag.Bool("update", false, "rewrite golden files")

var t0 = time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC)

// direct is ACT-R's B computed from every presentation, for checking.
func direct(presented []time.Duration, at time.Duration) float64 {
	s := 0.0
	for _, p := range presented {
		s += math.Pow(max((at-p).Seconds(), minAge), -0.5)
	}
	return math.Log(s)
}

// TestDecayGolden: activation over time and the exact expiry nanosecond
// of impulses with different histories, under a fake clock. Expire removes
// an impulse at its expiry nanosecond, not one before.
func TestDecayGolden(t *testing.T) {
	scenarios := []struct {
		name      string
		presented []time.Duration
	}{
		{"once", []time.Duration{0}},
		{"rehearsed twice", []time.Duration{0, 10 * time.Second, 20 * time.Second}},
		{"burst of 5 in a second", []time.Duration{0, 200 * time.Millisecond, 400 * time.Millisecond, 600 * time.Millisecond, 800 * time.Millisecond}},
		{"12 presentations, 4 summarized", func() []time.Duration {
			var p []time.Duration
			for i := range 12 {
				p = append(p, time.Duration(i)*3*time.Second)
			}
			return p
		}()},
	}
	var b strings.Builder
	for _, sc := range scenarios {
		c := clock.NewFake(t0)
		q := New(Options{Clock: c})
		for _, p := range sc.presented {
			c.Set(t0.Add(p))
			q.Emit("k", "test", "")
		}
		last := sc.presented[len(sc.presented)-1]
		imp, _ := q.Peek("k")
		fmt.Fprintf(&b, "%s: expires at +%dns\n", sc.name, imp.Expires.Sub(t0).Nanoseconds())
		for _, at := range []time.Duration{last + time.Second, last + 10*time.Second, last + 60*time.Second} {
			c.Set(t0.Add(at))
			got, ok := q.Peek("k")
			if !ok {
				break
			}
			fmt.Fprintf(&b, "  B(+%v) = %.9f\n", at, got.Activation)
			if len(sc.presented) <= K {
				if want := direct(sc.presented, at); math.Abs(want-got.Activation) > 1e-12 {
					t.Fatalf("%s: B(+%v) = %v, direct %v", sc.name, at, got.Activation, want)
				}
			}
		}
		exp := imp.Expires
		c.Set(exp.Add(-time.Nanosecond))
		if n := q.Expire(); n != 0 {
			t.Fatalf("%s: expired a nanosecond early", sc.name)
		}
		if got, _ := q.Peek("k"); got.Activation <= DefaultThreshold {
			t.Fatalf("%s: B = %v at expiry-1ns", sc.name, got.Activation)
		}
		c.Set(exp)
		if got, _ := q.Peek("k"); got.Activation > DefaultThreshold {
			t.Fatalf("%s: B = %v at expiry", sc.name, got.Activation)
		}
		if n := q.Expire(); n != 1 || q.Len() != 0 || q.Stats().Expired != 1 {
			t.Fatalf("%s: not expired on its nanosecond", sc.name)
		}
	}
	golden := filepath.Join("testdata", "decay.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Fatalf("decay table changed:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestOnePresentationLifetime(t *testing.T) {
	c := clock.NewFake(t0)
	q := New(Options{Clock: c, Threshold: -1}) // life e^2 s
	q.Emit("a", "test", "")
	exp, ok := q.NextExpiry()
	if want := t0.Add(time.Duration(math.Ceil(math.Exp(2) * 1e9))); !ok || !exp.Equal(want) {
		t.Fatalf("expiry %v, want %v", exp, want)
	}
}

func TestHLCOrderAndDedup(t *testing.T) {
	c := clock.NewFake(t0) // the clock does not move: logical counters order
	q := New(Options{Clock: c})
	for _, k := range []string{"c", "a", "b", "a"} {
		q.Emit(k, "test", "")
	}
	if q.Len() != 3 {
		t.Fatalf("len %d", q.Len())
	}
	got := q.Drain(10)
	if len(got) != 3 || got[0].Key != "c" || got[1].Key != "a" || got[2].Key != "b" || got[1].Count != 2 {
		t.Fatalf("drain %+v", got)
	}
	if !got[0].Stamp.Less(got[1].Stamp) || !got[1].Stamp.Less(got[2].Stamp) {
		t.Fatal("stamps not increasing")
	}
	q.Observe(HLC{Wall: t0.Add(time.Hour).UnixNano(), Logical: 5})
	q.Emit("d", "test", "")
	if d := q.Drain(1)[0]; d.Stamp != (HLC{Wall: t0.Add(time.Hour).UnixNano(), Logical: 6}) {
		t.Fatalf("after observing a later stamp: %+v", d.Stamp)
	}
	if st := q.Stats(); st.Emitted != 5 || st.Rehearsed != 1 || st.Drained != 4 || st.Depth != 0 {
		t.Fatalf("stats %+v", st)
	}
	select {
	case <-q.Notify():
	default:
		t.Fatal("no notification")
	}
}

// TestEvictsLowestActivation: when full, the impulse whose activation is
// lowest now goes — not the oldest and not the first to expire.
func TestEvictsLowestActivation(t *testing.T) {
	c := clock.NewFake(t0)
	q := New(Options{Clock: c, Capacity: 3})
	q.Emit("old-rehearsed", "t", "")
	c.Advance(time.Second)
	q.Emit("old-rehearsed", "t", "")
	c.Advance(time.Second)
	q.Emit("old-rehearsed", "t", "")
	q.Emit("middle", "t", "") // at +2s, once
	c.Advance(5 * time.Second)
	q.Emit("recent", "t", "") // at +7s
	c.Advance(time.Second)
	// At +8s: old-rehearsed has 3 presentations (8, 7, 6 s ago), middle
	// one (6 s ago), recent one (1 s ago): middle is lowest.
	if !q.Emit("new", "t", "") {
		t.Fatal("no eviction reported")
	}
	if _, ok := q.Peek("middle"); ok {
		t.Fatal("middle was not evicted")
	}
	for _, k := range []string{"old-rehearsed", "recent", "new"} {
		if _, ok := q.Peek(k); !ok {
			t.Fatalf("%s was evicted", k)
		}
	}
	if q.Stats().Evicted != 1 {
		t.Fatal("eviction not counted")
	}
}

// TestBoundedUnderBurst: a 10× burst keeps the queue at capacity and
// counts every eviction.
func TestBoundedUnderBurst(t *testing.T) {
	c := clock.NewFake(t0)
	q := New(Options{Clock: c, Capacity: 100})
	for i := range 1000 {
		c.Advance(time.Millisecond)
		q.Emit(fmt.Sprint("k", i), "t", "")
	}
	st := q.Stats()
	if st.Depth != 100 || st.Evicted != 900 {
		t.Fatalf("%+v", st)
	}
	// The survivors are the most recent (single presentations: recency
	// orders activation).
	got := q.Drain(1000)
	if got[0].Key != "k900" || got[99].Key != "k999" {
		t.Fatalf("survivors %s … %s", got[0].Key, got[99].Key)
	}
}

func BenchmarkEmit(b *testing.B) {
	c := clock.NewFake(t0)
	q := New(Options{Clock: c, Capacity: b.N + 1})
	keys := make([]string, b.N)
	for i := range keys {
		keys[i] = fmt.Sprint("seq:", i)
	}
	cpu := startCPU(b)
	for i := range b.N {
		q.Emit(keys[i], "chain", "")
	}
	cpu.stop(b)
}

func BenchmarkEmitRehearse(b *testing.B) {
	c := clock.NewFake(t0)
	q := New(Options{Clock: c})
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprint("memory:", i)
	}
	cpu := startCPU(b)
	for i := range b.N {
		c.Advance(time.Millisecond)
		q.Emit(keys[i%1024], "memory", "")
	}
	cpu.stop(b)
}

func BenchmarkEmitFullEvicting(b *testing.B) {
	c := clock.NewFake(t0)
	q := New(Options{Clock: c, Capacity: 1024})
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = fmt.Sprint("seq:", i)
	}
	cpu := startCPU(b)
	for i := range b.N {
		q.Emit(keys[i%4096], "chain", "")
	}
	cpu.stop(b)
}

// BenchmarkEmitRealClock emits new keys into a queue drained every 1024
// emits (outside the timer), with the real clock.
func BenchmarkEmitRealClock(b *testing.B) {
	q := New(Options{})
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprint("seq:", i)
	}
	cpu := startCPU(b)
	for i := range b.N {
		if i%1024 == 0 && i > 0 {
			b.StopTimer()
			q.Drain(2048)
			b.StartTimer()
		}
		q.Emit(keys[i%1024], "chain", "")
	}
	cpu.stop(b)
}
