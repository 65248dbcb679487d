//go:build !unix

package doctor

import "os"

// permsApply: Windows ACLs, and the wasm platforms, are not described by
// Unix file modes.
const permsApply = false

func ownedByMe(os.FileInfo) bool { return true }
