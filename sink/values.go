package sink

import (
	"context"

	"github.com/targetflow/targetflow/pipeline"
)

// Chan sends every item to ch, waiting while ch is full. If the run's work
// context ends while it waits (the grace period after a cancel expired),
// the run fails. The caller owns ch; the sink does not close it.
func Chan(ch chan<- *pipeline.Item, opts ...Option) *pipeline.Sink {
	cfg := newConfig("chan", opts)
	return pipeline.NewSink(cfg.name, func(ctx context.Context, it *pipeline.Item) error {
		select {
		case ch <- it:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}, pipeline.Buffer(cfg.buffer))
}

// Func calls write for every item; an error from it is fatal to the run.
func Func(write func(ctx context.Context, it *pipeline.Item) error, opts ...Option) *pipeline.Sink {
	cfg := newConfig("func", opts)
	return pipeline.NewSink(cfg.name, write, pipeline.Buffer(cfg.buffer))
}

// Collect appends every item to *dst. Read *dst after Run has returned.
func Collect(dst *[]*pipeline.Item, opts ...Option) *pipeline.Sink {
	cfg := newConfig("collect", opts)
	return pipeline.NewSink(cfg.name, func(_ context.Context, it *pipeline.Item) error {
		*dst = append(*dst, it)
		return nil
	}, pipeline.Buffer(cfg.buffer))
}

// Discard drops every item; the run's statistics still count them.
func Discard(opts ...Option) *pipeline.Sink {
	cfg := newConfig("discard", opts)
	return pipeline.NewSink(cfg.name, func(context.Context, *pipeline.Item) error { return nil }, pipeline.Buffer(cfg.buffer))
}
