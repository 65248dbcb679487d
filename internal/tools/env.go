package tools

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Policy bounds what the built-in tools may do. Zero values take the
// defaults documented on each field; shell and network are off by default.
type Policy struct {
	MaxReadBytes   int64 // read_file: largest file read, default 1 MiB
	MaxWriteBytes  int   // write_file/edit_file: largest content, default 4 MiB
	MaxListEntries int   // list_dir: entries returned, default 1000
	MaxListDepth   int   // list_dir: recursion depth cap, default 8

	Shell   ShellPolicy
	Network NetworkPolicy

	// Protected lists workspace-relative patterns of control files agents
	// may read but never create, change or delete: "dir/**" covers
	// everything beneath dir, "**/name" a file called name anywhere,
	// anything else is a path.Match glob. Matching is case-insensitive and
	// also applies to where a path leads through symbolic links.
	Protected []string
	// Forbidden lists absolute directories (the WeftOS home, with the
	// node's keys) that no file tool may read, list or change, even when
	// they lie inside the workspace; shell_exec refuses to run when one
	// does (Landlock cannot carve a directory out of the workspace).
	Forbidden []string
}

// ShellPolicy governs shell_exec.
type ShellPolicy struct {
	Enabled        bool          // shell_exec is refused unless true
	Allow          []string      // program base names that may run, e.g. "git", "go"
	Path           string        // PATH used to find them, default "/usr/local/bin:/usr/bin:/bin"
	Env            []string      // extra KEY=VALUE entries for the child environment
	Timeout        time.Duration // default 30 s
	MaxOutputBytes int           // per stream, default 64 KiB
	// Confine says how programs are confined (Linux Landlock): the
	// workspace and a private temporary directory read-write, the system
	// directories in ReadOnly read and execute, nothing else. See
	// ConfineMode.
	Confine ConfineMode
	// ReadOnly lists the system paths programs may read and execute
	// (default DefaultShellReadOnly).
	ReadOnly []string
	// Network lets programs open TCP connections (the agent holds
	// can_network); otherwise they are denied where the kernel supports it.
	Network bool
}

// ConfineMode says what shell_exec does about confinement.
type ConfineMode string

// Confinement modes.
const (
	// ConfineRequired (the default) confines every program and refuses to
	// run any where confinement is not available.
	ConfineRequired ConfineMode = "required"
	// ConfineBestEffort confines where it can and otherwise runs the
	// program unconfined, saying so in the result.
	ConfineBestEffort ConfineMode = "best_effort"
	// ConfineOff never confines (the result says so).
	ConfineOff ConfineMode = "off"
)

// DefaultShellReadOnly are the system paths confined programs may read and
// execute: program and library directories, the few /etc files programs
// commonly need (not /etc as a whole: it holds secrets on some systems),
// and the harmless devices.
var DefaultShellReadOnly = []string{
	"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt",
	"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/passwd", "/etc/group",
	"/etc/nsswitch.conf", "/etc/hosts", "/etc/resolv.conf", "/etc/ssl", "/etc/ca-certificates", "/etc/gitconfig",
	"/etc/alternatives", "/etc/mime.types", "/etc/magic",
	"/dev/urandom", "/dev/random", "/dev/zero",
}

