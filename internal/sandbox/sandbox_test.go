package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// recHost records guest log lines and serves fetches with fetchFn.
type recHost struct {
	mu      sync.Mutex
	logs    []string
	fetchFn func(ctx context.Context, req FetchRequest) (FetchResponse, error)
}

var _ Host = (*recHost)(nil)

func (h *recHost) Log(_ context.Context, level slog.Level, msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.logs = append(h.logs, level.String()+" "+msg)
}

func (h *recHost) Fetch(ctx context.Context, req FetchRequest) (FetchResponse, error) {
	if h.fetchFn == nil {
		return FetchResponse{}, ErrFetchDenied
	}
	return h.fetchFn(ctx, req)
}

func spec(input string) RunSpec {
	return RunSpec{Input: []byte(input), Fuel: 2_000_000_000, Timeout: time.Minute, MemoryMiB: 64}
}

// kitSpec runs the kit test tool in the given mode.
func kitSpec(mode, input string) RunSpec {
	s := spec(input)
	s.Args = []string{"kit", mode}
	return s
}

func TestEchoDeterministic(t *testing.T) {
	r := sharedRuntime(t)
	m := compile(t, r, kit(t))
	var fuel []int64
	for i := 0; i < 3; i++ {
		h := &recHost{}
		s := kitSpec("echo", `{"text":"héllo"}`)
		s.Env = map[string]string{"LANG": "C"}
		res, err := r.Run(context.Background(), m, s, h)
		if err != nil {
			t.Fatalf("run %d: %v (stderr %q)", i, err, res.Stderr)
		}
		var out struct {
			Text, Upper string
			Args, Env   []string
		}
		if err := json.Unmarshal(res.Stdout, &out); err != nil {
			t.Fatalf("stdout %q: %v", res.Stdout, err)
		}
		if out.Upper != "HÉLLO" || out.Text != "héllo" {
			t.Errorf("output %+v", out)
		}
		if strings.Join(out.Args, " ") != "kit echo" || strings.Join(out.Env, ",") != "LANG=C" {
			t.Errorf("args %v env %v: want only the granted ones", out.Args, out.Env)
		}
		if len(h.logs) != 1 || h.logs[0] != "INFO echo: got héllo" {
			t.Errorf("logs %q", h.logs)
		}
		if res.ExitCode != 0 || res.FuelUsed <= 0 {
			t.Errorf("exit %d fuel %d", res.ExitCode, res.FuelUsed)
		}
		fuel = append(fuel, res.FuelUsed)
	}
	if fuel[0] != fuel[1] || fuel[1] != fuel[2] {
		t.Errorf("fuel differs across runs: %v", fuel)
	}
}

func TestExitCodeAndBadInput(t *testing.T) {
	r := sharedRuntime(t)
	m := compile(t, r, kit(t))
	res, err := r.Run(context.Background(), m, kitSpec("echo", `not json`), nil)
	if !errors.Is(err, ErrExit) {
		t.Fatalf("err %v, want ErrExit", err)
	}
	var re *RunError
	if !errors.As(err, &re) || re.ExitCode != 3 || res.ExitCode != 3 {
		t.Errorf("exit code %d / %v", res.ExitCode, err)
	}
	if !strings.Contains(string(res.Stderr), "bad input") {
		t.Errorf("stderr %q", res.Stderr)
	}
}

func TestInfiniteLoopStoppedByFuel(t *testing.T) {
	r := sharedRuntime(t)
	m := compile(t, r, kit(t))
	const budget = 20_000_000
	var used []int64
	for i := 0; i < 3; i++ {
		s := kitSpec("loop", `{}`)
		s.Fuel = budget
		res, err := r.Run(context.Background(), m, s, nil)
		if !errors.Is(err, ErrFuelExhausted) {
			t.Fatalf("run %d: err %v, want ErrFuelExhausted", i, err)
		}
		var re *RunError
		if !errors.As(err, &re) || re.FuelUsed != res.FuelUsed || re.Budget != budget {
			t.Fatalf("RunError %+v vs result fuel %d", re, res.FuelUsed)
		}
		if res.FuelUsed <= budget {
			t.Errorf("fuel used %d not above budget %d", res.FuelUsed, budget)
		}
		if !strings.Contains(err.Error(), "fuel exhausted: used") {
			t.Errorf("message %q", err)
		}
		used = append(used, res.FuelUsed)
	}
	if used[0] != used[1] || used[1] != used[2] {
		t.Errorf("fuel used differs across runs: %v", used)
	}
}

