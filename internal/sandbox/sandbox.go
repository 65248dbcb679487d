// Package sandbox runs untrusted WebAssembly tools (WASI preview 1 command
// modules) in wazero with no ambient authority.
//
// A tool gets JSON on stdin and writes JSON to stdout. It sees no host
// file system, network, environment or real clock unless granted: wazero's
// defaults (fake walltime and nanotime, deterministic random source) are
// kept, mounts are confined to their directory (including against
// symlinks), environment variables are passed only as listed in the
// RunSpec, and network access exists only as the weftos.http_fetch host
// function, restricted to granted hosts and delegated to the caller's Host.
//
// Every run is bounded four ways: deterministic fuel (the module is
// instrumented by package wasmfuel when compiled), a per-run linear memory
// cap, a wall-clock timeout (the module is closed when its context is
// done) and caps on stdout/stderr. Compiled modules are cached in memory
// by the SHA-256 of the original bytes and, with Config.CacheDir, on disk
// by wazero's compilation cache, so a second process does not recompile.
package sandbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/weftos/weftos/internal/wasmfuel"
)

// Defaults and hard limits.
const (
	// DefaultMaxMemoryMiB is Config.MaxMemoryMiB when zero.
	DefaultMaxMemoryMiB = 256
	// HardMaxMemoryMiB is the largest memory a 32-bit module can address.
	HardMaxMemoryMiB = 4096
	// DefaultMaxModuleBytes is Config.MaxModuleBytes when zero.
	DefaultMaxModuleBytes = 64 << 20
	// FuelExport is the export name of the fuel counter global.
	FuelExport = wasmfuel.DefaultExportName
	// WASIModule is the WASI preview 1 import module name.
	WASIModule = wasi_snapshot_preview1.ModuleName
)

// Config configures a Runtime.
type Config struct {
	// CacheDir, if set, holds wazero's on-disk compilation cache, keyed by
	// the hash of the (instrumented) module, so compiled code survives
	// restarts and is shared by Runtimes using the same directory.
	CacheDir string
	// Logger receives sandbox diagnostics and, when a run has no Host,
	// guest log lines. Default: a logger that discards.
	Logger *slog.Logger
	// MaxMemoryMiB is the largest linear memory any run may have (the
	// process's capability). Default DefaultMaxMemoryMiB.
	MaxMemoryMiB uint32
	// MaxModuleBytes caps the size of a module passed to Compile.
	// Default DefaultMaxModuleBytes.
	MaxModuleBytes int
}

// Runtime compiles and runs tools. It is safe for concurrent use.
type Runtime struct {
	rt       wazero.Runtime
	cache    wazero.CompilationCache
	log      *slog.Logger
	maxMiB   uint32
	maxBytes int
	// offered maps "module\x00name" to the definition of every function
	// a tool may import.
	offered map[string]api.FunctionDefinition

	mu      sync.Mutex
	closed  bool
	modules map[[32]byte]*Module
}

// Module is a compiled, instrumented tool module.
type Module struct {
	// Hash is the SHA-256 of the original (uninstrumented) module bytes.
	Hash     [32]byte
	compiled wazero.CompiledModule
}

// New creates a Runtime with the WASI and weftos host modules.
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	if cfg.MaxMemoryMiB == 0 {
		cfg.MaxMemoryMiB = DefaultMaxMemoryMiB
	}
	if cfg.MaxMemoryMiB > HardMaxMemoryMiB {
		return nil, fmt.Errorf("sandbox: MaxMemoryMiB %d exceeds %d: %w", cfg.MaxMemoryMiB, HardMaxMemoryMiB, ErrInvalidSpec)
	}
	if cfg.MaxModuleBytes <= 0 {
		cfg.MaxModuleBytes = DefaultMaxModuleBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	var cache wazero.CompilationCache
	var err error
	if cfg.CacheDir != "" {
		if cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			return nil, fmt.Errorf("sandbox: compilation cache %s: %w", cfg.CacheDir, err)
		}
	} else {
		cache = wazero.NewCompilationCache()
	}
	rcfg := wazero.NewRuntimeConfig().
		WithCompilationCache(cache).
		WithMemoryLimitPages(cfg.MaxMemoryMiB * 16). // 64 KiB pages
		WithCloseOnContextDone(true)
	rt := wazero.NewRuntimeWithConfig(ctx, rcfg)
	r := &Runtime{
		rt: rt, cache: cache, log: cfg.Logger, maxMiB: cfg.MaxMemoryMiB,
		maxBytes: cfg.MaxModuleBytes, modules: map[[32]byte]*Module{},
	}
	r.offered = map[string]api.FunctionDefinition{}
	wasiMod, err := wasi_snapshot_preview1.NewBuilder(rt).Compile(ctx)
	if err == nil {
		_, err = rt.InstantiateModule(ctx, wasiMod, wazero.NewModuleConfig())
	}
	if err == nil {
		for name, def := range wasiMod.ExportedFunctions() {
			// Sockets are never offered: no listener is ever preopened,
			// and leaving them out makes "no network" visible at
			// validation time.
			if !strings.HasPrefix(name, "sock_") {
				r.offered[WASIModule+"\x00"+name] = def
			}
		}
		var host wazero.CompiledModule
		if host, err = hostModuleBuilder(rt).Compile(ctx); err == nil {
			_, err = rt.InstantiateModule(ctx, host, wazero.NewModuleConfig().WithName(HostModule))
			for name, def := range host.ExportedFunctions() {
				r.offered[HostModule+"\x00"+name] = def
			}
		}
	}
	if err != nil {
		_ = rt.Close(ctx)
		_ = cache.Close(ctx)
		return nil, fmt.Errorf("sandbox: host modules: %w", err)
	}
	return r, nil
}

