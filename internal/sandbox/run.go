package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/sys"
)

// Default output caps.
const (
	DefaultStdoutCap = 1 << 20
	DefaultStderrCap = 64 << 10
)

// Mount grants the guest a host directory.
type Mount struct {
	// HostPath is an absolute path to an existing host directory.
	HostPath string `json:"host_path"`
	// GuestPath is the absolute, clean path the guest sees it at.
	GuestPath string `json:"guest_path"`
	// ReadOnly refuses every write operation.
	ReadOnly bool `json:"read_only"`
}

// RunSpec describes one run of a module.
type RunSpec struct {
	// Input is the guest's stdin (the tool's JSON input).
	Input []byte
	// Args is argv; empty by default.
	Args []string
	// Env holds the granted environment variables with their values.
	Env map[string]string
	// Fuel is the fuel budget; it must be > 0.
	Fuel int64
	// MemoryMiB caps linear memory; 0 means the Runtime's maximum, more
	// than the Runtime's maximum is refused with ErrMemoryLimit.
	MemoryMiB uint32
	// Timeout is the wall-clock limit; it must be > 0.
	Timeout time.Duration
	// StdoutCap and StderrCap cap the output streams (0: defaults).
	StdoutCap, StderrCap int
	// Mounts are the granted directories.
	Mounts []Mount
	// MaxLogCalls caps weftos.log calls (0: DefaultMaxLogCalls); further
	// calls are dropped and counted in Result.LogsDropped.
	MaxLogCalls int
	// AllowedHosts are the hosts weftos.http_fetch may reach: "host" (any
	// port) or "host:port". Empty: no network.
	AllowedHosts []string
}

// Result is the outcome of a run. Run returns it, filled in as far as the
// run got, together with any error.
type Result struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode uint32
	// FuelUsed is the deterministic fuel charged (see package wasmfuel).
	FuelUsed int64
	// Duration is the wall-clock time of instantiate + run.
	Duration time.Duration
	// LogsDropped counts weftos.log calls over RunSpec.MaxLogCalls.
	LogsDropped int
	// Fetches counts weftos.http_fetch calls that reached the grant check.
	Fetches int
}

func (r *Runtime) validateSpec(spec *RunSpec) error {
	if spec.Fuel <= 0 {
		return fmt.Errorf("sandbox: fuel budget %d must be > 0: %w", spec.Fuel, ErrInvalidSpec)
	}
	if spec.Timeout <= 0 {
		return fmt.Errorf("sandbox: timeout %v must be > 0: %w", spec.Timeout, ErrInvalidSpec)
	}
	if spec.MemoryMiB == 0 {
		spec.MemoryMiB = r.maxMiB
	}
	if spec.MemoryMiB > r.maxMiB {
		return &RunError{Kind: ErrMemoryLimit, Budget: spec.Fuel,
			Detail: fmt.Sprintf("run asks for %d MiB, the sandbox allows %d MiB", spec.MemoryMiB, r.maxMiB)}
	}
	if spec.MaxLogCalls <= 0 {
		spec.MaxLogCalls = DefaultMaxLogCalls
	}
	if spec.StdoutCap <= 0 {
		spec.StdoutCap = DefaultStdoutCap
	}
	if spec.StderrCap <= 0 {
		spec.StderrCap = DefaultStderrCap
	}
	guests := map[string]bool{}
	for _, m := range spec.Mounts {
		if !filepath.IsAbs(m.HostPath) {
			return fmt.Errorf("sandbox: mount host path %q is not absolute: %w", m.HostPath, ErrInvalidSpec)
		}
		if !path.IsAbs(m.GuestPath) || path.Clean(m.GuestPath) != m.GuestPath {
			return fmt.Errorf("sandbox: mount guest path %q is not absolute and clean: %w", m.GuestPath, ErrInvalidSpec)
		}
		if guests[m.GuestPath] {
			return fmt.Errorf("sandbox: guest path %q mounted twice: %w", m.GuestPath, ErrInvalidSpec)
		}
		guests[m.GuestPath] = true
		fi, err := os.Stat(m.HostPath)
		if err != nil || !fi.IsDir() {
			return fmt.Errorf("sandbox: mount host path %q is not a directory: %w", m.HostPath, ErrInvalidSpec)
		}
	}
	return nil
}

