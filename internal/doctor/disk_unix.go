//go:build linux || darwin || freebsd

package doctor

import "golang.org/x/sys/unix"

// diskSpace returns the bytes available to this user and the file
// system's size.
func diskSpace(path string) (free, total uint64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, 0, err
	}
	bs := uint64(st.Bsize)
	return uint64(st.Bavail) * bs, uint64(st.Blocks) * bs, nil
}
