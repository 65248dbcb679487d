//go:build unix

package tools

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

const (
	listSep = os.PathListSeparator
	pathSep = os.PathSeparator
	// openRead opens without blocking, so a FIFO swapped in after the
	// regular-file check cannot hang the call.
	openRead = os.O_RDONLY | syscall.O_NONBLOCK
)

func isAbs(p string) bool { return filepath.IsAbs(p) }

// setProcessGroup runs the command in its own process group and kills the
// whole group on cancellation, so children it started die with it.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
