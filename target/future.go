package target

import "context"

// Future is the pending result of an asynchronous call (GetOffersAsync and
// friends). It is complete when Done is closed; Wait blocks until then or
// until its context ends. A Future is safe for concurrent use.
type Future[T any] struct {
	done  chan struct{}
	value T
	err   error
}

// runFuture starts call in a goroutine and returns its Future. The goroutine
// is owned by the call itself: it ends when call returns, which ctx bounds.
func runFuture[T any](ctx context.Context, call func(context.Context) (T, error)) *Future[T] {
	f := &Future[T]{done: make(chan struct{})}
	go func() {
		defer close(f.done)
		f.value, f.err = call(ctx)
	}()
	return f
}

// Done returns a channel closed when the result is available.
func (f *Future[T]) Done() <-chan struct{} { return f.done }

// Wait blocks until the result is available and returns it, or returns
// ctx's error if ctx ends first (the call itself keeps running under the
// context it was started with).
func (f *Future[T]) Wait(ctx context.Context) (T, error) {
	select {
	case <-f.done:
		return f.value, f.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}
