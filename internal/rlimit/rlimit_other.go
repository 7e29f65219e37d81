//go:build !unix

package rlimit

// OpenFiles is unknown off Unix: ok is false.
func OpenFiles() (limit uint64, ok bool) { return 0, false }
