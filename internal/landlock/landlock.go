// Package landlock confines a child process with Linux Landlock: the
// child may read, write or execute only beneath the paths it is given, and
// (on kernels with Landlock ABI 4 or later) may be denied TCP entirely.
//
// The calling process is never confined. Landlock restricts the calling
// thread and whatever it creates afterwards, so Start creates the child
// from a dedicated OS thread: it locks a goroutine to a fresh thread,
// restricts that thread alone (landlock_restrict_self without the
// all-threads flag), starts the child there, and lets the goroutine end
// still locked, which makes the Go runtime discard the thread. The runtime
// never clones new threads from a locked one, so the restriction cannot
// leak into the rest of the program.
//
// On systems without Landlock, Supported reports ErrUnsupported and Start
// refuses; callers decide whether to run unconfined (and must say so).
package landlock

import (
	"errors"
	"os/exec"
)

// ErrUnsupported means the system cannot confine processes with Landlock
// (not Linux, a kernel built without it, or Landlock disabled at boot).
var ErrUnsupported = errors.New("landlock: not supported on this system")

// Rules say what a confined process may reach. Paths that do not exist
// are skipped. A directory rule covers everything beneath it.
type Rules struct {
	// ReadWrite paths: read, write, create, remove, execute.
	ReadWrite []string
	// ReadExec paths: read and execute only (system directories).
	ReadExec []string
	// DenyNetwork forbids TCP connect and bind (Landlock ABI 4 or later;
	// ignored, and reported by Start, on older kernels).
	DenyNetwork bool
}

// Result says what Start enforced.
type Result struct {
	// ABI is the Landlock ABI version used.
	ABI int
	// NetworkDenied is true when TCP connect and bind were forbidden.
	NetworkDenied bool
	// Skipped lists rule paths that did not exist.
	Skipped []string
}

// Start starts cmd confined by r (see the package comment). The caller
// waits for it with cmd.Wait as usual.
func Start(cmd *exec.Cmd, r Rules) (Result, error) { return start(cmd, r) }

// Supported returns the best Landlock ABI version the kernel offers, or an
// error wrapping ErrUnsupported.
func Supported() (int, error) { return abi() }
