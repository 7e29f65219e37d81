package sink

import (
	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/visitor"
)

// Predicate chooses the items a Router sends to its dead-letter sink.
type Predicate func(it *visitor.Item) bool

// Failed selects every failed item.
func Failed(it *visitor.Item) bool { return it.Err != nil }

// InvalidInput selects items whose record could not be decoded or was
// rejected as invalid (error kind invalid), leaving failed calls to the main
// output.
func InvalidInput(it *visitor.Item) bool {
	kind, _ := visitor.Classify(it.Err)
	return it.Err != nil && kind == visitor.KindInvalid
}

// Router returns a sink that writes the items selected by deadLetterIf
// (Failed when nil) to deadLetter and all others to main. main and
// deadLetter are driven by the router's goroutine only and must not be used
// elsewhere; they are flushed with it, and an item is confirmed when the
// sink it went to confirmed it.
func Router(main, deadLetter *pipeline.Sink[visitor.Envelope], deadLetterIf Predicate, opts ...Option) *pipeline.Sink[visitor.Envelope] {
	cfg := newConfig("router", opts)
	if deadLetterIf == nil {
		deadLetterIf = Failed
	}
	return pipeline.Route(cfg.name, func(it *visitor.Item) int {
		if deadLetterIf(it) {
			return 1
		}
		return 0
	}, main, deadLetter)
}
