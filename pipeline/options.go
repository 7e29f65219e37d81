package pipeline

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// Options are sealed and grouped by what they apply to, so that an option
// that does not apply to a component does not compile: a SourceOption is
// given to NewSource, a StageOption to NewStage, a SinkOption to NewSink and
// NewAsyncSink, a RunOption to From. A ComponentOption is all three of the
// first.

// SourceOption configures a source.
type SourceOption interface{ applySource(*sourceConfig) }

// StageOption configures a stage.
type StageOption interface{ applyStage(*stageConfig) }

// SinkOption configures a sink.
type SinkOption interface{ applySink(*sinkConfig) }

// ComponentOption configures any component: source, stage or sink.
type ComponentOption interface {
	SourceOption
	StageOption
	SinkOption
}

// RunOption configures a run.
type RunOption interface{ applyRun(*runConfig) }

type sourceConfig struct {
	buffer int
	onAck  func(pos Position, err error)
	input  Input
}

type stageConfig struct {
	buffer        int
	concurrency   int
	ordered       bool
	processFailed bool
	interruptible bool
	inline        bool
}

type sinkConfig struct {
	buffer     int
	flush      func(ctx context.Context) error
	flushEvery time.Duration
	deadLetter bool
	output     Output
}

type runConfig struct {
	log        *zap.Logger
	grace      time.Duration
	checkpoint string
	writeCut   bool
	onWritten  func(Position)
}

// DefaultBuffer is the capacity of the channel on a component's output (a
// sink's input) unless Buffer says otherwise.
const DefaultBuffer = 64

// DefaultFlushInterval is how often a sink with OnFlush flushes when its
// input is idle, unless OnFlush says otherwise. Under continuous input it
// flushes at least every MaxFlushInterval.
const DefaultFlushInterval = 200 * time.Millisecond

// MaxFlushInterval bounds the time between two flushes of a sink, busy or
// not: what a sink has queued is confirmed (and checkpointed) at least
// this often.
const MaxFlushInterval = time.Second

// DefaultGrace is how long in-flight work may continue after the run is
// cancelled, unless WithGrace says otherwise.
const DefaultGrace = 5 * time.Second

func newSourceConfig(opts []SourceOption) sourceConfig {
	c := sourceConfig{buffer: DefaultBuffer}
	for _, o := range opts {
		o.applySource(&c)
	}
	return c
}

func newStageConfig(opts []StageOption) stageConfig {
	c := stageConfig{buffer: DefaultBuffer, concurrency: 1}
	for _, o := range opts {
		o.applyStage(&c)
	}
	c.concurrency = max(c.concurrency, 1)
	if c.inline {
		c.concurrency, c.ordered = 1, false
	}
	return c
}

func newSinkConfig(opts []SinkOption) sinkConfig {
	c := sinkConfig{buffer: DefaultBuffer, flushEvery: DefaultFlushInterval}
	for _, o := range opts {
		o.applySink(&c)
	}
	c.flushEvery = min(max(c.flushEvery, time.Millisecond), MaxFlushInterval)
	return c
}

func newRunConfig(opts []RunOption) runConfig {
	c := runConfig{log: zap.NewNop(), grace: DefaultGrace}
	for _, o := range opts {
		o.applyRun(&c)
	}
	return c
}

type bufferOption int

func (o bufferOption) applySource(c *sourceConfig) { c.buffer = max(int(o), 0) }
func (o bufferOption) applyStage(c *stageConfig)   { c.buffer = max(int(o), 0) }
func (o bufferOption) applySink(c *sinkConfig)     { c.buffer = max(int(o), 0) }

// Buffer sets the capacity of the component's output channel (for a sink:
// of its input channel). The default is DefaultBuffer.
func Buffer(n int) ComponentOption { return bufferOption(n) }

type stageOption func(*stageConfig)

func (o stageOption) applyStage(c *stageConfig) { o(c) }

// Concurrency lets a stage process up to n items at once (default 1).
// Without Ordered, items leave in the order they finish.
func Concurrency(n int) StageOption { return stageOption(func(c *stageConfig) { c.concurrency = n }) }

// Ordered makes a concurrent stage emit items in the order they arrived.
func Ordered(ordered bool) StageOption {
	return stageOption(func(c *stageConfig) { c.ordered = ordered })
}

// ProcessFailed makes a stage call its function for failed items too
// (observers such as a tap want to see everything). By default a stage
// passes failed items on untouched.
func ProcessFailed() StageOption { return stageOption(func(c *stageConfig) { c.processFailed = true }) }

// Interruptible marks a stage whose work is worth stopping when the run is
// cancelled, such as remote calls: once the run is stopping, every item that
// reaches the stage is stopped (a *StoppedError, not done) instead of
// processed. Work already started continues until the grace period ends.
// The stage takes items in arrival order, so the items it stops are always
// the last to arrive.
func Interruptible() StageOption { return stageOption(func(c *stageConfig) { c.interruptible = true }) }

