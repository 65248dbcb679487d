package wasmfuel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

var goCPU struct {
	once sync.Once
	wasm []byte
	err  error
}

// goCPUWasm builds testdata/gocpu for GOOS=wasip1 once per test binary.
func goCPUWasm(tb testing.TB) []byte {
	tb.Helper()
	goCPU.once.Do(func() {
		dir, err := os.MkdirTemp("", "wasmfuel-gocpu-")
		if err != nil {
			goCPU.err = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "gocpu.wasm")
		cmd := exec.Command("go", "build", "-o", out, "./testdata/gocpu")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			goCPU.err = fmt.Errorf("go build: %v\n%s", err, msg)
			return
		}
		goCPU.wasm, goCPU.err = os.ReadFile(out)
	})
	if goCPU.err != nil {
		tb.Fatal(goCPU.err)
	}
	return goCPU.wasm
}

// wasiRunner runs WASI command modules in one wazero runtime.
type wasiRunner struct {
	rt wazero.Runtime
}

func newWASIRunner(tb testing.TB, cfg wazero.RuntimeConfig) *wasiRunner {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	tb.Cleanup(func() { rt.Close(ctx) })
	return &wasiRunner{rt: rt}
}

// run executes compiled with the fuel budget (ignored when the module is
// not instrumented) and returns stdout and the fuel used.
func (w *wasiRunner) run(tb testing.TB, compiled wazero.CompiledModule, budget int64, args ...string) (string, int64, error) {
	ctx := context.Background()
	var out bytes.Buffer
	cfg := wazero.NewModuleConfig().WithName("").WithStartFunctions().WithStdout(&out).WithArgs(append([]string{"gocpu"}, args...)...)
	mod, err := w.rt.InstantiateModule(ctx, compiled, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	defer mod.Close(ctx)
	g, _ := mod.ExportedGlobal(DefaultExportName).(api.MutableGlobal)
	if g != nil {
		g.Set(uint64(budget))
	}
	_, err = mod.ExportedFunction("_start").Call(ctx)
	var exit *sys.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 0 {
		err = nil
	}
	used := int64(0)
	if g != nil {
		used = budget - int64(g.Get())
	}
	return out.String(), used, err
}

func TestGoBuiltModuleDeterministicFuel(t *testing.T) {
	wasm := goCPUWasm(t)
	inst, err := Instrument(wasm, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The interpreter validates the module as strictly as the compiler and
	// avoids a long native compilation (especially under -race).
	w := newWASIRunner(t, wazero.NewRuntimeConfigInterpreter())
	ctx := context.Background()
	plain, err := w.rt.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	metered, err := w.rt.CompileModule(ctx, inst)
	if err != nil {
		t.Fatalf("wazero rejects the instrumented Go module: %v", err)
	}
	want, _, err := w.run(t, plain, 0, "3000")
	if err != nil {
		t.Fatal(err)
	}
	var used []int64
	for i := 0; i < 3; i++ {
		got, u, err := w.run(t, metered, 1<<40, "3000")
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("instrumented output %q, uninstrumented %q", got, want)
		}
		used = append(used, u)
	}
	if used[0] != used[1] || used[1] != used[2] || used[0] <= 0 {
		t.Fatalf("fuel used differs across runs: %v", used)
	}
	// More work costs more fuel.
	_, bigger, err := w.run(t, metered, 1<<40, "6000")
	if err != nil || bigger <= used[0] {
		t.Errorf("n=6000 used %d (%v), n=3000 used %d", bigger, err, used[0])
	}
	// A budget just short of what the run needs ends with the counter
	// negative (the host's exhaustion test), at a deterministic point.
	var stops []int64
	for i := 0; i < 2; i++ {
		budget := used[0] - 1
		_, u, _ := w.run(t, metered, budget, "3000")
		if u <= budget {
			t.Fatalf("budget %d: used %d, counter not exhausted", budget, u)
		}
		stops = append(stops, u)
	}
	if stops[0] != stops[1] || stops[0] < used[0] {
		t.Errorf("exhaustion points %v (full run %d)", stops, used[0])
	}
}
