package toolpkg

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Options configures loading. The zero value uses the defaults.
type Options struct {
	// MaxModuleBytes caps the module (0: DefaultMaxModuleBytes).
	MaxModuleBytes int
	// Imports decides which function imports are offered (nil:
	// DefaultImports). The daemon passes the sandbox's rule.
	Imports ImportPolicy
	// Archive bounds archive extraction.
	Archive ArchiveLimits
}

// Package is a loaded, validated tool package.
type Package struct {
	// Dir is the absolute package directory.
	Dir      string
	Manifest *Manifest
	// Wasm is the module's bytes and WasmSHA256 their SHA-256.
	Wasm       []byte
	WasmSHA256 [32]byte
	Module     *ModuleInfo
	// InputSchema is the input's JSON Schema as JSON.
	InputSchema json.RawMessage
}

// Mount is a grant resolved against the package directory.
type Mount struct {
	HostPath  string // absolute
	GuestPath string
	ReadOnly  bool
}

// Mounts resolves the manifest's mount grants: relative host paths are
// joined to the package directory.
func (p *Package) Mounts() []Mount {
	out := make([]Mount, 0, len(p.Manifest.Grants.Mounts))
	for _, g := range p.Manifest.Grants.Mounts {
		host := g.Host
		if !filepath.IsAbs(host) {
			host = filepath.Join(p.Dir, filepath.FromSlash(host))
		}
		out = append(out, Mount{HostPath: host, GuestPath: g.Guest, ReadOnly: g.ReadOnly()})
	}
	return out
}

// readCapped reads name from root, refusing files over limit (and, via
// the os.Root, symlinks that leave the package).
func readCapped(root *os.Root, name string, limit int64) ([]byte, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes, limit %d", name, fi.Size(), limit)
	}
	return io.ReadAll(io.LimitReader(f, limit+1))
}

// LoadDir loads and validates the package in dir. Every file is read
// through an os.Root, so package files that are symlinks out of the
// package are refused.
func LoadDir(dir string, opts Options) (*Package, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("toolpkg: %w", err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("toolpkg: open package: %w", err)
	}
	defer root.Close()
	manifestPath := filepath.Join(abs, ManifestFile)
	data, err := readCapped(root, ManifestFile, MaxManifestSize)
	if err != nil {
		return nil, &ManifestError{File: manifestPath, Msg: err.Error()}
	}
	m, err := ParseManifest(manifestPath, data)
	if err != nil {
		return nil, fmt.Errorf("toolpkg: %w", err)
	}
	maxModule := opts.MaxModuleBytes
	if maxModule <= 0 {
		maxModule = DefaultMaxModuleBytes
	}
	wasm, err := readCapped(root, m.Module, int64(maxModule))
	if err != nil {
		return nil, fmt.Errorf("toolpkg: module: %v: %w", err, ErrModule)
	}
	info, err := ValidateModule(wasm, maxModule, opts.Imports)
	if err != nil {
		return nil, fmt.Errorf("toolpkg: %s: %w", m.Module, err)
	}
	var schemaFile []byte
	if m.InputSchema != "" {
		if schemaFile, err = readCapped(root, m.InputSchema, MaxSchemaSize); err != nil {
			return nil, fmt.Errorf("toolpkg: %w", &ManifestError{File: manifestPath, Line: lineOf(data, "input_schema"), Field: "input_schema", Msg: err.Error()})
		}
	}
	schema, err := m.SchemaJSON(schemaFile)
	if err != nil {
		return nil, fmt.Errorf("toolpkg: %w", withFile(err, manifestPath, data))
	}
	for i, g := range m.Grants.Mounts {
		if filepath.IsAbs(g.Host) {
			continue
		}
		fi, err := root.Stat(filepath.FromSlash(g.Host))
		if err == nil && !fi.IsDir() {
			err = errors.New("not a directory")
		}
		if err != nil {
			field := fmt.Sprintf("grants.mounts[%d].host", i)
			return nil, fmt.Errorf("toolpkg: %w", &ManifestError{File: manifestPath, Line: lineOf(data, field), Field: field, Msg: fmt.Sprintf("%q: %v", g.Host, err)})
		}
	}
	return &Package{
		Dir: abs, Manifest: m, Wasm: wasm, WasmSHA256: sha256.Sum256(wasm),
		Module: info, InputSchema: schema,
	}, nil
}

func withFile(err error, file string, data []byte) error {
	var me *ManifestError
	if errors.As(err, &me) {
		me.File = file
		me.Line = lineOf(data, me.Field)
	}
	return err
}

// LoadArchive extracts the .tar.gz at archive into dst (see Extract) and
// loads the package from it. The manifest may sit at the archive root or
// in a single top-level directory.
func LoadArchive(archive, dst string, opts Options) (*Package, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, fmt.Errorf("toolpkg: %w", err)
	}
	defer f.Close()
	if err := Extract(f, dst, opts.Archive); err != nil {
		return nil, fmt.Errorf("toolpkg: %s: %w", archive, err)
	}
	dir := dst
	if _, err := os.Lstat(filepath.Join(dst, ManifestFile)); err != nil {
		ents, _ := os.ReadDir(dst)
		if len(ents) == 1 && ents[0].IsDir() {
			dir = filepath.Join(dst, ents[0].Name())
		}
	}
	return LoadDir(dir, opts)
}

// Load loads a package from a directory or from a .tar.gz/.tgz file,
// which is extracted into extractDir.
func Load(path, extractDir string, opts Options) (*Package, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("toolpkg: %w", err)
	}
	if fi.IsDir() {
		return LoadDir(path, opts)
	}
	if !strings.HasSuffix(path, ".tar.gz") && !strings.HasSuffix(path, ".tgz") {
		return nil, fmt.Errorf("toolpkg: %s is neither a directory nor a .tar.gz: %w", path, ErrArchive)
	}
	return LoadArchive(path, extractDir, opts)
}
