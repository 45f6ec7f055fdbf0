//go:build !unix

package localfile

import "os"

const openFlags = 0

func openedPath(*os.File) (string, bool) { return "", false }
