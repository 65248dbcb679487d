// Package filelock takes exclusive, non-blocking advisory locks on files:
// flock on Unix, LockFileEx on Windows. The operating system releases a
// lock when its process dies, so a crash never leaves a stale lock. On
// platforms without file locks (js, wasip1) the lock file is created
// exclusively and removed on Unlock.
package filelock

import "errors"

// ErrLocked means another process holds the lock.
var ErrLocked = errors.New("filelock: locked by another process")
