// Package pipeline is targetflow's streaming runtime: the typed envelope
// [Item] that carries one visitor through a run, the components that move
// items ([Source], [Stage], [Sink]), and [Pipeline.Run], which wires them
// together on top of github.com/reugn/go-streams and drives them under a
// context.
//
// Every targetflow component is a go-streams citizen: a [*Source] is a
// streams.Source, a [*Stage] a streams.Flow and a [*Sink] a streams.Sink,
// and the elements on their channels are *Item values. A go-streams operator
// (flow.Filter, flow.Throttler, a window ...) can therefore be placed between
// targetflow stages with [Builder.Via]; Run forwards items into and out of it.
//
// What targetflow adds to go-streams:
//
//   - Context. Cancelling the context given to Run stops the source; items
//     already read finish the stages they are in (interruptible stages mark
//     items not yet started as canceled), and after a grace period
//     ([WithGrace]) the context of in-flight work is cancelled too. Sinks are
//     flushed and Run returns. No goroutine started by Run outlives it.
//   - Errors. A per-item failure (a bad input line, a failed call, a panic in
//     a user function) is stored in Item.Err and the item keeps flowing, so
//     every input record reaches the sink exactly once. Only a failure of the
//     pipeline itself (a source that cannot read, a sink that cannot write)
//     cancels the run, and Run returns it.
//   - Backpressure. Components are linked by bounded channels ([Buffer])
//     and concurrent stages hold at most their concurrency in flight, so
//     memory is bounded by configuration, never by input length.
//   - Statistics. [Stats] counts items in/ok/failed/retried/dead-lettered per
//     component, keeps latency percentiles and throughput, and tells up to
//     which sequence number the output is complete (for resuming). A
//     Prometheus collector exposes the same figures ([Pipeline.Collector]).
//   - Logging through a *zap.Logger given with [WithLogger] (default: none).
package pipeline