func TestTimeout(t *testing.T) {
	r := sharedRuntime(t)
	m := compile(t, r, kit(t))
	s := kitSpec("loop", `{}`)
	s.Fuel = 1 << 62
	s.Timeout = 100 * time.Millisecond
	_, err := r.Run(context.Background(), m, s, nil)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
}

func TestCallerCancel(t *testing.T) {
	r := sharedRuntime(t)
	m := compile(t, r, kit(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := kitSpec("loop", `{}`)
	s.Fuel = 1 << 62
	_, err := r.Run(ctx, m, s, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

func TestMemoryBombStoppedAtCap(t *testing.T) {
	r := sharedRuntime(t)
	m := compile(t, r, kit(t))
	s := kitSpec("membomb", `{}`)
	s.MemoryMiB = 48
	res, err := r.Run(context.Background(), m, s, nil)
	if !errors.Is(err, ErrMemoryLimit) {
		t.Fatalf("err %v, want ErrMemoryLimit (stderr %q)", err, res.Stderr)
	}
	if !strings.Contains(string(res.Stdout), "allocated MiB: 0") {
		t.Errorf("bomb did not start: %q", res.Stdout)
	}
}

func TestMemoryRequests(t *testing.T) {
	r := newRuntime(t, Config{MaxMemoryMiB: 32})
	m := compile(t, r, helloModule())
	s := spec("")
	s.MemoryMiB = 64
	if _, err := r.Run(context.Background(), m, s, nil); !errors.Is(err, ErrMemoryLimit) {
		t.Errorf("run over sandbox max: %v, want ErrMemoryLimit", err)
	}
	// A module whose initial memory exceeds the run's cap never starts.
	big := compile(t, r, bigMemoryModule(16*20)) // 20 MiB
	s.MemoryMiB = 8
	if _, err := r.Run(context.Background(), big, s, nil); !errors.Is(err, ErrMemoryLimit) {
		t.Errorf("initial memory over cap: %v, want ErrMemoryLimit", err)
	}
	s.MemoryMiB = 24
	if _, err := r.Run(context.Background(), big, s, nil); err != nil {
		t.Errorf("initial memory under cap: %v", err)
	}
	// Over the runtime-wide maximum the module does not even compile.
	if _, err := r.Compile(context.Background(), bigMemoryModule(16*64)); !errors.Is(err, ErrBadModule) {
		t.Errorf("memory over runtime max: %v, want ErrBadModule", err)
	}
}

func TestOutputTooLarge(t *testing.T) {
	r := sharedRuntime(t)
	m := compile(t, r, kit(t))
	s := kitSpec("bigout", `{}`)
	s.StdoutCap = 64 << 10
	res, err := r.Run(context.Background(), m, s, nil)
	if !errors.Is(err, ErrOutputTooLarge) {
		t.Fatalf("err %v, want ErrOutputTooLarge", err)
	}
	if len(res.Stdout) != 64<<10 {
		t.Errorf("kept %d bytes, want exactly the cap", len(res.Stdout))
	}
	s.StdoutCap = 16 << 20
	if _, err := r.Run(context.Background(), m, s, nil); err != nil {
		t.Errorf("under the cap: %v", err)
	}

	// A tool that ignores the write error and prints forever is stopped
	// at the cap and reported as such, not as out of fuel or time.
	s = kitSpec("spew", `{}`)
	s.StdoutCap = 64 << 10
	res, err = r.Run(context.Background(), m, s, nil)
	var re *RunError
	if !errors.Is(err, ErrOutputTooLarge) || !errors.As(err, &re) {
		t.Fatalf("endless output: %v, want ErrOutputTooLarge", err)
	}
	if re.FuelUsed >= re.Budget || len(res.Stdout) != 64<<10 {
		t.Errorf("endless output: fuel %d of %d, kept %d bytes", re.FuelUsed, re.Budget, len(res.Stdout))
	}
}

func TestBadModules(t *testing.T) {
	r := sharedRuntime(t)
	hello := helloModule()
	tests := []struct {
		name string
		wasm []byte
		want error
	}{
		{"empty", nil, ErrBadModule},
		{"text", []byte("hello world"), ErrBadModule},
		{"elf", []byte("\x7fELF\x02\x01\x01"), ErrBadModule},
		{"truncated", hello[:len(hello)-5], ErrBadModule},
		{"garbage after magic", append([]byte("\x00asm\x01\x00\x00\x00"), 0xff, 0xff, 0xff), ErrBadModule},
		{"no _start", noStartModule(), ErrBadModule},
		{"unknown module import", importModule("env", "system"), ErrImportNotAllowed},
		{"unknown weftos import", importModule(HostModule, "exec"), ErrImportNotAllowed},
		{"wasi socket import", importModule(WASIModule, "sock_accept"), ErrImportNotAllowed},
		{"wrong log signature", importModule(HostModule, "log"), ErrImportNotAllowed},
		{"wrong fd_write signature", importModule(WASIModule, "fd_write"), ErrImportNotAllowed},
		{"unknown wasi import", importModule(WASIModule, "path_exec"), ErrImportNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := r.Compile(context.Background(), tt.wasm)
			if !errors.Is(err, tt.want) || m != nil {
				t.Fatalf("Compile: %v, want %v", err, tt.want)
			}
		})
	}
	small := newRuntime(t, Config{MaxModuleBytes: 16})
	if _, err := small.Compile(context.Background(), hello); !errors.Is(err, ErrBadModule) {
		t.Errorf("oversized module: %v", err)
	}
}

func TestInvalidSpecs(t *testing.T) {
	r := sharedRuntime(t)
	m := compile(t, r, helloModule())
	dir := t.TempDir()
	tests := []struct {
		name string
		mod  func(*RunSpec)
	}{
		{"zero fuel", func(s *RunSpec) { s.Fuel = 0 }},
		{"zero timeout", func(s *RunSpec) { s.Timeout = 0 }},
		{"relative host", func(s *RunSpec) { s.Mounts = []Mount{{HostPath: "data", GuestPath: "/d"}} }},
		{"relative guest", func(s *RunSpec) { s.Mounts = []Mount{{HostPath: dir, GuestPath: "d"}} }},
		{"unclean guest", func(s *RunSpec) { s.Mounts = []Mount{{HostPath: dir, GuestPath: "/d/../e"}} }},
		{"missing host dir", func(s *RunSpec) { s.Mounts = []Mount{{HostPath: filepath.Join(dir, "nope"), GuestPath: "/d"}} }},
		{"duplicate guest", func(s *RunSpec) {
			s.Mounts = []Mount{{HostPath: dir, GuestPath: "/d"}, {HostPath: dir, GuestPath: "/d"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec("")
			tt.mod(&s)
			if _, err := r.Run(context.Background(), m, s, nil); !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("err %v, want ErrInvalidSpec", err)
			}
		})
	}
	if _, err := r.Run(context.Background(), nil, spec(""), nil); !errors.Is(err, ErrBadModule) {
		t.Errorf("nil module: %v", err)
	}
}

func TestHandAssembledHello(t *testing.T) {
	r := sharedRuntime(t)
	m := compile(t, r, helloModule())
	res, err := r.Run(context.Background(), m, spec(""), nil)
	if err != nil {
		t.Fatal(err)
	}
	// 8 instructions + call + drop = 6 charged (4 consts, call, drop).
	if string(res.Stdout) != "hello\n" || res.FuelUsed != 6 {
		t.Errorf("stdout %q fuel %d", res.Stdout, res.FuelUsed)
	}
}

func TestCompileCache(t *testing.T) {
	ctx := context.Background()
	cacheDir := t.TempDir()
	// A small module keeps the test fast; the cache is keyed the same way
	// for any module.
	wasm := helloModule()

	r1 := newRuntime(t, Config{CacheDir: cacheDir})
	m1 := compile(t, r1, wasm)
	if m2 := compile(t, r1, wasm); m2 != m1 {
		t.Error("second Compile of the same bytes recompiled")
	}
	if m3, ok := r1.Lookup(sha256.Sum256(wasm)); !ok || m3 != m1 {
		t.Error("Lookup by hash missed")
	}
	if err := r1.Forget(ctx, m1); err != nil {
		t.Fatal(err)
	}
	if _, ok := r1.Lookup(m1.Hash); ok {
		t.Error("Forget left the module cached")
	}
	if err := r1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r1.Compile(ctx, wasm); !errors.Is(err, ErrClosed) {
		t.Errorf("Compile after Close: %v", err)
	}
	before := dirEntries(t, cacheDir)
	if len(before) == 0 {
		t.Fatal("compilation cache directory is empty after compiling")
	}
	r2 := newRuntime(t, Config{CacheDir: cacheDir})
	m := compile(t, r2, wasm)
	if after := dirEntries(t, cacheDir); len(after) != len(before) {
		t.Errorf("cache entries %d → %d: second runtime recompiled instead of loading", len(before), len(after))
	}
	if res, err := r2.Run(ctx, m, spec(""), nil); err != nil || string(res.Stdout) != "hello\n" {
		t.Fatalf("run from cached code: %q %v", res.Stdout, err)
	}
}

func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestConcurrentRuns(t *testing.T) {
	r := sharedRuntime(t)
	m := compile(t, r, kit(t))
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := r.Run(context.Background(), m, kitSpec("echo", `{"text":"c"}`), nil)
			if err == nil && !strings.Contains(string(res.Stdout), `"upper":"C"`) {
				err = errors.New("bad output " + string(res.Stdout))
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestHostCallsWithoutMemory(t *testing.T) {
	r := sharedRuntime(t)
	m := compile(t, r, noMemoryLogModule())
	h := &recHost{}
	if _, err := r.Run(context.Background(), m, spec(""), h); err != nil {
		t.Fatal(err)
	}
	if len(h.logs) != 0 {
		t.Errorf("logs %q from a module without memory", h.logs)
	}
	if !r.Offers(HostModule, "http_fetch") || !r.Offers(WASIModule, "fd_write") || r.Offers(WASIModule, "sock_recv") || r.Offers("env", "x") {
		t.Error("Offers disagrees with the documented ABI")
	}
}

func TestLogLimits(t *testing.T) {
	r := sharedRuntime(t)
	m := compile(t, r, logLoopModule(30))
	h := &recHost{}
	s := spec("")
	s.MaxLogCalls = 10
	res, err := r.Run(context.Background(), m, s, h)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.logs) != 10 || res.LogsDropped != 20 || h.logs[0] != "INFO hello" {
		t.Errorf("logs %d dropped %d first %q", len(h.logs), res.LogsDropped, h.logs[0])
	}
}

// TestExampleTool builds and runs the documented example tool
// (examples/tools/echo) with the limits of its manifest.
func TestExampleTool(t *testing.T) {
	r := sharedRuntime(t)
	m := compile(t, r, toolWasm(t, "../../examples/tools/echo"))
	s := RunSpec{Input: []byte(`{"text":"Grüße"}`), Fuel: 500_000_000, MemoryMiB: 32, Timeout: 2 * time.Second}
	h := &recHost{}
	res, err := r.Run(context.Background(), m, s, h)
	if err != nil {
		t.Fatalf("%v (stderr %q)", err, res.Stderr)
	}
	if got, want := string(res.Stdout), `{"text":"Grüße","upper":"GRÜßE","length":5}`+"\n"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
	if len(h.logs) != 1 || h.logs[0] != "INFO echo: Grüße" {
		t.Errorf("logs %q", h.logs)
	}
	t.Logf("example echo: fuel %d, %v", res.FuelUsed, res.Duration)
	// Fetching an ungranted host fails cleanly with the tool's exit code.
	s.Input = []byte(`{"text":"x","url":"https://evil.example.net/"}`)
	s.AllowedHosts = []string{"api.example.com"}
	res, err = r.Run(context.Background(), m, s, h)
	if !errors.Is(err, ErrExit) || res.ExitCode != 3 || !strings.Contains(string(res.Stderr), "not granted") {
		t.Errorf("ungranted fetch: %v exit %d stderr %q", err, res.ExitCode, res.Stderr)
	}
}

// TestFakeClockAndRandom checks the guest sees wazero's deterministic
// clocks and random source, not the host's.
func TestFakeClockAndRandom(t *testing.T) {
	r := sharedRuntime(t)
	m := compile(t, r, kit(t))
	var outs []string
	for i := 0; i < 2; i++ {
		res, err := r.Run(context.Background(), m, kitSpec("clock", ""), nil)
		if err != nil {
			t.Fatalf("%v (stderr %q)", err, res.Stderr)
		}
		outs = append(outs, string(res.Stdout))
	}
	if outs[0] != outs[1] {
		t.Errorf("runs differ: %q vs %q", outs[0], outs[1])
	}
	if !strings.HasPrefix(outs[0], "2022-01-01T00:00:00Z true ") {
		t.Errorf("guest saw a real clock: %q", outs[0])
	}
}
