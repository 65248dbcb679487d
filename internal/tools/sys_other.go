//go:build !unix

package tools

import (
	"os"
	"os/exec"
	"path/filepath"
)

const (
	listSep  = os.PathListSeparator
	pathSep  = os.PathSeparator
	openRead = os.O_RDONLY
)

func isAbs(p string) bool { return filepath.IsAbs(p) }

// setProcessGroup keeps the default cancellation (kill the process).
func setProcessGroup(*exec.Cmd) {}
