//go:build unix

package main

import (
	"io"
	"os"
	"os/signal"
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

// ignoreBrokenPipe makes writes to a closed pipe fail with EPIPE instead of
// killing the process with SIGPIPE: the run then stops, flushes what it can
// and reports the resume point.
func ignoreBrokenPipe() { signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE) }
