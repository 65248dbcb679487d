//go:build unix

package main

import "syscall"

// detachAttr puts the daemon in its own session, away from the terminal.
func detachAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
