//go:build !unix

package tools

// processAlive cannot tell here: a lease is then waited out.
func processAlive(int) bool { return true }
