//go:build !unix

package localfile

import (
	"os"
	"time"
)

const openFlags = 0

func openedPath(*os.File) (string, bool) { return "", false }

// Without file locks, a partial file counts as abandoned after an hour
// without a write.
func lock(*os.File) error { return nil }

func tryLock(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && time.Since(fi.ModTime()) > time.Hour
}
