//go:build !unix && !windows

package main

import "syscall"

// detachAttr: platforms without sessions start the daemon as a plain child.
func detachAttr() *syscall.SysProcAttr { return nil }
