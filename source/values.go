package source

import (
	"context"

	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/visitor"
)

// Slice emits the visitors of vs in order. The records are not copied:
// stages see (and must not change) the caller's values.
func Slice(vs []visitor.Record, opts ...Option) *pipeline.Source[visitor.Envelope] {
	cfg := newConfig("slice", opts)
	return pipeline.NewSource(cfg.name, func(_ context.Context, emit pipeline.Emit[visitor.Envelope]) error {
		for i := cfg.skip; i < int64(len(vs)); i++ {
			if !emit(&visitor.Item{Pos: pipeline.Position{Seq: i + 1}, Value: visitor.Envelope{Record: &vs[i]}}) {
				return nil
			}
		}
		return nil
	}, pipeline.Buffer(cfg.buffer))
}

// Chan emits the visitors received from ch until ch is closed or the run
// stops. The caller owns ch and closes it to end the input.
func Chan(ch <-chan visitor.Record, opts ...Option) *pipeline.Source[visitor.Envelope] {
	cfg := newConfig("chan", opts)
	return pipeline.NewSource(cfg.name, func(ctx context.Context, emit pipeline.Emit[visitor.Envelope]) error {
		var seq int64
		for {
			select {
			case v, ok := <-ch:
				if !ok {
					return nil
				}
				seq++
				if seq <= cfg.skip {
					continue
				}
				if !emit(&visitor.Item{Pos: pipeline.Position{Seq: seq}, Value: visitor.Envelope{Record: &v}}) {
					return nil
				}
			case <-ctx.Done():
				return nil
			}
		}
	}, pipeline.Buffer(cfg.buffer))
}