// Offers reports whether the sandbox offers function name of import
// module mod. It has the shape of toolpkg's ImportPolicy, so the package
// validator can apply the sandbox's own rule.
func (r *Runtime) Offers(mod, name string) bool {
	_, ok := r.offered[mod+"\x00"+name]
	return ok
}

// Close releases every compiled module and the runtime. Runs in progress
// are aborted.
func (r *Runtime) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.modules = nil
	r.mu.Unlock()
	err := r.rt.Close(ctx)
	if cerr := r.cache.Close(ctx); err == nil {
		err = cerr
	}
	return err
}

var wasmMagic = []byte{0x00, 0x61, 0x73, 0x6d}

// Compile validates, instruments and compiles wasm. Results are cached by
// the SHA-256 of wasm: compiling the same bytes again returns the same
// *Module without recompiling. Errors wrap ErrBadModule or
// ErrImportNotAllowed.
func (r *Runtime) Compile(ctx context.Context, wasm []byte) (*Module, error) {
	if len(wasm) > r.maxBytes {
		return nil, fmt.Errorf("sandbox: module is %d bytes, limit %d: %w", len(wasm), r.maxBytes, ErrBadModule)
	}
	if !bytes.HasPrefix(wasm, wasmMagic) {
		return nil, fmt.Errorf("sandbox: not a WebAssembly module: %w", ErrBadModule)
	}
	hash := sha256.Sum256(wasm)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	if m, ok := r.modules[hash]; ok {
		r.mu.Unlock()
		return m, nil
	}
	r.mu.Unlock()

	inst, err := wasmfuel.Instrument(wasm, wasmfuel.Options{})
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w: %w", ErrBadModule, err)
	}
	compiled, err := r.rt.CompileModule(ctx, inst)
	if err != nil {
		return nil, fmt.Errorf("sandbox: compile: %w: %w", ErrBadModule, err)
	}
	if err := r.checkModule(compiled); err != nil {
		_ = compiled.Close(ctx)
		return nil, err
	}
	m := &Module{Hash: hash, compiled: compiled}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		_ = compiled.Close(ctx)
		return nil, ErrClosed
	}
	if prev, ok := r.modules[hash]; ok { // lost a race with another Compile
		_ = compiled.Close(ctx)
		return prev, nil
	}
	r.modules[hash] = m
	return m, nil
}

// checkModule enforces the ABI: only offered function imports, no
// imported memories/tables/globals, and an exported _start.
func (r *Runtime) checkModule(c wazero.CompiledModule) error {
	for _, f := range c.ImportedFunctions() {
		mod, name, _ := f.Import()
		def, ok := r.offered[mod+"\x00"+name]
		if !ok {
			return fmt.Errorf("sandbox: import %s.%s: %w", mod, name, ErrImportNotAllowed)
		}
		if !slices.Equal(def.ParamTypes(), f.ParamTypes()) || !slices.Equal(def.ResultTypes(), f.ResultTypes()) {
			return fmt.Errorf("sandbox: import %s.%s has signature %v -> %v, want %v -> %v: %w",
				mod, name, f.ParamTypes(), f.ResultTypes(), def.ParamTypes(), def.ResultTypes(), ErrImportNotAllowed)
		}
	}
	for _, m := range c.ImportedMemories() {
		mod, name, _ := m.Import()
		return fmt.Errorf("sandbox: memory import %s.%s: %w", mod, name, ErrImportNotAllowed)
	}
	if _, ok := c.ExportedFunctions()["_start"]; !ok {
		return fmt.Errorf("sandbox: module does not export _start (not a WASI command): %w", ErrBadModule)
	}
	return nil
}

// Lookup returns the module compiled from bytes whose SHA-256 is hash, if
// it is in the in-memory cache, without hashing the bytes again.
func (r *Runtime) Lookup(hash [32]byte) (*Module, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.modules[hash]
	return m, ok
}

// Forget drops a module from the in-memory cache and releases its
// compiled code. The caller must ensure no run of m is in progress and
// must not use m afterwards.
func (r *Runtime) Forget(ctx context.Context, m *Module) error {
	r.mu.Lock()
	if r.modules[m.Hash] == m {
		delete(r.modules, m.Hash)
	}
	r.mu.Unlock()
	return m.compiled.Close(ctx)
}
