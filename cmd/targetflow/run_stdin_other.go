//go:build !unix

package main

import "io"

// interruptibleInput returns in as is: on this system a read of standard
// input blocked when the run is cancelled ends with the input (or a second
// interrupt).
func interruptibleInput(in io.Reader) (io.Reader, func() error) {
	return in, func() error { return nil }
}

// ignoreBrokenPipe does nothing where there is no SIGPIPE.
func ignoreBrokenPipe() {}
