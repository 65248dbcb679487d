package authority

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/governance"
)

// chainLedger appends to a real chain: acknowledged after fsync.
type chainLedger struct{ l *chain.Log }

func (c chainLedger) Append(ctx context.Context, recs ...Record) (uint64, error) {
	entries := make([]chain.Entry, len(recs))
	for i, r := range recs {
		entries[i] = chain.Entry{Source: r.Source, Kind: r.Kind, Payload: r.Payload}
	}
	evs, err := c.l.AppendBatch(ctx, entries)
	if err != nil {
		return 0, err
	}
	return evs[len(evs)-1].Seq, nil
}

func benchPipeline(b *testing.B) *Pipeline {
	b.Helper()
	keys, err := chain.GenerateKeys(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	l, err := chain.Open(context.Background(), b.TempDir(), chain.Options{Origin: "bench.node", Keys: keys})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.Close(context.Background()) })
	c, err := governance.DefaultConstitution()
	if err != nil {
		b.Fatal(err)
	}
	eng, err := governance.NewEngine(c, "dev")
	if err != nil {
		b.Fatal(err)
	}
	gate, err := governance.NewGate(eng, governance.GateConfig{Workspace: []string{"/ws"}})
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Uint64
	p, err := New(Options{Ledger: chainLedger{l}, Gate: gate, NewActionID: func() string { return fmt.Sprint(n.Add(1)) }})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// latencies collects per-act latencies from several goroutines and
// reports their p50 and p99.
type latencies struct {
	mu  sync.Mutex
	all []time.Duration
}

func (l *latencies) add(d []time.Duration) {
	l.mu.Lock()
	l.all = append(l.all, d...)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B) {
	slices.Sort(l.all)
	if len(l.all) > 0 {
		b.ReportMetric(float64(l.all[len(l.all)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(l.all[len(l.all)*99/100].Microseconds()), "p99-µs")
	}
}

// BenchmarkDurableGate measures an act's authorization — checks, the
// governance decision and the decision's durable (fsynced, group-committed)
// record — with 100 agents acting at once, and reports the latency each
// act waited.
func BenchmarkDurableGate(b *testing.B) {
	for _, agents := range []int{1, 100} {
		b.Run(fmt.Sprintf("agents=%d", agents), func(b *testing.B) {
			p := benchPipeline(b)
			act := Act{Action: "fs.read", Subject: Subject{Agent: "bench", Caps: []string{"can_exec_tools"}},
				Context: governance.Context{Path: "/ws/file", Tool: "read_file"}}
			var lat latencies
			var next atomic.Int64
			b.ResetTimer()
			var wg sync.WaitGroup
			for range agents {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var mine []time.Duration
					for next.Add(1) <= int64(b.N) {
						t0 := time.Now()
						if _, err := p.Authorize(context.Background(), act); err != nil {
							b.Error(err)
							return
						}
						mine = append(mine, time.Since(t0))
					}
					lat.add(mine)
				}()
			}
			wg.Wait()
			b.StopTimer()
			lat.report(b)
		})
	}
}

// BenchmarkDurableGatePaced is the realistic load: 100 agents, each
// acting every 10 ms (10,000 acts/s in all — agents spend most of their
// time waiting for a model), reporting the latency each act waited for its
// durable decision.
func BenchmarkDurableGatePaced(b *testing.B) {
	const agents, every = 100, 10 * time.Millisecond
	p := benchPipeline(b)
	act := Act{Action: "fs.read", Subject: Subject{Agent: "bench", Caps: []string{"can_exec_tools"}},
		Context: governance.Context{Path: "/ws/file", Tool: "read_file"}}
	var lat latencies
	var next atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for i := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Stagger the agents over the period.
			time.Sleep(every * time.Duration(i) / agents)
			tick := time.NewTicker(every)
			defer tick.Stop()
			var mine []time.Duration
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				if _, err := p.Authorize(context.Background(), act); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(t0))
				<-tick.C
			}
			lat.add(mine)
		}()
	}
	wg.Wait()
	b.StopTimer()
	lat.report(b)
}

// BenchmarkDecisionOnly is the same act decided with no ledger I/O (a
// ledger that acknowledges at once): the pipeline's own cost.
func BenchmarkDecisionOnly(b *testing.B) {
	c, _ := governance.DefaultConstitution()
	eng, _ := governance.NewEngine(c, "dev")
	gate, _ := governance.NewGate(eng, governance.GateConfig{Workspace: []string{"/ws"}})
	p, err := New(Options{Ledger: nopLedger{}, Gate: gate, NewActionID: func() string { return "a" }})
	if err != nil {
		b.Fatal(err)
	}
	act := Act{Action: "fs.read", Subject: Subject{Agent: "bench", Caps: []string{"can_exec_tools"}},
		Context: governance.Context{Path: "/ws/file", Tool: "read_file"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Authorize(context.Background(), act); err != nil {
			b.Fatal(err)
		}
	}
}

type nopLedger struct{}

func (nopLedger) Append(context.Context, ...Record) (uint64, error) { return 0, nil }
