package toolpkg

import (
	"bytes"
	"errors"
	"fmt"
)

// ErrModule is wrapped by errors about the WebAssembly module itself.
var ErrModule = errors.New("invalid tool module")

// ErrImportNotAllowed is wrapped when the module imports something the
// sandbox does not offer.
var ErrImportNotAllowed = errors.New("import not allowed")

// DefaultMaxModuleBytes caps a module's size.
const DefaultMaxModuleBytes = 64 << 20

// ImportPolicy reports whether a function import is offered. The daemon
// passes the sandbox's own rule; DefaultImports is the documented ABI.
type ImportPolicy func(module, name string) bool

// wasiFunctions are the WASI preview 1 functions a tool may import
// (everything in wasi_snapshot_preview1 except the sock_* functions).
var wasiFunctions = map[string]bool{}

func init() {
	for _, f := range []string{
		"args_get", "args_sizes_get", "environ_get", "environ_sizes_get",
		"clock_res_get", "clock_time_get",
		"fd_advise", "fd_allocate", "fd_close", "fd_datasync", "fd_fdstat_get",
		"fd_fdstat_set_flags", "fd_fdstat_set_rights", "fd_filestat_get",
		"fd_filestat_set_size", "fd_filestat_set_times", "fd_pread",
		"fd_prestat_get", "fd_prestat_dir_name", "fd_pwrite", "fd_read",
		"fd_readdir", "fd_renumber", "fd_seek", "fd_sync", "fd_tell", "fd_write",
		"path_create_directory", "path_filestat_get", "path_filestat_set_times",
		"path_link", "path_open", "path_readlink", "path_remove_directory",
		"path_rename", "path_symlink", "path_unlink_file",
		"poll_oneoff", "proc_exit", "proc_raise", "sched_yield", "random_get",
	} {
		wasiFunctions[f] = true
	}
}

// DefaultImports is the ABI of docs/TOOLS.md: WASI preview 1 functions
// (without sockets) and weftos.log / weftos.http_fetch.
func DefaultImports(module, name string) bool {
	switch module {
	case "wasi_snapshot_preview1":
		return wasiFunctions[name]
	case "weftos":
		return name == "log" || name == "http_fetch"
	}
	return false
}

// Import is one function import of a module.
type Import struct {
	Module, Name string
}

// ModuleInfo is what ValidateModule learned about a module.
type ModuleInfo struct {
	Imports []Import
	Exports []string
}

var wasmHeader = []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}

// ValidateModule checks that wasm is a WebAssembly binary of at most
// maxBytes (0: DefaultMaxModuleBytes) whose imports are all functions
// allowed by policy (nil: DefaultImports), that has no start section and
// that exports a _start function. It reads the section structure and the import and export
// sections only; the sandbox's compiler does full validation.
func ValidateModule(wasm []byte, maxBytes int, policy ImportPolicy) (*ModuleInfo, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxModuleBytes
	}
	if policy == nil {
		policy = DefaultImports
	}
	if len(wasm) > maxBytes {
		return nil, fmt.Errorf("module is %d bytes, limit %d: %w", len(wasm), maxBytes, ErrModule)
	}
	if !bytes.HasPrefix(wasm, wasmHeader[:4]) {
		return nil, fmt.Errorf("not a WebAssembly module: %w", ErrModule)
	}
	if !bytes.HasPrefix(wasm, wasmHeader) {
		return nil, fmt.Errorf("unsupported WebAssembly version: %w", ErrModule)
	}
	info := &ModuleInfo{}
	r := &wreader{b: wasm, pos: len(wasmHeader)}
	hasStart := false
	for r.pos < len(r.b) {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		payload, err := r.bytes(int(size))
		if err != nil {
			return nil, err
		}
		sr := &wreader{b: payload}
		switch id {
		case 2:
			if err := readImports(sr, info, policy); err != nil {
				return nil, err
			}
		case 7:
			if hasStart, err = readExports(sr, info); err != nil {
				return nil, err
			}
		case 8:
			return nil, fmt.Errorf("module has a start section (it would run before limits are set): %w", ErrModule)
		}
	}
	if !hasStart {
		return nil, fmt.Errorf("module does not export a _start function (not a WASI command): %w", ErrModule)
	}
	return info, nil
}

func readImports(r *wreader, info *ModuleInfo, policy ImportPolicy) error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		mod, err := r.name()
		if err != nil {
			return err
		}
		name, err := r.name()
		if err != nil {
			return err
		}
		kind, err := r.byte()
		if err != nil {
			return err
		}
		if kind != 0x00 {
			return fmt.Errorf("import %s.%s is not a function (kind %d): %w", mod, name, kind, ErrImportNotAllowed)
		}
		if _, err := r.u32(); err != nil {
			return err
		}
		if !policy(mod, name) {
			return fmt.Errorf("import %s.%s is not offered: %w", mod, name, ErrImportNotAllowed)
		}
		info.Imports = append(info.Imports, Import{Module: mod, Name: name})
	}
	return nil
}

func readExports(r *wreader, info *ModuleInfo) (hasStart bool, err error) {
	n, err := r.u32()
	if err != nil {
		return false, err
	}
	for i := uint32(0); i < n; i++ {
		name, err := r.name()
		if err != nil {
			return false, err
		}
		kind, err := r.byte()
		if err != nil {
			return false, err
		}
		if _, err := r.u32(); err != nil {
			return false, err
		}
		if name == "_start" && kind == 0x00 {
			hasStart = true
		}
		info.Exports = append(info.Exports, name)
	}
	return hasStart, nil
}

// wreader is a bounds-checked reader for the few sections parsed here.
type wreader struct {
	b   []byte
	pos int
}

func (r *wreader) err(msg string) error {
	return fmt.Errorf("offset %d: %s: %w", r.pos, msg, ErrModule)
}

func (r *wreader) byte() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, r.err("unexpected end of module")
	}
	r.pos++
	return r.b[r.pos-1], nil
}

func (r *wreader) bytes(n int) ([]byte, error) {
	if n < 0 || n > len(r.b)-r.pos {
		return nil, r.err("length exceeds module")
	}
	r.pos += n
	return r.b[r.pos-n : r.pos], nil
}

func (r *wreader) u32() (uint32, error) {
	var v uint32
	for i := 0; i < 5; i++ {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint32(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if i == 4 && c > 0x0f {
				return 0, r.err("LEB128 overflow")
			}
			return v, nil
		}
	}
	return 0, r.err("LEB128 too long")
}

func (r *wreader) name() (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	b, err := r.bytes(int(n))
	return string(b), err
}
