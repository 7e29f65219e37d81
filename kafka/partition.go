package kafka

import (
	"sync"
	"sync/atomic"

	"github.com/targetflow/targetflow/pipeline"
)

// partition is one assigned partition of the consumed topic, from its
// assignment to its revocation (a partition assigned again is a new one).
type partition struct {
	id int32
	// firstSeq is the Seq counter when the partition was assigned: every
	// record of this assignment has a higher Seq, every record of an
	// earlier one a lower or equal one.
	firstSeq int64
	// tracker says what is done (at-least-once; nil exactly-once, where a
	// transaction commits everything polled).
	tracker *pipeline.Tracker
	// outstanding counts the records emitted and neither acknowledged nor
	// given back.
	outstanding atomic.Int64
	// committed is the offset this worker last committed (the next to
	// read), -1 before the first commit.
	committed atomic.Int64
	// first is the offset of the first record polled, -1 before it.
	first atomic.Int64
	// hwm is the high watermark of the last fetch, -1 before one.
	hwm atomic.Int64
	// next is the offset after the last record polled, 0 before one.
	next atomic.Int64

	mu      sync.Mutex
	revoked bool
}

func newPartition(id int32, firstSeq int64, track bool) *partition {
	p := &partition{id: id, firstSeq: firstSeq}
	if track {
		p.tracker = pipeline.NewTracker(pipeline.Position{}, nil)
	}
	p.committed.Store(-1)
	p.first.Store(-1)
	p.hwm.Store(-1)
	return p
}

// add records an emitted record.
func (p *partition) add(pos pipeline.Position) {
	if p.tracker != nil {
		p.tracker.Add(pos)
	}
	p.first.CompareAndSwap(-1, pos.Offset)
	p.outstanding.Add(1)
}

// skip records a control record (a transaction marker): never emitted,
// done at once, so that commits move past it.
func (p *partition) skip(pos pipeline.Position) {
	if p.tracker != nil {
		p.tracker.Add(pos)
		p.tracker.Done(pos.Seq)
	}
}

// commitPoint returns the offset safe to commit (the next record not
// done), -1 when nothing is.
func (p *partition) commitPoint() int64 {
	if through := p.tracker.Through(); through.Seq > 0 {
		return through.Offset + 1
	}
	return -1
}

// lag returns the records of the partition not yet done by this worker,
// as far as the last fetch knows (0 before one).
func (p *partition) lag() int64 {
	hwm := p.hwm.Load()
	if hwm < 0 {
		return 0
	}
	done := p.committed.Load()
	if p.tracker != nil {
		done = max(done, p.commitPoint())
	}
	if done < 0 {
		done = p.first.Load()
	}
	if done < 0 {
		return 0
	}
	return max(hwm-done, 0)
}
