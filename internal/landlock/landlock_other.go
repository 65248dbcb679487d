//go:build !linux

package landlock

import (
	"fmt"
	"os/exec"
	"runtime"
)

func abi() (int, error) { return 0, fmt.Errorf("%w (%s)", ErrUnsupported, runtime.GOOS) }

func start(*exec.Cmd, Rules) (Result, error) {
	_, err := abi()
	return Result{}, err
}
