//go:build unix

package tools

import (
	"errors"
	"syscall"
)

// processAlive reports whether a process of this machine runs (signal 0
// checks without signalling).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
