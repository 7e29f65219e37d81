package sink

import (
	"context"
	"errors"
	"time"

	"github.com/targetflow/targetflow/pipeline"
)

// Predicate chooses the items a Router sends to its dead-letter sink.
type Predicate func(it *pipeline.Item) bool

// Failed selects every failed item.
func Failed(it *pipeline.Item) bool { return it.Err != nil }

// InvalidInput selects items whose record could not be decoded or was
// rejected as invalid (error kind invalid), leaving failed calls to the main
// output.
func InvalidInput(it *pipeline.Item) bool {
	kind, _ := pipeline.Classify(it.Err)
	return it.Err != nil && kind == pipeline.KindInvalid
}

// Router returns a sink that writes the items selected by deadLetterIf
// (Failed when nil) to deadLetter and all others to main; the statistics
// count the former as dead-lettered. main and deadLetter are written by the
// router's goroutine only and must not be used elsewhere; both are flushed
// with the router.
func Router(main, deadLetter *pipeline.Sink, deadLetterIf Predicate, opts ...Option) *pipeline.Sink {
	cfg := newConfig("router", opts)
	if deadLetterIf == nil {
		deadLetterIf = Failed
	}
	flush := func() error { return errors.Join(main.Flush(), deadLetter.Flush()) }
	return pipeline.NewSink(cfg.name, func(ctx context.Context, it *pipeline.Item) error {
		if deadLetterIf(it) {
			pipeline.NoteDeadLetter(ctx)
			return deadLetter.Write(ctx, it)
		}
		return main.Write(ctx, it)
	}, pipeline.Buffer(cfg.buffer), pipeline.OnFlush(flush, max(cfg.flushEvery, time.Millisecond)))
}
