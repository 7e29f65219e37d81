// Package pipeline is targetflow's streaming runtime, generic and
// Target-free (it imports nothing of targetflow): the envelope [Item] that
// carries one record of any payload through a run, the components that move
// items ([Source], [Stage], [Sink]), and [Pipeline.Run], which wires them
// together on top of github.com/reugn/go-streams and drives them under a
// context. targetflow's Target pipelines carry a visitor.Envelope.
//
// Every component is a go-streams citizen: a [*Source] is a streams.Source,
// a [*Stage] a streams.Flow and a [*Sink] a streams.Sink, and the elements
// on their channels are *Item[T] values. A go-streams operator (flow.Filter,
// flow.Throttler, a window ...) can be placed between stages with
// [Builder.Via]; Run forwards items into and out of it.
//
// What the runtime adds to go-streams:
//
//   - Positions. An item knows where it is in its source ([Position]): a
//     sequence number, a line and a byte offset in a file, a stream,
//     partition, offset and key in a partitioned log such as Kafka.
//   - Acknowledgments, from sinks back to sources. A sink confirms an item
//     when it has durably written it: at once ([NewSink]), at its next flush
//     ([OnFlush]) or later, from any goroutine, in any order
//     ([NewAsyncSink], [Acks.Ack]: a Kafka producer confirms when the broker
//     does). An item is acknowledged to its source ([OnAck]) when every sink
//     it went to ([Route], [Broadcast]) has confirmed it, and given back (a
//     nack) when one could not write it or the run stopped before it was
//     done. A [Tracker] says what a source may commit: the contiguous prefix
//     of its input that is done, and what is done above it.
//   - Checkpoints. With [WithCheckpoint], the source's position, the records
//     done above it and the outputs' lengths are written atomically after the
//     sinks flush, at least every second and at the end; a run given the
//     checkpoint truncates the outputs back, skips what is done and goes on,
//     so that after any number of crashes every record is written exactly
//     once. A source declares its [Input], a sink its [Output].
//   - Context. Cancelling the context given to Run stops the source; items
//     already read finish the stages they are in (an interruptible stage does
//     not start the items that reach it after the stop: they are
//     [ErrStopped] and given back), and after a grace period ([WithGrace])
//     the context of in-flight work is cancelled too. Sinks are flushed and
//     Run returns. No goroutine started by Run outlives it.
//   - Errors. A per-item failure is stored in Item.Err and the item keeps
//     flowing, so every input record reaches the sink exactly once. Only a
//     failure of the pipeline itself (a source that cannot read, a sink that
//     cannot write) cancels the run, and Run returns it.
//   - Backpressure. Components are linked by bounded channels ([Buffer])
//     and concurrent stages hold at most their concurrency in flight, so
//     memory is bounded by configuration, never by input length.
//   - Hand-offs only where they pay. Handing an item to another goroutine
//     wakes it, often a thread with it: in a run that mostly waits on the
//     network, a few hand-offs per item cost as much as the work of the
//     quick stages. A quick stage runs [Inline], in the goroutines of the
//     component before it; a stage most items need nothing of lets them
//     [Stage.Bypass] its workers.
//   - Statistics. [Stats] counts items per component, keeps latency
//     percentiles (an HDR histogram) and throughput, and counts as written
//     only what sinks confirmed. A Prometheus collector exposes the same
//     figures ([Pipeline.Collector]).
//   - Logging through a *zap.Logger given with [WithLogger] (default: none).
//
// Options are sealed and grouped by what they apply to ([SourceOption],
// [StageOption], [SinkOption], [RunOption]): an option that does not apply
// does not compile.
package pipeline
