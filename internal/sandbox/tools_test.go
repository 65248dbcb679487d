package sandbox

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// buildDir holds the wasm binaries built from testdata/tools at test time
// (no binaries are committed); it is shared by all tests in the package.
var buildDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "weftos-sandbox-tools-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	if shared.r != nil {
		if err := shared.r.Close(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "close shared runtime:", err)
			code = 1
		}
	}
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

type builtTool struct {
	once sync.Once
	wasm []byte
	err  error
}

var (
	toolsMu sync.Mutex
	tools   = map[string]*builtTool{}
)

// toolWasm builds the Go program in pkgDir (relative to this package) for
// GOOS=wasip1 once per test binary and returns its bytes.
func toolWasm(t testing.TB, pkgDir string) []byte {
	t.Helper()
	toolsMu.Lock()
	bt, ok := tools[pkgDir]
	if !ok {
		bt = &builtTool{}
		tools[pkgDir] = bt
	}
	toolsMu.Unlock()
	bt.once.Do(func() {
		out := filepath.Join(buildDir, filepath.Base(pkgDir)+fmt.Sprintf("-%d.wasm", len(tools)))
		cmd := exec.Command("go", "build", "-o", out, "./"+pkgDir)
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			bt.err = fmt.Errorf("go build %s: %v\n%s", pkgDir, err, msg)
			return
		}
		bt.wasm, bt.err = os.ReadFile(out)
	})
	if bt.err != nil {
		t.Fatal(bt.err)
	}
	return bt.wasm
}

// kit returns the kit test tool (testdata/tools/kit).
func kit(t testing.TB) []byte { return toolWasm(t, "testdata/tools/kit") }

// shared is a Runtime reused by most tests so each tool is compiled once.
var shared struct {
	once sync.Once
	r    *Runtime
	err  error
}

func sharedRuntime(t testing.TB) *Runtime {
	t.Helper()
	shared.once.Do(func() {
		shared.r, shared.err = New(context.Background(), Config{
			CacheDir: filepath.Join(buildDir, "cache"),
			Logger:   slog.New(slog.DiscardHandler),
		})
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.r
}

// newRuntime returns a Runtime closed at the end of the test.
func newRuntime(t testing.TB, cfg Config) *Runtime {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

func compile(t testing.TB, r *Runtime, wasm []byte) *Module {
	t.Helper()
	m, err := r.Compile(context.Background(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
