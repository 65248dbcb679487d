package chain

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func benchOptions(b *testing.B) Options {
	return Options{ChainID: 1, Origin: "bench", Keys: testKeys(b, "bench"), Logger: slog.New(slog.DiscardHandler)}
}

type benchPayload struct {
	PID  int    `json:"pid"`
	Name string `json:"name"`
	Op   string `json:"op"`
	Size int    `json:"size"`
}

// BenchmarkAppendDurable measures sustained durable appends: many goroutines
// call Append concurrently; group commit batches them into one write+fsync.
func BenchmarkAppendDurable(b *testing.B) {
	for _, par := range []int{64, 256} {
		b.Run(fmt.Sprintf("appenders=%d", par*2), func(b *testing.B) {
			l := openLog(b, b.TempDir(), benchOptions(b))
			defer closeLog(b, l)
			b.SetParallelism(par)
			b.ReportAllocs()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, err := l.Append(context.Background(), "kernel", "ipc.send", benchPayload{PID: i, Name: "agent", Op: "send", Size: 512}); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}

// BenchmarkCheckpointLatency measures the time from calling Append to the
// event being covered by a durable dual-signed checkpoint, under load.
func BenchmarkCheckpointLatency(b *testing.B) {
	l := openLog(b, b.TempDir(), benchOptions(b))
	defer closeLog(b, l)
	var mu sync.Mutex
	var lat []time.Duration
	var n atomic.Int64
	b.SetParallelism(64)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			t0 := time.Now()
			e, err := l.Append(context.Background(), "kernel", "tick", benchPayload{PID: 1})
			if err != nil {
				b.Error(err)
				return
			}
			if n.Add(1)%16 != 0 { // sample; the rest keep the load up
				continue
			}
			if _, err := l.WaitCovered(context.Background(), e.Seq); err != nil {
				b.Error(err)
				return
			}
			d := time.Since(t0)
			mu.Lock()
			lat = append(lat, d)
			mu.Unlock()
		}
	})
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(q(1), "max-ms")
}

// BenchmarkRecorder measures the daemon's path: many goroutines Record
// events, the recorder batches them into AppendBatch calls.
func BenchmarkRecorder(b *testing.B) {
	l := openLog(b, b.TempDir(), benchOptions(b))
	defer closeLog(b, l)
	rec := NewRecorder(l, nil, 8192)
	b.SetParallelism(8)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if err := rec.Record(context.Background(), "kernel", "ipc.send", benchPayload{PID: i, Name: "agent", Op: "send", Size: 512}); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	if err := rec.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

var benchChains sync.Map // size -> dir

// benchChain builds (once per process) a closed chain of n events.
func benchChain(b *testing.B, n int) string {
	if d, ok := benchChains.Load(n); ok {
		return d.(string)
	}
	dir, err := osMkdirTemp()
	if err != nil {
		b.Fatal(err)
	}
	l := openLog(b, dir, benchOptions(b))
	batch := make([]Entry, DefaultMaxBatch)
	for done := 0; done < n; {
		k := min(len(batch), n-done)
		for i := range k {
			batch[i] = Entry{Source: "kernel", Kind: "ipc.send", Payload: benchPayload{PID: done + i, Name: "agent", Op: "send", Size: 512}}
		}
		if _, err := l.AppendBatch(context.Background(), batch[:k]); err != nil {
			b.Fatal(err)
		}
		done += k
	}
	closeLog(b, l)
	benchChains.Store(n, dir)
	return dir
}

// BenchmarkVerify measures full verification of a store (CRC, payload
// canonicalization and hash, event hash, links, Merkle roots, signatures).
func BenchmarkVerify(b *testing.B) {
	const n = 200_000
	dir := benchChain(b, n)
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		rep, err := Verify(context.Background(), dir, VerifyOptions{})
		if err != nil || !rep.OK() || rep.Events != n {
			b.Fatalf("%v %+v", err, rep)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkOpen measures opening a 200k-event store: the boot-time
// integrity scan reads every record (frames, CRCs, links, derived rows).
func BenchmarkOpen(b *testing.B) {
	const n = 200_000
	dir := benchChain(b, n)
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		r, err := OpenReader(dir)
		if err != nil || r.Len() != n {
			b.Fatal(err)
		}
		r.Close()
	}
	b.ReportMetric(float64(n)*float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkInclusionProof measures proof generation from disk in a chain of
// 1M events, and verification including both checkpoint signatures.
func BenchmarkInclusionProof(b *testing.B) {
	const n = 1 << 20
	dir := benchChain(b, n)
	r, err := OpenReader(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	cp, _ := r.LatestCheckpoint()
	pub := r.PublicKeys()
	b.Run("generate", func(b *testing.B) {
		i := uint64(0)
		for b.Loop() {
			if _, _, err := r.InclusionProof((i * 7919) % n); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("verify", func(b *testing.B) {
		seq := uint64(n / 3)
		p, _, err := r.InclusionProof(seq)
		if err != nil {
			b.Fatal(err)
		}
		e, err := r.Get(seq)
		if err != nil {
			b.Fatal(err)
		}
		enc, _ := p.MarshalBinary()
		for b.Loop() {
			if err := VerifyInclusion(pub, cp, e.Hash, p); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(p.Hashes)*HashSize), "proof-hash-bytes")
		b.ReportMetric(float64(len(enc)), "proof-bytes")
	})
	b.Run("consistency", func(b *testing.B) {
		for b.Loop() {
			if _, err := r.ConsistencyProof(n/3+1, n); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFsync measures the machine's write+fsync latency for a 4 KiB
// append, the floor under durable append latency (for context in reports).
func BenchmarkFsync(b *testing.B) {
	f, err := os.CreateTemp(b.TempDir(), "fsync")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	var lat []time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkPacedAppends is the durable gate's load on the chain alone:
// 100 appenders, each appending a 300-byte record every 10 ms (10,000
// appends/s in all), reporting the latency of each append (until it is
// durable). The variants compare one fsync at a time with pipelined
// fsyncs, and appends that grow the file with writes into preallocated
// zeros (docs/BENCHMARKS.md, "Durable gate").
func BenchmarkPacedAppends(b *testing.B) {
	for _, depth := range []int{1, 2} {
		for _, prealloc := range []bool{false, true} {
			b.Run(fmt.Sprintf("sync-depth=%d/prealloc=%v", depth, prealloc), func(b *testing.B) {
				opts := benchOptions(b)
				opts.SyncDepth, opts.noPrealloc = depth, !prealloc
				l := openLog(b, b.TempDir(), opts)
				defer closeLog(b, l)
				pacedAppends(b, l, 100, 10*time.Millisecond)
			})
		}
	}
}

func pacedAppends(b *testing.B, l *Log, appenders int, every time.Duration) {
	payload := map[string]string{"pad": fmt.Sprintf("%0200d", 0)}
	var mu sync.Mutex
	var all []time.Duration
	var next atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for i := range appenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(every * time.Duration(i) / time.Duration(appenders)) // stagger
			tick := time.NewTicker(every)
			defer tick.Stop()
			var mine []time.Duration
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				if _, err := l.Append(context.Background(), "agent", "gov.decision", payload); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(t0))
				<-tick.C
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	b.StopTimer()
	slices.Sort(all)
	if len(all) > 0 {
		b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
	}
}
