package wasmfuel

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// BenchmarkFuelOverhead runs the CPU-bound Go-built gocpu module (primes
// below 20000, sort, sha256) compiled by wazero's optimizing compiler,
// with and without fuel metering. The ratio of the two ns/op figures is
// the metering overhead (target ≤ 1.5×).
func BenchmarkFuelOverhead(b *testing.B) {
	wasm := goCPUWasm(b)
	inst, err := Instrument(wasm, Options{})
	if err != nil {
		b.Fatal(err)
	}
	w := newWASIRunner(b, wazero.NewRuntimeConfigCompiler())
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		wasm []byte
	}{{"uninstrumented", wasm}, {"instrumented", inst}} {
		compiled, err := w.rt.CompileModule(ctx, bc.wasm)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			var used int64
			for i := 0; i < b.N; i++ {
				if _, used, err = w.run(b, compiled, 1<<50, "200000"); err != nil {
					b.Fatal(err)
				}
			}
			if used > 0 {
				b.ReportMetric(float64(used), "fuel/op")
			}
		})
	}
}

// BenchmarkInstrument measures the rewrite itself on the Go-built module.
func BenchmarkInstrument(b *testing.B) {
	wasm := goCPUWasm(b)
	b.SetBytes(int64(len(wasm)))
	for i := 0; i < b.N; i++ {
		if _, err := Instrument(wasm, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTightLoop is the worst case for metering: sumModule's loop
// body is 12 cheap instructions, and every iteration passes a loop-header
// check (a load, subtract and store of the fuel global plus a compare).
func BenchmarkTightLoop(b *testing.B) {
	ctx := context.Background()
	wasm := sumModule()
	inst, err := Instrument(wasm, Options{})
	if err != nil {
		b.Fatal(err)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	defer rt.Close(ctx)
	for _, bc := range []struct {
		name string
		wasm []byte
	}{{"uninstrumented", wasm}, {"instrumented", inst}} {
		mod, err := rt.InstantiateWithConfig(ctx, bc.wasm, wazero.NewModuleConfig().WithName(bc.name))
		if err != nil {
			b.Fatal(err)
		}
		if g, ok := mod.ExportedGlobal(DefaultExportName).(api.MutableGlobal); ok {
			g.Set(1 << 62)
		}
		fn := mod.ExportedFunction("sum")
		b.Run(bc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := fn.Call(ctx, 1_000_000); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