// Inline runs the stage's function in the goroutines of the component
// before it, on each item as that component hands it on: the stage has no
// worker, channel or hand-off of its own per item. It suits a quick
// function that does not block (building a request, a map, a tap), for
// which handing every item to another goroutine costs more than the work.
// The function then runs as often at once, and in the order, the component
// before it hands items on: one at a time in order after a source or a
// sequential stage, concurrently after a concurrent one (Concurrency and
// Ordered do not apply to it). Errors, drops and figures are as for any
// stage. Where the component before it is not of this package (a
// go-streams flow), or outside a run, the stage takes items itself, one at
// a time.
func Inline() StageOption { return stageOption(func(c *stageConfig) { c.inline = true }) }

type sinkOption func(*sinkConfig)

func (o sinkOption) applySink(c *sinkConfig) { o(c) }

// OnFlush gives a sink a function that pushes what it queued to its
// destination. The sink calls it when its input is momentarily empty (at
// most once per interval), at least every MaxFlushInterval, and when the run
// ends, completed or cancelled. When it returns nil, every item queued
// before the call must have been confirmed. An error from it is fatal to
// the run.
func OnFlush(flush func(ctx context.Context) error, interval time.Duration) SinkOption {
	return sinkOption(func(c *sinkConfig) { c.flush, c.flushEvery = flush, interval })
}

// DeadLetter marks a sink as a dead-letter output: what it writes is counted
// as dead-lettered in Stats.
func DeadLetter() SinkOption { return sinkOption(func(c *sinkConfig) { c.deadLetter = true }) }

// WithOutput declares the destination a sink writes to, so that a run with
// a checkpoint records its length and truncates it back on resume.
func WithOutput(o Output) SinkOption { return sinkOption(func(c *sinkConfig) { c.output = o }) }

type sourceOption func(*sourceConfig)

func (o sourceOption) applySource(c *sourceConfig) { o(c) }

// OnAck gives a source a function told the outcome of each item it
// emitted: err nil once every sink the item went to has durably written it
// (or a stage dropped it), else why the item is not done (a nack: a fatal
// sink failure, or ErrStopped for an item the stopping run did not finish).
// It is called once per item, from any goroutine, possibly concurrently and
// out of order; it must not block. A source that commits what is done (Kafka
// offsets) keeps a Tracker per partition fed by it.
func OnAck(fn func(pos Position, err error)) SourceOption {
	return sourceOption(func(c *sourceConfig) { c.onAck = fn })
}

// WithInput declares the input a source reads, so that a run with a
// checkpoint records it and resumes the source exactly.
func WithInput(in Input) SourceOption { return sourceOption(func(c *sourceConfig) { c.input = in }) }

type runOption func(*runConfig)

func (o runOption) applyRun(c *runConfig) { o(c) }

// WithLogger sets the logger of the run (default: zap.NewNop()).
func WithLogger(l *zap.Logger) RunOption {
	return runOption(func(c *runConfig) {
		if l != nil {
			c.log = l
		}
	})
}

// WithGrace sets how long in-flight work may continue after the context of
// Run is cancelled before its own context is cancelled too. Zero cancels
// in-flight work at once.
func WithGrace(d time.Duration) RunOption {
	return runOption(func(c *runConfig) { c.grace = max(d, 0) })
}

// WithCheckpoint makes the run crash-safe: the state an exact resume needs
// (the source's position and the records done above it, the outputs'
// lengths) is written to path, atomically, after the sinks flush, at least
// every CheckpointInterval and when the run ends. A run started with the
// path of an existing checkpoint resumes it: outputs are truncated to the
// recorded lengths, records done are skipped, the rest is processed. The
// source needs an Input (WithInput) and every sink an Output (WithOutput);
// a checkpoint that does not match them is refused with a *CheckpointError.
func WithCheckpoint(path string) RunOption {
	return runOption(func(c *runConfig) { c.checkpoint = path })
}

// WriteCut decides what becomes of items whose work the end of the grace
// period cut (a *StoppedError with Cut set): by default (false) they are not
// written and are given back to their source, like items never started;
// with true they are written as failures and count as done. Runs resumed by
// count (skip the first N records) want true: the items never started are
// then the last the interruptible stage received, and everything before the
// first of them is written.
func WriteCut(write bool) RunOption { return runOption(func(c *runConfig) { c.writeCut = write }) }

// OnWritten has the run tell fn of each item that every sink it went to has
// written (durably, as the sinks confirm: flushed, or acknowledged by their
// destination), once per item, before its source hears of it. Items a stage
// dropped, items given back and items a sink failed to write are not told:
// what fn counts is what the outputs hold. fn is called from the sinks'
// goroutines, possibly concurrently; it must not block.
func OnWritten(fn func(pos Position)) RunOption {
	return runOption(func(c *runConfig) { c.onWritten = fn })
}
