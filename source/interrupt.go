package source

import (
	"context"
	"io"
	"sync"
	"time"
)

// interruptible unblocks a read of r stuck when ctx ends, so that a source
// reading a pipe or a terminal stops when the run is cancelled: it sets a
// read deadline in the past when r supports deadlines (pipes, sockets,
// non-blocking files), else closes r when it is an io.Closer (io.Pipe). A
// reader with neither is left alone: the source then stops after its next
// read returns. The returned function must be called before the source
// returns; it stops the watch.
func interruptible(ctx context.Context, r io.Reader) (stop func()) {
	type deadliner interface{ SetReadDeadline(time.Time) error }
	var interrupt func()
	switch v := r.(type) {
	case deadliner:
		interrupt = func() { _ = v.SetReadDeadline(time.Unix(1, 0)) }
	case io.Closer:
		interrupt = func() { _ = v.Close() }
	default:
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			interrupt()
		case <-done:
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}
