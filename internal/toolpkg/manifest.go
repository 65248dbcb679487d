// Package toolpkg reads and validates WeftOS tool packages: a directory
// (or a .tar.gz of one) holding a tool.toml manifest and a WebAssembly
// module, plus optionally a JSON Schema file and data directories for
// mounts.
//
// The package checks everything that can be checked without running the
// tool: the manifest's keys and values (unknown keys are errors, reported
// as file:line: field: message), the module's header and imports (only
// the functions the sandbox offers), size caps, and archive safety
// (no absolute paths, no "..", no links, bounded sizes). It does not ask
// governance or touch the chain: that is the daemon's job.
package toolpkg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/pelletier/go-toml/v2"
)

// ManifestFile is the manifest's file name inside a package.
const ManifestFile = "tool.toml"

// Hard maxima for manifest limits.
const (
	MaxMemoryMiB    = 4096
	MaxFuel         = 1_000_000_000_000
	MaxTimeoutMS    = 10 * 60 * 1000
	MaxManifestSize = 64 << 10
	MaxSchemaSize   = 64 << 10
	maxDescription  = 1024
	maxGrants       = 64
)

// ErrManifest is wrapped by every manifest error (see *ManifestError).
var ErrManifest = errors.New("invalid tool manifest")

// Errors of installed tools, answered by the tool host (internal/toolhost,
// which re-exports them) and matched by the layers that install tools
// through it (internal/apphost) without importing it.
var (
	ErrUnknownTool = errors.New("no such installed tool")
	ErrToolExists  = errors.New("a tool with that name is installed")
)

// ManifestError locates a manifest problem: File:Line: Field: Msg. Line
// is 0 when unknown.
type ManifestError struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *ManifestError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	if e.Field != "" {
		b.WriteString(": " + e.Field)
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

// Is makes errors.Is(err, ErrManifest) true.
func (e *ManifestError) Is(target error) bool { return target == ErrManifest }

// Manifest is a parsed tool.toml.
type Manifest struct {
	Name        string `toml:"name"`
	Version     string `toml:"version"`
	Description string `toml:"description"`
	// Module is the module's path inside the package (default tool.wasm).
	Module string `toml:"module"`
	Limits Limits `toml:"limits"`
	Grants Grants `toml:"grants"`
	// Input is the inline JSON Schema ([input] table), if any.
	Input map[string]any `toml:"input"`
	// InputSchema is the path of a JSON Schema file inside the package.
	InputSchema string `toml:"input_schema"`
}

// Limits are the tool's resource limits. All are required.
type Limits struct {
	MemoryMiB uint32 `toml:"memory_mib" json:"memory_mib"`
	Fuel      int64  `toml:"fuel" json:"fuel"`
	TimeoutMS int64  `toml:"timeout_ms" json:"timeout_ms"`
}

// Grants are what the tool asks to be allowed.
type Grants struct {
	Mounts []MountGrant `toml:"mounts"`
	Hosts  []string     `toml:"hosts"`
	Env    []string     `toml:"env"`
}

// MountGrant asks for a host directory at a guest path.
type MountGrant struct {
	// Host is relative to the package directory, or absolute.
	Host string `toml:"host"`
	// Guest is the absolute, clean path inside the sandbox.
	Guest string `toml:"guest"`
	// Mode is "ro" or "rw".
	Mode string `toml:"mode"`
}

// ReadOnly reports whether the mount is read-only.
func (m MountGrant) ReadOnly() bool { return m.Mode == "ro" }

var (
	nameRE    = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)
	versionRE = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	envRE     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	labelRE   = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// ParseManifest decodes and validates a manifest. file names it in errors.
func ParseManifest(file string, data []byte) (*Manifest, error) {
	if len(data) > MaxManifestSize {
		return nil, &ManifestError{File: file, Msg: fmt.Sprintf("manifest is %d bytes, limit %d", len(data), MaxManifestSize)}
	}
	var m Manifest
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, decodeError(file, err)
	}
	if err := m.validate(); err != nil {
		var me *ManifestError
		if errors.As(err, &me) {
			me.File = file
			me.Line = lineOf(data, me.Field)
		}
		return nil, err
	}
	return &m, nil
}

