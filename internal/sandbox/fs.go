package sandbox

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"syscall"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	wsys "github.com/tetratelabs/wazero/sys"
)

// confinedFS is a directory mount that refuses to follow symlinks out of
// its root.
//
// wazero's WASI layer already cleans guest paths and refuses ".." and
// absolute paths relative to a preopen, but its directory file system
// follows host symlinks wherever they point. confinedFS resolves every
// path through an os.Root first (which refuses escapes, including via
// symlinks) and only then delegates to wazero's directory FS; when the
// final component is not a symlink at check time the open is made with
// O_NOFOLLOW so a symlink swapped in afterwards fails instead of being
// followed. Guests may not create symlinks or hard links at all.
//
// Residual race (documented in docs/TOOLS.md): an intermediate directory
// replaced by an escaping symlink between the check and the open by
// another process, or by a concurrent run sharing the same read-write
// mount, could still be followed. Guests cannot create symlinks, so this
// needs an escaping symlink that the host itself placed inside the mount.
type confinedFS struct {
	experimentalsys.FS // wazero's DirFS, possibly wrapped read-only
	root               *os.Root
}

func newConfinedFS(hostDir string, readOnly bool) (*confinedFS, error) {
	root, err := os.OpenRoot(hostDir)
	if err != nil {
		return nil, err
	}
	inner := sysfs.DirFS(hostDir)
	if readOnly {
		inner = &sysfs.ReadFS{FS: inner}
	}
	return &confinedFS{FS: inner, root: root}, nil
}

func (c *confinedFS) close() error { return c.root.Close() }

func rootRel(p string) string {
	switch p {
	case "", "/":
		return "."
	}
	return p
}

// errnoFor maps an os.Root resolution error to a WASI errno. Escapes
// (which os.Root reports with an unexported error) become EPERM.
func errnoFor(err error) experimentalsys.Errno {
	var errno syscall.Errno
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return experimentalsys.ENOENT
	case errors.As(err, &errno) && errno == syscall.ENOTDIR:
		return experimentalsys.ENOTDIR
	default:
		return experimentalsys.EPERM
	}
}

// checkParent verifies that the directory containing p resolves inside
// the root.
func (c *confinedFS) checkParent(p string) experimentalsys.Errno {
	dir := path.Dir(rootRel(p))
	if dir == "." {
		return 0
	}
	if _, err := c.root.Stat(dir); err != nil {
		return errnoFor(err)
	}
	return 0
}

// check verifies p for an operation that follows a final symlink. It
// reports whether the final component is (at check time) a symlink.
func (c *confinedFS) check(p string) (isLink bool, errno experimentalsys.Errno) {
	if errno = c.checkParent(p); errno != 0 {
		return false, errno
	}
	fi, err := c.root.Lstat(rootRel(p))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, 0 // may be created; the parent is confined
		}
		return false, errnoFor(err)
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		return false, 0
	}
	// A symlink must resolve inside the root; a dangling one is refused
	// too, so O_CREAT through it cannot create a file elsewhere.
	if _, err := c.root.Stat(rootRel(p)); err != nil {
		return true, errnoFor(err)
	}
	return true, 0
}

// OpenFile implements experimentalsys.FS.
func (c *confinedFS) OpenFile(p string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	if flag&experimentalsys.O_NOFOLLOW != 0 {
		if errno := c.checkParent(p); errno != 0 {
			return nil, errno
		}
		return c.FS.OpenFile(p, flag, perm)
	}
	isLink, errno := c.check(p)
	if errno != 0 {
		return nil, errno
	}
	if !isLink && rootRel(p) != "." {
		flag |= experimentalsys.O_NOFOLLOW
	}
	return c.FS.OpenFile(p, flag, perm)
}

// Stat implements experimentalsys.FS.
func (c *confinedFS) Stat(p string) (wsys.Stat_t, experimentalsys.Errno) {
	if _, errno := c.check(p); errno != 0 {
		return wsys.Stat_t{}, errno
	}
	return c.FS.Stat(p)
}

// Lstat implements experimentalsys.FS.
func (c *confinedFS) Lstat(p string) (wsys.Stat_t, experimentalsys.Errno) {
	if errno := c.checkParent(p); errno != 0 {
		return wsys.Stat_t{}, errno
	}
	return c.FS.Lstat(p)
}

// Readlink implements experimentalsys.FS. Reading a link's text reveals
// nothing outside the mount and follows nothing.
func (c *confinedFS) Readlink(p string) (string, experimentalsys.Errno) {
	if errno := c.checkParent(p); errno != 0 {
		return "", errno
	}
	return c.FS.Readlink(p)
}

// Mkdir implements experimentalsys.FS.
func (c *confinedFS) Mkdir(p string, perm fs.FileMode) experimentalsys.Errno {
	if errno := c.checkParent(p); errno != 0 {
		return errno
	}
	return c.FS.Mkdir(p, perm)
}

// Chmod implements experimentalsys.FS (follows symlinks, so checked fully).
func (c *confinedFS) Chmod(p string, perm fs.FileMode) experimentalsys.Errno {
	if _, errno := c.check(p); errno != 0 {
		return errno
	}
	return c.FS.Chmod(p, perm)
}

// Rename implements experimentalsys.FS.
func (c *confinedFS) Rename(from, to string) experimentalsys.Errno {
	if errno := c.checkParent(from); errno != 0 {
		return errno
	}
	if errno := c.checkParent(to); errno != 0 {
		return errno
	}
	return c.FS.Rename(from, to)
}

// Rmdir implements experimentalsys.FS.
func (c *confinedFS) Rmdir(p string) experimentalsys.Errno {
	if errno := c.checkParent(p); errno != 0 {
		return errno
	}
	return c.FS.Rmdir(p)
}

// Unlink implements experimentalsys.FS.
func (c *confinedFS) Unlink(p string) experimentalsys.Errno {
	if errno := c.checkParent(p); errno != 0 {
		return errno
	}
	return c.FS.Unlink(p)
}

// Link implements experimentalsys.FS: guests may not create hard links.
func (c *confinedFS) Link(string, string) experimentalsys.Errno { return experimentalsys.EPERM }

// Symlink implements experimentalsys.FS: guests may not create symlinks.
func (c *confinedFS) Symlink(string, string) experimentalsys.Errno { return experimentalsys.EPERM }

// Utimens implements experimentalsys.FS (follows symlinks).
func (c *confinedFS) Utimens(p string, atim, mtim int64) experimentalsys.Errno {
	if _, errno := c.check(p); errno != 0 {
		return errno
	}
	return c.FS.Utimens(p, atim, mtim)
}
