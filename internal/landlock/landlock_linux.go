//go:build linux

package landlock

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Filesystem rights by the ABI that introduced them.
const (
	fsABI1 = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_READ_FILE |
		unix.LANDLOCK_ACCESS_FS_READ_DIR | unix.LANDLOCK_ACCESS_FS_REMOVE_DIR | unix.LANDLOCK_ACCESS_FS_REMOVE_FILE |
		unix.LANDLOCK_ACCESS_FS_MAKE_CHAR | unix.LANDLOCK_ACCESS_FS_MAKE_DIR | unix.LANDLOCK_ACCESS_FS_MAKE_REG |
		unix.LANDLOCK_ACCESS_FS_MAKE_SOCK | unix.LANDLOCK_ACCESS_FS_MAKE_FIFO | unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		unix.LANDLOCK_ACCESS_FS_MAKE_SYM
	fsReadExec = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR
	// Rights that apply to a file (not a directory).
	fsFileRights = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_READ_FILE |
		unix.LANDLOCK_ACCESS_FS_TRUNCATE | unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
)

func abi() (int, error) {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0, fmt.Errorf("%w: %v", ErrUnsupported, errno)
	}
	if v < 1 {
		return 0, fmt.Errorf("%w: ABI %d", ErrUnsupported, v)
	}
	return int(v), nil
}

// handledFS is every filesystem right the ABI knows: all are denied except
// where a rule allows them.
func handledFS(v int) uint64 {
	h := uint64(fsABI1)
	if v >= 2 {
		h |= unix.LANDLOCK_ACCESS_FS_REFER
	}
	if v >= 3 {
		h |= unix.LANDLOCK_ACCESS_FS_TRUNCATE
	}
	if v >= 5 {
		h |= unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	}
	return h
}

func start(cmd *exec.Cmd, r Rules) (Result, error) {
	v, err := abi()
	if err != nil {
		return Result{}, err
	}
	res := Result{ABI: v}
	attr := unix.LandlockRulesetAttr{Access_fs: handledFS(v)}
	if r.DenyNetwork && v >= 4 {
		attr.Access_net = unix.LANDLOCK_ACCESS_NET_BIND_TCP | unix.LANDLOCK_ACCESS_NET_CONNECT_TCP
		res.NetworkDenied = true
	}
	fd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr), 0)
	if errno != 0 {
		return Result{}, fmt.Errorf("landlock: create ruleset: %w", errno)
	}
	ruleset := int(fd)
	defer unix.Close(ruleset)
	add := func(path string, access uint64) error {
		pfd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) {
			res.Skipped = append(res.Skipped, path)
			return nil
		}
		if err != nil {
			return fmt.Errorf("landlock: open %s: %w", path, err)
		}
		defer unix.Close(pfd)
		var st unix.Stat_t
		if err := unix.Fstat(pfd, &st); err != nil {
			return fmt.Errorf("landlock: stat %s: %w", path, err)
		}
		access &= attr.Access_fs
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			access &= fsFileRights
		}
		rule := unix.LandlockPathBeneathAttr{Allowed_access: access, Parent_fd: int32(pfd)}
		if _, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(ruleset), unix.LANDLOCK_RULE_PATH_BENEATH,
			uintptr(unsafe.Pointer(&rule)), 0, 0, 0); errno != 0 {
			return fmt.Errorf("landlock: rule for %s: %w", path, errno)
		}
		return nil
	}
	for _, p := range r.ReadWrite {
		if err := add(p, handledFS(v)); err != nil {
			return Result{}, err
		}
	}
	for _, p := range r.ReadExec {
		if err := add(p, fsReadExec); err != nil {
			return Result{}, err
		}
	}
	// Start opens /dev/null for standard streams left nil; the restricted
	// thread may not, so open it here.
	var devnull *os.File
	if cmd.Stdin == nil || cmd.Stdout == nil || cmd.Stderr == nil {
		devnull, err = os.OpenFile(os.DevNull, os.O_RDWR, 0)
		if err != nil {
			return Result{}, fmt.Errorf("landlock: %w", err)
		}
		defer devnull.Close()
		if cmd.Stdin == nil {
			cmd.Stdin = devnull
		}
		if cmd.Stdout == nil {
			cmd.Stdout = devnull
		}
		if cmd.Stderr == nil {
			cmd.Stderr = devnull
		}
	}
	done := make(chan error, 1)
	go func() {
		// This goroutine ends locked to its thread: the runtime then
		// terminates the thread instead of reusing it, so the restriction
		// dies with the child's start.
		runtime.LockOSThread()
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			done <- fmt.Errorf("landlock: no_new_privs: %w", err)
			return
		}
		if _, _, errno := unix.RawSyscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(ruleset), 0, 0); errno != 0 {
			done <- fmt.Errorf("landlock: restrict: %w", errno)
			return
		}
		done <- cmd.Start()
	}()
	if err := <-done; err != nil {
		return Result{}, err
	}
	return res, nil
}