func decodeError(file string, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) && len(strict.Errors) > 0 {
		e := &strict.Errors[0]
		line, _ := e.Position()
		return &ManifestError{File: file, Line: line, Field: strings.Join(e.Key(), "."), Msg: "unknown key"}
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, _ := de.Position()
		return &ManifestError{File: file, Line: line, Field: strings.Join(de.Key(), "."), Msg: strings.TrimPrefix(de.Error(), "toml: ")}
	}
	return &ManifestError{File: file, Msg: err.Error()}
}

func fieldErr(field, format string, args ...any) error {
	return &ManifestError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

func (m *Manifest) validate() error {
	if !nameRE.MatchString(m.Name) {
		return fieldErr("name", "%q must match %s", m.Name, nameRE)
	}
	if !versionRE.MatchString(m.Version) {
		return fieldErr("version", "%q is not a semantic version (MAJOR.MINOR.PATCH)", m.Version)
	}
	if m.Description == "" || len(m.Description) > maxDescription || strings.IndexFunc(m.Description, unicode.IsControl) >= 0 {
		return fieldErr("description", "must be 1..%d bytes without control characters", maxDescription)
	}
	if m.Module == "" {
		m.Module = "tool.wasm"
	}
	if err := checkPackagePath(m.Module); err != nil {
		return fieldErr("module", "%v", err)
	}
	if err := m.Limits.validate(); err != nil {
		return err
	}
	if err := m.Grants.validate(); err != nil {
		return err
	}
	switch {
	case m.Input != nil && m.InputSchema != "":
		return fieldErr("input_schema", "give either an [input] table or input_schema, not both")
	case m.Input == nil && m.InputSchema == "":
		return fieldErr("input", "missing input schema ([input] table or input_schema file)")
	case m.InputSchema != "":
		if err := checkPackagePath(m.InputSchema); err != nil {
			return fieldErr("input_schema", "%v", err)
		}
	}
	return nil
}

func (l Limits) validate() error {
	switch {
	case l.MemoryMiB == 0 || l.MemoryMiB > MaxMemoryMiB:
		return fieldErr("limits.memory_mib", "%d must be in 1..%d", l.MemoryMiB, MaxMemoryMiB)
	case l.Fuel <= 0 || l.Fuel > MaxFuel:
		return fieldErr("limits.fuel", "%d must be in 1..%d", l.Fuel, int64(MaxFuel))
	case l.TimeoutMS <= 0 || l.TimeoutMS > MaxTimeoutMS:
		return fieldErr("limits.timeout_ms", "%d must be in 1..%d", l.TimeoutMS, MaxTimeoutMS)
	}
	return nil
}

func (g Grants) validate() error {
	if len(g.Mounts) > maxGrants || len(g.Hosts) > maxGrants || len(g.Env) > maxGrants {
		return fieldErr("grants", "at most %d entries per grant list", maxGrants)
	}
	guests := map[string]bool{}
	for i, mt := range g.Mounts {
		field := fmt.Sprintf("grants.mounts[%d]", i)
		if mt.Host == "" || strings.ContainsRune(mt.Host, 0) {
			return fieldErr(field+".host", "must be a path")
		}
		if !filepath.IsAbs(mt.Host) {
			if err := checkPackagePath(mt.Host); err != nil {
				return fieldErr(field+".host", "%v", err)
			}
		}
		if !path.IsAbs(mt.Guest) || path.Clean(mt.Guest) != mt.Guest || strings.ContainsRune(mt.Guest, 0) {
			return fieldErr(field+".guest", "%q must be an absolute, clean path", mt.Guest)
		}
		if guests[mt.Guest] {
			return fieldErr(field+".guest", "%q is mounted twice", mt.Guest)
		}
		guests[mt.Guest] = true
		if mt.Mode != "ro" && mt.Mode != "rw" {
			return fieldErr(field+".mode", "%q must be \"ro\" or \"rw\"", mt.Mode)
		}
	}
	seen := map[string]bool{}
	for i, h := range g.Hosts {
		if err := checkHost(h); err != nil {
			return fieldErr(fmt.Sprintf("grants.hosts[%d]", i), "%q: %v", h, err)
		}
		if seen[h] {
			return fieldErr(fmt.Sprintf("grants.hosts[%d]", i), "%q listed twice", h)
		}
		seen[h] = true
	}
	clear(seen)
	for i, e := range g.Env {
		if !envRE.MatchString(e) {
			return fieldErr(fmt.Sprintf("grants.env[%d]", i), "%q is not an environment variable name", e)
		}
		if seen[e] {
			return fieldErr(fmt.Sprintf("grants.env[%d]", i), "%q listed twice", e)
		}
		seen[e] = true
	}
	return nil
}

// checkPackagePath accepts a clean relative path that stays inside the
// package.
func checkPackagePath(p string) error {
	switch {
	case p == "" || strings.ContainsRune(p, 0) || strings.Contains(p, `\`):
		return fmt.Errorf("%q is not a valid path", p)
	case path.IsAbs(p) || filepath.IsAbs(p):
		return fmt.Errorf("%q must be relative to the package", p)
	case path.Clean(p) != p || p == "." || p == ".." || strings.HasPrefix(p, "../"):
		return fmt.Errorf("%q must be a clean path inside the package", p)
	}
	return nil
}

// checkHost accepts a lower-case DNS name or IP literal with an optional
// port: no scheme, path, user info or wildcard.
func checkHost(h string) error {
	if strings.ContainsAny(h, "/@*?# ") {
		return errors.New("must be a host name with an optional :port, not a URL or pattern")
	}
	host, port := h, ""
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		host, port = h[:i], h[i+1:]
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			return errors.New("bad port")
		}
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" || len(host) > 253 {
		return errors.New("empty or too long")
	}
	if strings.ContainsAny(host, ":") { // IPv6 literal
		for _, c := range host {
			if !strings.ContainsRune("0123456789abcdef:.", c) {
				return errors.New("bad IPv6 literal")
			}
		}
		return nil
	}
	for _, label := range strings.Split(host, ".") {
		if !labelRE.MatchString(label) {
			return fmt.Errorf("label %q must be lower-case letters, digits and '-'", label)
		}
	}
	return nil
}

// SchemaJSON returns the input schema as JSON: the inline [input] table
// re-encoded, or (for input_schema) the file's bytes passed by the loader.
func (m *Manifest) SchemaJSON(file []byte) (json.RawMessage, error) {
	if m.Input != nil {
		b, err := json.Marshal(m.Input)
		if err != nil {
			return nil, fieldErr("input", "cannot encode as JSON: %v", err)
		}
		return b, nil
	}
	if len(file) > MaxSchemaSize {
		return nil, fieldErr("input_schema", "schema is %d bytes, limit %d", len(file), MaxSchemaSize)
	}
	var obj map[string]any
	if err := json.Unmarshal(file, &obj); err != nil {
		return nil, fieldErr("input_schema", "%s is not a JSON object: %v", m.InputSchema, err)
	}
	return json.RawMessage(bytes.TrimSpace(file)), nil
}

// lineOf finds the line defining the dotted field (e.g. "limits.fuel" or
// "grants.mounts[1].mode") so validation errors can point at it: it looks
// for the key under its [table] header, falling back to the table header
// itself. It returns 0 if not found.
func lineOf(src []byte, field string) int {
	field = strings.Split(field, "[")[0] // grants.mounts[1].mode → grants.mounts
	table, key := "", field
	if i := strings.LastIndexByte(field, '.'); i >= 0 {
		table, key = field[:i], field[i+1:]
	}
	cur, tableLine := "", 0
	for i, line := range strings.Split(string(src), "\n") {
		s := strings.TrimSpace(line)
		if strings.HasPrefix(s, "[") && !strings.HasPrefix(s, "[[") {
			cur = strings.TrimSpace(strings.Trim(strings.SplitN(s, "#", 2)[0], "[] \t"))
			if cur == table || (table == "" && cur == key) {
				tableLine = i + 1
			}
			continue
		}
		if cur != table {
			continue
		}
		k, _, ok := strings.Cut(s, "=")
		if ok && strings.Trim(strings.TrimSpace(k), `"'`) == key {
			return i + 1
		}
	}
	return tableLine
}
