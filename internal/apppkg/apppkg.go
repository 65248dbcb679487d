// Package apppkg reads WeftOS app packages: a directory or a .tar.gz
// holding weftapp.toml (name, version, description, the agent
// definitions, skills and WASM tools it brings, the services and cron jobs
// it starts, the capabilities it requests, its configuration with
// defaults) and, optionally, weftapp.sig: an Ed25519 signature by a
// publisher key over the package digest.
//
// Loading is defensive: manifests decode strictly; archives go through
// toolpkg.Extract (regular files and directories only — no symlinks, hard
// links or devices, no absolute or ".." names, size and count caps against
// decompression bombs); a directory is walked without following links and
// refused if it holds one; every path the manifest names must be a clean
// relative path inside the package. The digest covers every file but the
// signature, so a package verified once is the package installed.
package apppkg

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/weftos/weftos/internal/toolpkg"
)

// Files of a package.
const (
	ManifestFile  = "weftapp.toml"
	SignatureFile = "weftapp.sig"
)

// Limits.
const (
	MaxManifestSize = 64 << 10
	MaxFiles        = 1000
	MaxFileBytes    = 64 << 20
	MaxTotalBytes   = 128 << 20
	MaxEntries      = 64 // agents, skills, tools, services, cron jobs each
)

// Errors.
var (
	// ErrManifest: weftapp.toml is missing or invalid.
	ErrManifest = errors.New("invalid app manifest")
	// ErrPackage: the package is unsafe or malformed (a link, a file over
	// the limits, a path outside it, a bad archive).
	ErrPackage = errors.New("invalid app package")
	// ErrSignature: weftapp.sig is malformed or does not verify.
	ErrSignature = errors.New("app signature does not verify")
)

// Manifest is a parsed weftapp.toml.
type Manifest struct {
	Name        string `toml:"name" json:"name"`
	Version     string `toml:"version" json:"version"`
	Description string `toml:"description" json:"description"`
	// Agents are agent definition files (agents/NAME.yaml) in the package.
	Agents []string `toml:"agents" json:"agents,omitempty"`
	// Skills are skill directories (each holding SKILL.md).
	Skills []string `toml:"skills" json:"skills,omitempty"`
	// Tools are WASM tool package directories (tool.toml, the module).
	Tools    []string  `toml:"tools" json:"tools,omitempty"`
	Services []Service `toml:"services" json:"services,omitempty"`
	Cron     []Cron    `toml:"cron" json:"cron,omitempty"`
	// Requests are the capabilities the app asks the operator for.
	Requests Requests `toml:"requests" json:"requests"`
	// Config holds the app's settings: their types, defaults and which
	// are secret (see ConfigVar), from the [config] table.
	Config map[string]ConfigVar `toml:"-" json:"config,omitempty"`
	// RawConfig is the [config] table as decoded.
	RawConfig map[string]any `toml:"config" json:"-"`
}

// Service is a long-running agent of the app, started under a supervisor
// with its restart policy.
type Service struct {
	Agent   string `toml:"agent" json:"agent"`     // an agent of the app (file base name)
	Restart string `toml:"restart" json:"restart"` // permanent (default), transient, temporary
}

// Cron is a job the app schedules: a message to one of its services.
type Cron struct {
	Schedule string `toml:"schedule" json:"schedule"` // cron expression or @every D
	Agent    string `toml:"agent" json:"agent"`       // a service of the app
	Message  string `toml:"message" json:"message"`
}

// Requests are what the app asks to be granted.
type Requests struct {
	// Capabilities are capability names (can_network, can_spawn, shell, …).
	Capabilities []string `toml:"capabilities" json:"capabilities,omitempty"`
	// Hosts are network hosts its tools or agents reach.
	Hosts []string `toml:"hosts" json:"hosts,omitempty"`
}

