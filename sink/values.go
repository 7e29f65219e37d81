package sink

import (
	"context"

	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/visitor"
)

// Chan sends every item to ch, waiting while ch is full; an item is
// confirmed once sent. If the run's work context ends while it waits (the
// grace period after a cancel expired), the run fails. The caller owns ch;
// the sink does not close it.
func Chan(ch chan<- *visitor.Item, opts ...Option) *pipeline.Sink[visitor.Envelope] {
	cfg := newConfig("chan", opts)
	return pipeline.NewSink(cfg.name, func(ctx context.Context, it *visitor.Item) error {
		select {
		case ch <- it:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}, pipeline.Buffer(cfg.buffer))
}

// Func calls write for every item; an item is confirmed when it returns
// nil, and an error from it is fatal to the run.
func Func(write func(ctx context.Context, it *visitor.Item) error, opts ...Option) *pipeline.Sink[visitor.Envelope] {
	cfg := newConfig("func", opts)
	return pipeline.NewSink(cfg.name, write, pipeline.Buffer(cfg.buffer))
}

// Collect appends every item to *dst. Read *dst after Run has returned.
func Collect(dst *[]*visitor.Item, opts ...Option) *pipeline.Sink[visitor.Envelope] {
	cfg := newConfig("collect", opts)
	return pipeline.NewSink(cfg.name, func(_ context.Context, it *visitor.Item) error {
		*dst = append(*dst, it)
		return nil
	}, pipeline.Buffer(cfg.buffer))
}

// Discard drops every item, confirming it; the run's statistics still
// count them.
func Discard(opts ...Option) *pipeline.Sink[visitor.Envelope] {
	cfg := newConfig("discard", opts)
	return pipeline.NewSink(cfg.name, func(context.Context, *visitor.Item) error { return nil }, pipeline.Buffer(cfg.buffer))
}