// Run instantiates m and calls its _start with spec's input and limits.
// host may be nil (logs go to the Runtime's logger, fetches are denied).
//
// A run that exits with code 0 returns a nil error. Otherwise the error is
// a *RunError whose Kind is, in order of precedence: ErrFuelExhausted,
// ErrMemoryLimit, ErrTimeout, ErrOutputTooLarge, ErrTrap or ErrExit. A
// cancelled ctx returns ctx's error.
func (r *Runtime) Run(ctx context.Context, m *Module, spec RunSpec, host Host) (Result, error) {
	if m == nil {
		return Result{}, fmt.Errorf("sandbox: nil module: %w", ErrBadModule)
	}
	if err := r.validateSpec(&spec); err != nil {
		return Result{}, err
	}
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return Result{}, ErrClosed
	}

	stdout := &cappedBuffer{limit: spec.StdoutCap}
	stderr := &cappedBuffer{limit: spec.StderrCap}
	cfg := wazero.NewModuleConfig().
		WithName(""). // anonymous: concurrent runs of one module
		WithStartFunctions().
		WithStdin(bytes.NewReader(spec.Input)).
		WithStdout(stdout).
		WithStderr(stderr)
	if len(spec.Args) > 0 {
		cfg = cfg.WithArgs(spec.Args...)
	}
	keys := make([]string, 0, len(spec.Env))
	for k := range spec.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic environ order
	for _, k := range keys {
		cfg = cfg.WithEnv(k, spec.Env[k])
	}
	if len(spec.Mounts) > 0 {
		fsc := wazero.NewFSConfig()
		for _, mt := range spec.Mounts {
			cfs, err := newConfinedFS(mt.HostPath, mt.ReadOnly)
			if err != nil {
				return Result{}, fmt.Errorf("sandbox: mount %s: %w: %w", mt.HostPath, ErrInvalidSpec, err)
			}
			defer cfs.close()
			fsc = fsc.(sysfs.FSConfig).WithSysFSMount(cfs, mt.GuestPath)
		}
		cfg = cfg.WithFSConfig(fsc)
	}

	state := &runState{host: host, logger: r.log, allowed: normalizeHosts(spec.AllowedHosts), maxLogs: spec.MaxLogCalls}
	alloc := &limitAllocator{limit: uint64(spec.MemoryMiB) << 20}
	runCtx, cancel := context.WithTimeout(ctx, spec.Timeout)
	defer cancel()
	stdout.stop, stderr.stop = cancel, cancel
	runCtx = context.WithValue(runCtx, runStateKey{}, state)
	runCtx = experimental.WithMemoryAllocator(runCtx, alloc)

	start := time.Now()
	res := Result{}
	finish := func(err error) (Result, error) {
		res.Duration = time.Since(start)
		res.Stdout, res.Stderr = stdout.bytes(), stderr.bytes()
		state.mu.Lock()
		res.LogsDropped, res.Fetches = state.logsDropped, state.fetches
		state.mu.Unlock()
		return res, err
	}

	mod, err := r.rt.InstantiateModule(runCtx, m.compiled, cfg)
	if err != nil {
		if alloc.exceeded.Load() {
			return finish(&RunError{Kind: ErrMemoryLimit, Budget: spec.Fuel, Err: err,
				Detail: fmt.Sprintf("initial memory exceeds %d MiB", spec.MemoryMiB)})
		}
		if ctx.Err() != nil {
			return finish(ctx.Err())
		}
		return finish(fmt.Errorf("sandbox: instantiate: %w: %w", ErrBadModule, err))
	}
	defer mod.Close(context.WithoutCancel(ctx))
	if alloc.exceeded.Load() {
		return finish(&RunError{Kind: ErrMemoryLimit, Budget: spec.Fuel,
			Detail: fmt.Sprintf("initial memory exceeds %d MiB", spec.MemoryMiB)})
	}
	if mem := mod.Memory(); mem != nil && !reflect.ValueOf(mem).IsNil() {
		state.hasMemory = true
	}
	fuel, ok := mod.ExportedGlobal(FuelExport).(api.MutableGlobal)
	if !ok {
		return finish(fmt.Errorf("sandbox: fuel global missing: %w", ErrBadModule))
	}
	fuel.Set(uint64(spec.Fuel))
	_, callErr := mod.ExportedFunction("_start").Call(runCtx)
	res.FuelUsed = spec.Fuel - int64(fuel.Get())
	return finish(classify(ctx, &res, callErr, fuel, alloc, stdout, stderr, spec))
}

// classify maps the outcome of _start to the documented error precedence.
func classify(ctx context.Context, res *Result, callErr error, fuel api.Global,
	alloc *limitAllocator, stdout, stderr *cappedBuffer, spec RunSpec) error {
	var exitErr *sys.ExitError
	exited := errors.As(callErr, &exitErr)
	if exited {
		res.ExitCode = exitErr.ExitCode()
	}
	success := callErr == nil || (exited && exitErr.ExitCode() == 0)
	re := func(kind error, detail string) error {
		return &RunError{Kind: kind, FuelUsed: res.FuelUsed, Budget: spec.Fuel, ExitCode: res.ExitCode, Detail: detail, Err: callErr}
	}
	switch {
	case int64(fuel.Get()) < 0:
		return re(ErrFuelExhausted, "")
	case !success && alloc.exceeded.Load():
		return re(ErrMemoryLimit, fmt.Sprintf("cap %d MiB", spec.MemoryMiB))
	case exited && (exitErr.ExitCode() == sys.ExitCodeDeadlineExceeded || exitErr.ExitCode() == sys.ExitCodeContextCanceled):
		if ctx.Err() != nil { // the caller cancelled, not our timeout
			return ctx.Err()
		}
		res.ExitCode = 0
		// An overflow stops the run through the same context.
		if stdout.overflowed() {
			return re(ErrOutputTooLarge, fmt.Sprintf("stdout over %d bytes", spec.StdoutCap))
		}
		if stderr.overflowed() {
			return re(ErrOutputTooLarge, fmt.Sprintf("stderr over %d bytes", spec.StderrCap))
		}
		return re(ErrTimeout, fmt.Sprintf("after %v", spec.Timeout))
	case stdout.overflowed():
		return re(ErrOutputTooLarge, fmt.Sprintf("stdout over %d bytes", spec.StdoutCap))
	case stderr.overflowed():
		return re(ErrOutputTooLarge, fmt.Sprintf("stderr over %d bytes", spec.StderrCap))
	case success:
		return nil
	case exited:
		return re(ErrExit, "")
	default:
		return re(ErrTrap, callErr.Error())
	}
}