var (
	nameRE    = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)
	versionRE = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	keyRE     = regexp.MustCompile(`^[a-z_][a-z0-9_.-]{0,63}$`)
	capRE     = regexp.MustCompile(`^[a-z_]{1,32}$`)
	hostRE    = regexp.MustCompile(`^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)
)

// ParseManifest decodes and validates weftapp.toml.
func ParseManifest(data []byte) (*Manifest, error) {
	if len(data) > MaxManifestSize {
		return nil, fmt.Errorf("%w: %s is %d bytes, limit %d", ErrManifest, ManifestFile, len(data), MaxManifestSize)
	}
	var m Manifest
	if err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(&m); err != nil {
		var strict *toml.StrictMissingError
		if errors.As(err, &strict) && len(strict.Errors) > 0 {
			line, _ := strict.Errors[0].Position()
			return nil, fmt.Errorf("%w: %s:%d: unknown key %s", ErrManifest, ManifestFile, line, strings.Join(strict.Errors[0].Key(), "."))
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrManifest, ManifestFile, err)
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrManifest, ManifestFile, err)
	}
	return &m, nil
}

func (m *Manifest) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !nameRE.MatchString(m.Name) {
		bad("name %q: want 1-64 of a-z 0-9 _ -, starting with a letter", m.Name)
	}
	if !versionRE.MatchString(m.Version) {
		bad("version %q: want a semantic version such as 1.2.0", m.Version)
	}
	if len(m.Description) > 4096 {
		bad("description is longer than 4096 bytes")
	}
	agents := map[string]bool{}
	for field, list := range map[string][]string{"agents": m.Agents, "skills": m.Skills, "tools": m.Tools} {
		if len(list) > MaxEntries {
			bad("%s: %d entries, limit %d", field, len(list), MaxEntries)
		}
		seen := map[string]bool{}
		for _, p := range list {
			if err := checkPath(p); err != nil {
				bad("%s: %v", field, err)
				continue
			}
			if seen[p] {
				bad("%s: %q listed twice", field, p)
			}
			seen[p] = true
		}
	}
	for _, p := range m.Agents {
		if !strings.HasSuffix(p, ".yaml") {
			bad("agents: %q is not a .yaml agent definition", p)
		}
		name := strings.TrimSuffix(path.Base(p), ".yaml")
		if agents[name] {
			bad("agents: two definitions named %q", name)
		}
		agents[name] = true
	}
	if len(m.Services) > MaxEntries || len(m.Cron) > MaxEntries {
		bad("services or cron: more than %d entries", MaxEntries)
	}
	services := map[string]bool{}
	for i, s := range m.Services {
		if !agents[s.Agent] {
			bad("services[%d].agent %q is not an agent of the app", i, s.Agent)
		}
		if services[s.Agent] {
			bad("services[%d].agent %q listed twice", i, s.Agent)
		}
		services[s.Agent] = true
		switch s.Restart {
		case "", "permanent", "transient", "temporary":
		default:
			bad("services[%d].restart %q: want permanent, transient or temporary", i, s.Restart)
		}
	}
	for i, c := range m.Cron {
		if !services[c.Agent] {
			bad("cron[%d].agent %q is not a service of the app", i, c.Agent)
		}
		if strings.TrimSpace(c.Schedule) == "" || len(c.Schedule) > 128 {
			bad("cron[%d].schedule: want a cron expression or @every DURATION", i)
		}
		if c.Message == "" || len(c.Message) > 64<<10 {
			bad("cron[%d].message: want 1 byte to 64 KiB", i)
		}
	}
	for _, c := range m.Requests.Capabilities {
		if !capRE.MatchString(c) {
			bad("requests.capabilities: %q is not a capability name", c)
		}
	}
	for _, h := range m.Requests.Hosts {
		if !hostRE.MatchString(h) {
			bad("requests.hosts: %q is not a host name (or *.domain)", h)
		}
	}
	cfg, err := parseConfig(m.RawConfig)
	if err != nil {
		errs = append(errs, err)
	}
	m.Config = cfg
	for i, c := range m.Cron {
		if err := m.CheckReferences(c.Message, false); err != nil {
			bad("cron[%d].message: %v", i, err)
		}
	}
	return errors.Join(errs...)
}

// checkPath accepts a clean, relative, slash-separated path inside the
// package.
func checkPath(p string) error {
	switch {
	case p == "" || p == ".":
		return errors.New("empty path")
	case strings.ContainsAny(p, "\\\x00"):
		return fmt.Errorf("%q: invalid characters", p)
	case path.IsAbs(p) || path.Clean(p) != p:
		return fmt.Errorf("%q: want a clean relative path", p)
	case p == ".." || strings.HasPrefix(p, "../"):
		return fmt.Errorf("%q: leaves the package", p)
	case p == SignatureFile || p == ManifestFile:
		return fmt.Errorf("%q: names the package's own file", p)
	}
	return nil
}

// Signature is weftapp.sig: a publisher's Ed25519 public key and its
// signature over SigningMessage(digest), both hex.
type Signature struct {
	Key string `json:"key"`
	Sig string `json:"sig"`
}

// SigningMessage is what a publisher signs for a package digest.
func SigningMessage(digest string) []byte { return []byte("weftos-app-v1:" + digest) }

// Package is a loaded, verified package.
type Package struct {
	Dir      string // absolute; a temporary directory for an archive
	Manifest *Manifest
	// Digest is the hex SHA-256 over every file but weftapp.sig: for each,
	// sorted by path, "PATH\x00HEX(SHA-256(content))\n".
	Digest string
	// Publisher is the hex Ed25519 key whose valid signature the package
	// carries; "" when unsigned.
	Publisher string
	// Files lists the package's files (slash paths), sorted.
	Files []string

	cleanup string // temporary directory to remove
}

// Close removes the temporary directory of an archive's extraction.
func (p *Package) Close() error {
	if p.cleanup == "" {
		return nil
	}
	return os.RemoveAll(p.cleanup)
}

// Trust says how the package is signed: "trusted" (by one of keys),
// "untrusted" (validly, by another key) or "unsigned".
func (p *Package) Trust(keys []string) string {
	switch {
	case p.Publisher == "":
		return "unsigned"
	case slices.Contains(keys, p.Publisher):
		return "trusted"
	}
	return "untrusted"
}

// Load loads the package at path: a directory, or a .tar.gz / .tgz
// extracted into a temporary directory (Close removes it).
func Load(p string) (*Package, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPackage, err)
	}
	if fi.IsDir() {
		return LoadDir(p)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPackage, err)
	}
	defer f.Close()
	return LoadArchive(f)
}

// LoadArchive extracts a gzip-compressed tar stream into a temporary
// directory and loads it.
func LoadArchive(r io.Reader) (*Package, error) {
	tmp, err := os.MkdirTemp("", "weftapp-")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPackage, err)
	}
	dir := filepath.Join(tmp, "pkg")
	if err := toolpkg.Extract(r, dir, toolpkg.ArchiveLimits{MaxFiles: MaxFiles, MaxFileBytes: MaxFileBytes, MaxTotalBytes: MaxTotalBytes}); err != nil {
		_ = os.RemoveAll(tmp)
		return nil, fmt.Errorf("%w: %v", ErrPackage, err)
	}
	pkg, err := LoadDir(dir)
	if err != nil {
		_ = os.RemoveAll(tmp)
		return nil, err
	}
	pkg.cleanup = tmp
	return pkg, nil
}

// LoadDir loads the package in dir.
func LoadDir(dir string) (*Package, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPackage, err)
	}
	files, sums, err := walk(abs)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(abs, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, err
	}
	has := func(p string) bool { _, ok := sums[p]; return ok }
	hasDir := func(p string) bool {
		return slices.ContainsFunc(files, func(f string) bool { return strings.HasPrefix(f, p+"/") })
	}
	var errs []error
	for _, a := range m.Agents {
		if !has(a) {
			errs = append(errs, fmt.Errorf("agents: %q is not a file of the package", a))
		}
	}
	for _, s := range m.Skills {
		if !has(s + "/SKILL.md") {
			errs = append(errs, fmt.Errorf("skills: %q has no SKILL.md", s))
		}
	}
	for _, t := range m.Tools {
		if !hasDir(t) || !has(t+"/"+toolpkg.ManifestFile) {
			errs = append(errs, fmt.Errorf("tools: %q has no %s", t, toolpkg.ManifestFile))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	h := sha256.New()
	for _, f := range files {
		if f == SignatureFile {
			continue
		}
		fmt.Fprintf(h, "%s\x00%s\n", f, sums[f])
	}
	pkg := &Package{Dir: abs, Manifest: m, Digest: hex.EncodeToString(h.Sum(nil)), Files: files}
	if has(SignatureFile) {
		if pkg.Publisher, err = verify(filepath.Join(abs, SignatureFile), pkg.Digest); err != nil {
			return nil, err
		}
	}
	return pkg, nil
}

// walk lists the regular files under dir with their SHA-256, refusing
// links, special files and anything over the limits.
func walk(dir string) ([]string, map[string]string, error) {
	var files []string
	sums := map[string]string{}
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s is a symbolic link (packages hold regular files only)", rel)
		case d.IsDir():
			return nil
		case !d.Type().IsRegular():
			return fmt.Errorf("%s is not a regular file", rel)
		}
		if len(files) >= MaxFiles {
			return fmt.Errorf("more than %d files", MaxFiles)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Size() > MaxFileBytes {
			return fmt.Errorf("%s is %d bytes, limit %d", rel, fi.Size(), MaxFileBytes)
		}
		if total += fi.Size(); total > MaxTotalBytes {
			return fmt.Errorf("the package exceeds %d bytes", MaxTotalBytes)
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, io.LimitReader(f, MaxFileBytes+1)); err != nil {
			return err
		}
		files = append(files, rel)
		sums[rel] = hex.EncodeToString(h.Sum(nil))
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrPackage, err)
	}
	slices.Sort(files)
	return files, sums, nil
}

// verify checks weftapp.sig against digest and returns the publisher key.
func verify(file, digest string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrSignature, err)
	}
	if len(b) > 4096 {
		return "", fmt.Errorf("%w: %s is too large", ErrSignature, SignatureFile)
	}
	var s Signature
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrSignature, SignatureFile, err)
	}
	key, err := hex.DecodeString(s.Key)
	if err != nil || len(key) != ed25519.PublicKeySize {
		return "", fmt.Errorf("%w: key: want %d hex bytes", ErrSignature, ed25519.PublicKeySize)
	}
	sig, err := hex.DecodeString(s.Sig)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return "", fmt.Errorf("%w: sig: want %d hex bytes", ErrSignature, ed25519.SignatureSize)
	}
	if !ed25519.Verify(ed25519.PublicKey(key), SigningMessage(digest), sig) {
		return "", fmt.Errorf("%w: the signature by %s does not match the package's contents", ErrSignature, s.Key)
	}
	return s.Key, nil
}

// Sign writes weftapp.sig into the package directory dir: priv's
// signature over the package's digest.
func Sign(dir string, priv ed25519.PrivateKey) (*Package, error) {
	_ = os.Remove(filepath.Join(dir, SignatureFile))
	pkg, err := LoadDir(dir)
	if err != nil {
		return nil, err
	}
	s := Signature{Key: hex.EncodeToString(priv.Public().(ed25519.PublicKey)), Sig: hex.EncodeToString(ed25519.Sign(priv, SigningMessage(pkg.Digest)))}
	b, _ := json.Marshal(s)
	if err := os.WriteFile(filepath.Join(dir, SignatureFile), append(b, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPackage, err)
	}
	return LoadDir(dir)
}
