package sandbox

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkRunWarm measures a warm instantiate-and-run (module already
// compiled; fresh instance, WASI context, stdin/stdout per run) of a
// trivial tool: the hand-assembled hello module (one fd_write) and the
// Go-built kit tool in echo mode, whose Go runtime initialisation
// (~1M instructions, several MiB of memory) dominates.
func BenchmarkRunWarm(b *testing.B) {
	r := newRuntime(b, Config{})
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		wasm []byte
		spec RunSpec
	}{
		{"hand-assembled", helloModule(), RunSpec{Fuel: 1000, Timeout: time.Second, MemoryMiB: 1}},
		{"go-echo", kit(b), RunSpec{Input: []byte(`{"text":"hi"}`), Args: []string{"kit", "echo"}, Fuel: 100_000_000, Timeout: 10 * time.Second, MemoryMiB: 64}},
	} {
		m, err := r.Compile(ctx, bc.wasm)
		if err != nil {
			b.Fatal(err)
		}
		h := nopHost{}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := r.Run(ctx, m, bc.spec, h); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type nopHost struct{}

func (nopHost) Log(context.Context, slog.Level, string) {}
func (nopHost) Fetch(context.Context, FetchRequest) (FetchResponse, error) {
	return FetchResponse{}, ErrFetchDenied
}

// BenchmarkHostCall measures one weftos.log call from the guest (copying a
// 5-byte message out of guest memory and calling Host.Log): a module makes
// 100000 calls per run and the figure is reported per call.
func BenchmarkHostCall(b *testing.B) {
	const calls = 100_000
	r := newRuntime(b, Config{})
	ctx := context.Background()
	m, err := r.Compile(ctx, logLoopModule(calls))
	if err != nil {
		b.Fatal(err)
	}
	spec := RunSpec{Fuel: 1 << 40, Timeout: time.Minute, MemoryMiB: 1, MaxLogCalls: calls}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := r.Run(ctx, m, spec, nopHost{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N*calls), "ns/call")
}

// BenchmarkCompileCached measures Compile of already-compiled bytes (the
// in-memory cache: hash + map lookup).
func BenchmarkCompileCached(b *testing.B) {
	r := newRuntime(b, Config{})
	ctx := context.Background()
	wasm := kit(b)
	if _, err := r.Compile(ctx, wasm); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(wasm)))
	for i := 0; i < b.N; i++ {
		if _, err := r.Compile(ctx, wasm); err != nil {
			b.Fatal(err)
		}
	}
}
