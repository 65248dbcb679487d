//go:build windows

package doctor

import "golang.org/x/sys/windows"

// diskSpace returns the bytes available to this user and the volume's
// size.
func diskSpace(path string) (free, total uint64, err error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return 0, 0, err
	}
	var all uint64
	err = windows.GetDiskFreeSpaceEx(p, &free, &total, &all)
	return free, total, err
}
