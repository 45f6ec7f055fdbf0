//go:build unix

package localfile

import (
	"os"
	"strconv"
	"syscall"
)

const openFlags = syscall.O_NONBLOCK | syscall.O_NOFOLLOW

// openedPath is the real path of an open file, where the system tells it.
func openedPath(f *os.File) (string, bool) {
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	return p, err == nil
}
