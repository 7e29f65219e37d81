//go:build unix

package rlimit

import "syscall"

// OpenFiles is the process's soft limit of open files (RLIMIT_NOFILE);
// ok is false when it cannot be read.
func OpenFiles() (limit uint64, ok bool) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, false
	}
	return uint64(rl.Cur), true
}
