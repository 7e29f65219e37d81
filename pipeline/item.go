package pipeline

import "time"

// Item is the envelope of one record as it flows through a pipeline: where
// it came from, its payload, its failure and its timings. Stages change it
// in place; sinks write it out. An item is owned by one component at a time,
// so a stage may change it without locking.
//
// T is the payload: what the pipeline is about (targetflow's Target stages
// carry a visitor.Envelope). The runtime never looks inside it.
type Item[T any] struct {
	// Pos says where the record is in its source.
	Pos Position
	// Value is the payload.
	Value T
	// Err is the item's failure. A failed item keeps flowing so that it is
	// written out; stages pass it on without processing it (unless they ask
	// for failed items, see ProcessFailed).
	Err error
	// Timings are the moments and durations of the item's trip.
	Timings Timings

	// refs counts the sinks that still have to confirm the item, plus one
	// while the item is on its way to them.
	refs refCount
}

// Position is where a record is in its source, in the source's own terms.
// Every source numbers its records (Seq); a file source adds the line and
// the byte offset of the record; a partitioned log (a Kafka topic) names the
// stream, partition, offset and key of the message.
type Position struct {
	// Seq is the 1-based number of the record in its source, in input
	// order. A source that skips records (a resumed run) keeps counting, so
	// Seq always names the same input record. Left 0 by a source, it is set
	// by the runtime to one more than the previous item's.
	Seq int64 `json:"seq"`
	// Line is the input line where the record starts (text inputs), else 0.
	Line int `json:"line,omitempty"`
	// Offset is the record's offset in its stream: the byte offset of its
	// start in a file, the message offset in a Kafka partition.
	Offset int64 `json:"offset,omitempty"`
	// Stream and Partition name the partitioned log the record came from
	// (a Kafka topic and partition); empty for a single input such as a file.
	Stream    string `json:"stream,omitempty"`
	Partition int32  `json:"partition,omitempty"`
	// Key is the record's key in a keyed log (a Kafka message key), nil
	// otherwise. Sinks that produce to a keyed log may reuse it.
	Key []byte `json:"key,omitempty"`
}

// Timings are the moments and durations of one item's trip.
type Timings struct {
	// Emitted is when the source handed the item to the pipeline.
	Emitted time.Time
	// Processing is the time the item spent in stage functions.
	Processing time.Duration
}

// OK reports whether the item has no error.
func (it *Item[T]) OK() bool { return it.Err == nil }
