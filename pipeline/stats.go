package pipeline

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// ComponentKind says what a component of a pipeline is.
type ComponentKind string

// Component kinds.
const (
	KindSource ComponentKind = "source"
	KindStage  ComponentKind = "stage"
	KindSink   ComponentKind = "sink"
	// KindForeign is a go-streams operator that is not a targetflow
	// component; Run only forwards items through it and counts nothing.
	KindForeign ComponentKind = "flow"
)

// counters are the live figures of one component. All fields are atomic
// so that Stats can be read while the pipeline runs.
type counters struct {
	in, ok, failed, skipped, retried, deadLettered, dropped atomic.Int64
	latency                                                 histogram
}

// ComponentStats are the figures of one component of a run.
type ComponentStats struct {
	Name string        `json:"name"`
	Kind ComponentKind `json:"kind"`
	// In counts the items that entered the component (for a source: that it
	// emitted).
	In int64 `json:"in"`
	// OK counts the items the component processed successfully.
	OK int64 `json:"ok"`
	// Failed counts the items the component failed (or, for a sink, wrote
	// with an error).
	Failed int64 `json:"failed"`
	// Skipped counts failed items that a stage passed on without processing.
	Skipped int64 `json:"skipped"`
	// Retried counts the retries the component made.
	Retried int64 `json:"retried"`
	// DeadLettered counts the items a sink wrote to its dead-letter output.
	DeadLettered int64 `json:"deadLettered"`
	// Dropped counts the items a stage removed from the stream (ErrDrop).
	Dropped int64 `json:"dropped"`
	// Latency is the time the component spent on each item it processed.
	Latency Percentiles `json:"latency"`
}

// Stats are the figures of a run, or of a run in progress.
type Stats struct {
	Started time.Time     `json:"started"`
	Elapsed time.Duration `json:"elapsed"`
	// Emitted counts the items the source emitted.
	Emitted int64 `json:"emitted"`
	// Written counts the items the sink received; OK and Failed split them.
	Written int64 `json:"written"`
	OK      int64 `json:"ok"`
	Failed  int64 `json:"failed"`
	// DeadLettered counts the items written to a dead-letter output.
	DeadLettered int64 `json:"deadLettered"`
	// Dropped counts the items stages removed from the stream.
	Dropped int64 `json:"dropped"`
	// Retried counts the retries of all stages.
	Retried int64 `json:"retried"`
	// Throughput is Written per second of Elapsed.
	Throughput float64 `json:"throughput"`
	// Latency is the time from emission to the sink, per item.
	Latency Percentiles `json:"latency"`
	// Completed is the resume point: every record with a sequence number up
	// to Completed was written (or dropped) with an outcome other than
	// canceled. A run resumed after Completed records neither loses nor
	// repeats any.
	Completed int64 `json:"completed"`
	// Components are the figures of each component, source first.
	Components []ComponentStats `json:"components"`
}

func (c *counters) snapshot(name string, kind ComponentKind) ComponentStats {
	return ComponentStats{
		Name: name, Kind: kind,
		In: c.in.Load(), OK: c.ok.Load(), Failed: c.failed.Load(), Skipped: c.skipped.Load(),
		Retried: c.retried.Load(), DeadLettered: c.deadLettered.Load(), Dropped: c.dropped.Load(),
		Latency: c.latency.snapshot(),
	}
}

// completion tracks which sequence numbers have been finished, to compute
// the resume point of a run. Items finish out of order when a stage is
// concurrent and unordered; the set of finished numbers above the resume
// point is as large as that disorder (bounded by concurrency and buffers).
type completion struct {
	mu       sync.Mutex
	next     int64 // the lowest sequence number not yet finished
	started  bool
	finished map[int64]struct{}
}

// begin sets the first sequence number the source will emit.
func (c *completion) begin(first int64) {
	c.mu.Lock()
	if !c.started {
		c.started, c.next = true, first
	}
	c.mu.Unlock()
}

func (c *completion) finish(seq int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.started {
		c.started, c.next = true, 1
	}
	switch {
	case seq < c.next:
		return
	case seq > c.next:
		if c.finished == nil {
			c.finished = make(map[int64]struct{})
		}
		c.finished[seq] = struct{}{}
		return
	}
	c.next++
	for {
		if _, ok := c.finished[c.next]; !ok {
			return
		}
		delete(c.finished, c.next)
		c.next++
	}
}

func (c *completion) completed() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.started {
		return 0
	}
	return c.next - 1
}

// stageKey carries a component's counters in the context given to its
// functions, for NoteRetry and NoteDeadLetter.
type stageKey struct{}

// NoteRetry records one retry in the statistics of the stage whose function
// received ctx. Stages that retry calls (Deliver, Notify) report each retry
// with it. Outside a stage function it does nothing.
func NoteRetry(ctx context.Context) {
	if c, ok := ctx.Value(stageKey{}).(*counters); ok {
		c.retried.Add(1)
	}
}

// NoteDeadLetter records one item written to a dead-letter output in the
// statistics of the sink whose function received ctx.
func NoteDeadLetter(ctx context.Context) {
	if c, ok := ctx.Value(stageKey{}).(*counters); ok {
		c.deadLettered.Add(1)
	}
}
