//go:build unix

package doctor

import (
	"os"
	"syscall"
)

// permsApply: Unix file modes mean what they say.
const permsApply = true

func ownedByMe(st os.FileInfo) bool {
	s, ok := st.Sys().(*syscall.Stat_t)
	return !ok || int(s.Uid) == os.Getuid()
}
