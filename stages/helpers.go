package stages

import (
	"context"

	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/visitor"
)

// Map returns a custom stage of one function: fn may change the item, and an
// error from it fails the item. Failed items pass by without calling fn. A
// panic in fn fails the item instead of crashing the run. As fn may change
// the answer in place, the answer's bytes that Deliver kept are dropped
// after it (visitor.Envelope.SetResponse), and the result sinks encode the
// answer as it is then; a function that only looks belongs in a Tap.
//
// Options: WithConcurrency, WithOrdered, WithName.
func Map(name string, fn func(ctx context.Context, it *visitor.Item) error, opts ...MapOption) *pipeline.Stage[visitor.Envelope] {
	cfg := newConfig(name, opts, MapOption.applyMap)
	return pipeline.NewStage(cfg.name, func(ctx context.Context, it *visitor.Item) error {
		// fn may change the answer in place: its bytes as Target sent them
		// no longer stand for it (visitor.Envelope.SetResponse).
		defer func() { it.Value.SetResponse(it.Value.Response, nil) }()
		return fn(ctx, it)
	}, cfg.pipelineOptions()...)
}

// Filter returns a stage that removes the items for which keep returns
// false; they are counted as dropped and do not reach the sink. Failed items
// always pass.
func Filter(name string, keep func(it *visitor.Item) bool, opts ...MapOption) *pipeline.Stage[visitor.Envelope] {
	cfg := newConfig(name, opts, MapOption.applyMap)
	return pipeline.NewStage(cfg.name, func(_ context.Context, it *visitor.Item) error {
		if keep(it) {
			return nil
		}
		return pipeline.ErrDrop
	}, cfg.pipelineOptions()...)
}

// Tap returns a stage that shows every item, failed ones included, to see
// without changing the stream (logging, counting, progress). see must not
// change the item. With WithInline, see runs in the goroutines that hand
// items to the tap, concurrently if they are concurrent.
func Tap(name string, see func(it *visitor.Item), opts ...MapOption) *pipeline.Stage[visitor.Envelope] {
	cfg := newConfig(name, opts, MapOption.applyMap)
	return pipeline.NewStage(cfg.name, func(_ context.Context, it *visitor.Item) error {
		see(it)
		return nil
	}, cfg.pipelineOptions(pipeline.ProcessFailed())...)
}
