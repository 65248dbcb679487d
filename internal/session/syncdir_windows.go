//go:build windows

package session

// syncDir is a no-op on Windows, where directories cannot be fsynced; NTFS
// journals directory changes.
func syncDir(string) error { return nil }
