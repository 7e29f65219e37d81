//go:build unix

package main

import (
	"io"
	"os"
	"syscall"
)

// interruptibleInput returns in ready for a source to abandon a blocked read
// when the run is cancelled: standard input opened blocking (a pipe, a
// terminal) does not support read deadlines, so it is reopened in
// non-blocking mode, which the runtime poller serves with deadlines. The
// returned function restores blocking mode, which the shell expects back.
func interruptibleInput(in io.Reader) (io.Reader, func() error) {
	f, ok := in.(*os.File)
	if !ok {
		return in, func() error { return nil }
	}
	fd := int(f.Fd())
	if err := syscall.SetNonblock(fd, true); err != nil {
		return in, func() error { return nil }
	}
	pollable := os.NewFile(uintptr(fd), f.Name())
	return pollable, func() error { return syscall.SetNonblock(fd, false) }
}
