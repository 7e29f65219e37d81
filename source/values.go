package source

import (
	"context"

	"github.com/targetflow/targetflow/pipeline"
)

// Slice emits the visitors of vs in order. The visitors are not copied:
// stages see (and must not change) the caller's values.
func Slice(vs []pipeline.Visitor, opts ...Option) *pipeline.Source {
	cfg := newConfig("slice", opts)
	return pipeline.NewSource(cfg.name, func(_ context.Context, emit pipeline.EmitFunc) error {
		for i := cfg.skip; i < int64(len(vs)); i++ {
			if !emit(&pipeline.Item{Seq: i + 1, Visitor: &vs[i]}) {
				return nil
			}
		}
		return nil
	}, cfg.pipelineOptions()...)
}

// Chan emits the visitors received from ch until ch is closed or the run
// stops. The caller owns ch and closes it to end the input.
func Chan(ch <-chan pipeline.Visitor, opts ...Option) *pipeline.Source {
	cfg := newConfig("chan", opts)
	return pipeline.NewSource(cfg.name, func(ctx context.Context, emit pipeline.EmitFunc) error {
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
				if !emit(&pipeline.Item{Seq: seq, Visitor: &v}) {
					return nil
				}
			case <-ctx.Done():
				return nil
			}
		}
	}, cfg.pipelineOptions()...)
}
