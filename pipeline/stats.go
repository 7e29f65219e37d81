package pipeline

import (
	"context"
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
	in, ok, failed, skipped, retried, deadLettered, dropped, stopped, nacked atomic.Int64
	latency                                                                  lazyHistogram
}

// passed counts an item that went through a component without being
// processed there (a source emitting it, a stage bypassing it): in, and ok
// or else under otherwise.
func (c *counters) passed(ok bool, otherwise *atomic.Int64) {
	c.in.Add(1)
	if ok {
		c.ok.Add(1)
	} else {
		otherwise.Add(1)
	}
}

// lazyHistogram allocates its sketch on first use.
type lazyHistogram struct{ h atomic.Pointer[histogram] }

func (l *lazyHistogram) get() *histogram {
	if h := l.h.Load(); h != nil {
		return h
	}
	l.h.CompareAndSwap(nil, newHistogram())
	return l.h.Load()
}

func (l *lazyHistogram) record(d time.Duration) { l.get().record(d) }

func (l *lazyHistogram) snapshot() Percentiles {
	if h := l.h.Load(); h != nil {
		return h.snapshot()
	}
	return Percentiles{}
}

// ComponentStats are the figures of one component of a run.
type ComponentStats struct {
	Name string        `json:"name"`
	Kind ComponentKind `json:"kind"`
	// In counts the items that entered the component (for a source: that it
	// emitted).
	In int64 `json:"in"`
	// OK counts the items the component processed successfully (for a
	// sink: wrote and confirmed, without error).
	OK int64 `json:"ok"`
	// Failed counts the items the component failed (for a sink: wrote and
	// confirmed with their error).
	Failed int64 `json:"failed"`
	// Skipped counts failed items that a stage passed on without processing.
	Skipped int64 `json:"skipped"`
	// Retried counts the retries the component made.
	Retried int64 `json:"retried"`
	// DeadLettered counts the items a dead-letter sink wrote and confirmed.
	DeadLettered int64 `json:"deadLettered"`
	// Dropped counts the items a stage removed from the stream (ErrDrop).
	Dropped int64 `json:"dropped"`
	// Stopped counts the items the stopping run kept the component from
	// finishing (a stage) or that it did not write for that reason (a sink).
	Stopped int64 `json:"stopped"`
	// Unconfirmed counts the items a sink could not write.
	Unconfirmed int64 `json:"unconfirmed"`
	// Latency is the time the component spent on each item it processed.
	Latency Percentiles `json:"latency"`
}

// Stats are the figures of a run, or of a run in progress.
type Stats struct {
	Started time.Time     `json:"started"`
	Elapsed time.Duration `json:"elapsed"`
	// Emitted counts the items the source emitted.
	Emitted int64 `json:"emitted"`
	// Written counts the items every sink they went to has confirmed; OK
	// and Failed split them. Nothing a sink did not write is counted.
	Written int64 `json:"written"`
	OK      int64 `json:"ok"`
	Failed  int64 `json:"failed"`
	// DeadLettered counts the items written to a dead-letter output.
	DeadLettered int64 `json:"deadLettered"`
	// Dropped counts the items stages removed from the stream.
	Dropped int64 `json:"dropped"`
	// Retried counts the retries of all stages.
	Retried int64 `json:"retried"`
	// Stopped counts the items the stopping run did not finish (counted by
	// the stage that stopped them and by the sink that did not write them).
	Stopped int64 `json:"stopped"`
	// Given counts the items given back to their source, not done: stopped
	// before they were done, or not written by a failed sink.
	Given int64 `json:"given"`
	// Throughput is Written per second of Elapsed.
	Throughput float64 `json:"throughput"`
	// Latency is the time from emission to the sink, per item.
	Latency Percentiles `json:"latency"`
	// Completed is the resume point: every record with a sequence number up
	// to Completed is done (written and confirmed, or dropped). DoneAbove
	// counts the records done above it (see Pipeline.Commit for which).
	Completed int64 `json:"completed"`
	DoneAbove int64 `json:"doneAbove"`
	// Components are the figures of each component, source first, sinks
	// (and the sinks under them) last.
	Components []ComponentStats `json:"components"`
}

func (c *counters) snapshot(name string, kind ComponentKind) ComponentStats {
	return ComponentStats{
		Name: name, Kind: kind,
		In: c.in.Load(), OK: c.ok.Load(), Failed: c.failed.Load(), Skipped: c.skipped.Load(),
		Retried: c.retried.Load(), DeadLettered: c.deadLettered.Load(), Dropped: c.dropped.Load(),
		Stopped: c.stopped.Load(), Unconfirmed: c.nacked.Load(),
		Latency: c.latency.snapshot(),
	}
}

// stageKey carries a component's counters in the context given to its
// functions, for NoteRetry.
type stageKey struct{}

// NoteRetry records one retry in the statistics of the stage whose function
// received ctx. Stages that retry calls report each retry with it. Outside a
// stage function it does nothing.
func NoteRetry(ctx context.Context) {
	if c, ok := ctx.Value(stageKey{}).(*counters); ok {
		c.retried.Add(1)
	}
}