// NetworkPolicy governs web_fetch.
type NetworkPolicy struct {
	Enabled bool // web_fetch is refused unless true
	// AllowHosts, when not empty, lists the only hosts that may be fetched:
	// exact names or "*.example.com" (any subdomain).
	AllowHosts []string
	// AllowPrivate permits private, loopback, link-local, CGNAT and other
	// non-global unicast addresses. Unspecified, multicast and broadcast
	// addresses are refused regardless.
	AllowPrivate bool
	Timeout      time.Duration // whole request, default 30 s
	MaxBytes     int64         // body bytes kept, default 1 MiB
	MaxRedirects int           // default 5; negative means none
	UserAgent    string        // default "weftos-web_fetch/1"

	// Resolver and Dial are for tests: nil means net.DefaultResolver and a
	// net.Dialer whose Control hook re-checks the address being connected.
	Resolver Resolver
	Dial     func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Resolver resolves host names; *net.Resolver implements it.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

var _ Resolver = (*net.Resolver)(nil)

func (p Policy) withDefaults() Policy {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if p.MaxReadBytes <= 0 {
		p.MaxReadBytes = 1 << 20
	}
	def(&p.MaxWriteBytes, 4<<20)
	def(&p.MaxListEntries, 1000)
	def(&p.MaxListDepth, 8)
	def(&p.Shell.MaxOutputBytes, 64<<10)
	if p.Shell.Timeout <= 0 {
		p.Shell.Timeout = 30 * time.Second
	}
	if p.Shell.Path == "" {
		p.Shell.Path = "/usr/local/bin:/usr/bin:/bin"
	}
	if p.Shell.Confine == "" {
		p.Shell.Confine = ConfineRequired
	}
	if p.Shell.ReadOnly == nil {
		p.Shell.ReadOnly = DefaultShellReadOnly
	}
	if p.Network.Timeout <= 0 {
		p.Network.Timeout = 30 * time.Second
	}
	if p.Network.MaxBytes <= 0 {
		p.Network.MaxBytes = 1 << 20
	}
	if p.Network.MaxRedirects == 0 {
		p.Network.MaxRedirects = 5
	}
	if p.Network.UserAgent == "" {
		p.Network.UserAgent = "weftos-web_fetch/1"
	}
	return p
}

// Env is what a tool call runs against: the workspace, the policy and the
// kernel. It is safe for concurrent use; Close releases the workspace root.
type Env struct {
	root      *os.Root
	workspace string // absolute, symlinks resolved
	given     string // absolute as given (may differ from workspace through symlinks)
	policy    Policy
	kernel    Kernel
}

// OpenEnv opens the workspace directory as the confinement root. kernel may
// be nil, in which case spawn_agent and send_message fail as unavailable.
func OpenEnv(workspace string, policy Policy, kernel Kernel) (*Env, error) {
	given, err := filepath.Abs(workspace)
	if err != nil {
		return nil, fmt.Errorf("tools: workspace %q: %w", workspace, err)
	}
	real, err := filepath.EvalSymlinks(given)
	if err != nil {
		return nil, fmt.Errorf("tools: workspace %q: %w", workspace, err)
	}
	root, err := os.OpenRoot(real)
	if err != nil {
		return nil, fmt.Errorf("tools: workspace %q: %w", workspace, err)
	}
	policy = policy.withDefaults()
	forbidden := make([]string, 0, len(policy.Forbidden))
	for _, f := range policy.Forbidden {
		if !filepath.IsAbs(f) {
			root.Close()
			return nil, fmt.Errorf("tools: forbidden path %q is not absolute", f)
		}
		forbidden = append(forbidden, filepath.Clean(f))
		if r, err := filepath.EvalSymlinks(f); err == nil && r != filepath.Clean(f) {
			forbidden = append(forbidden, r)
		}
	}
	policy.Forbidden = forbidden
	return &Env{root: root, workspace: real, given: filepath.Clean(given), policy: policy, kernel: kernel}, nil
}

// Workspace returns the absolute workspace path (symlinks resolved).
func (e *Env) Workspace() string { return e.workspace }

// Policy returns the effective policy (defaults applied).
func (e *Env) Policy() Policy { return e.policy }

// Close releases the workspace root.
func (e *Env) Close() error { return e.root.Close() }

// resolve turns a model-supplied path into a workspace-relative path for
// os.Root and the absolute path for governance. Lexical escapes are refused
// here; symlink escapes are refused by os.Root when the path is used.
func (e *Env) resolve(tool, p string) (rel, abs string, err error) {
	if p == "" {
		return "", "", toolErr(tool, CodeInvalidInput, nil, "path is empty; use \".\" for the workspace root")
	}
	if strings.ContainsRune(p, 0) {
		return "", "", toolErr(tool, CodeInvalidInput, nil, "path contains a NUL byte")
	}
	if filepath.IsAbs(p) {
		c := filepath.Clean(p)
		r, ok := within(e.workspace, c)
		if !ok {
			r, ok = within(e.given, c)
		}
		if !ok {
			return "", "", toolErr(tool, CodePathEscape, nil, "%s is outside the workspace %s; use a path relative to the workspace", p, e.workspace)
		}
		rel = r
	} else {
		if filepath.VolumeName(p) != "" {
			return "", "", toolErr(tool, CodePathEscape, nil, "%s names another volume; use a path relative to the workspace", p)
		}
		rel = filepath.Clean(p)
		if rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return "", "", toolErr(tool, CodePathEscape, nil, "%s leaves the workspace through ..; use a path inside the workspace", p)
		}
	}
	abs = filepath.Join(e.workspace, rel)
	if f, ok := e.forbidden(abs); ok {
		return "", "", toolErr(tool, CodeForbidden, nil, "%s is inside %s, which no agent tool may read or change", p, f)
	}
	return rel, abs, nil
}

func within(base, p string) (string, bool) {
	r, err := filepath.Rel(base, p)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) || filepath.IsAbs(r) {
		return "", false
	}
	return r, true
}

// fsErr classifies an error from an os.Root operation on path p.
func fsErr(tool, p string, err error) error {
	var te *ToolError
	switch {
	case errors.As(err, &te):
		return err
	case isEscape(err):
		return toolErr(tool, CodePathEscape, err, "%s resolves outside the workspace (through a symbolic link or ..); it cannot be accessed", p)
	case errors.Is(err, fs.ErrNotExist):
		return toolErr(tool, CodeNotFound, err, "%s does not exist", p)
	case errors.Is(err, fs.ErrPermission):
		return toolErr(tool, CodeDenied, err, "permission denied on %s", p)
	case errors.Is(err, syscall.ENOTDIR):
		return toolErr(tool, CodeNotFound, err, "a component of %s is not a directory", p)
	case errors.Is(err, syscall.ELOOP):
		return toolErr(tool, CodePathEscape, err, "%s has too many levels of symbolic links", p)
	}
	return toolErr(tool, CodeFailed, err, "%s: %v", p, unwrapPathErr(err))
}

// isEscape reports os.Root's refusal of a path that leaves the root. The
// standard library does not export that error, so it is recognised by its
// text; TestEscapeErrorText fails if the text ever changes.
func isEscape(err error) bool {
	return err != nil && strings.Contains(err.Error(), "path escapes from parent")
}

func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
