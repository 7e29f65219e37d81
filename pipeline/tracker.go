package pipeline

import (
	"slices"
	"sort"
	"sync"
)

// Tracker follows the items of one ordered input (a file, a Kafka
// partition) from emission to acknowledgment, and says what is safe to
// commit: the contiguous prefix of the input that is done, and the records
// done above it. Items are added in input order (increasing Seq) and
// acknowledged in any order, from any goroutine. Its memory is proportional
// to the items between the prefix and the newest added, never to the input.
//
// The runtime keeps one for every source (Stats.Completed, checkpoints); a
// source with several ordered inputs (a Kafka source, one per partition)
// keeps its own, fed by OnAck.
type Tracker struct {
	mu      sync.Mutex
	through Position  // the last record of the done prefix
	pending []tracked // added, not in the prefix, by increasing Seq
	head    int       // pending[:head] are popped
	added   int64     // the highest Seq added
}

type tracked struct {
	pos  Position
	done bool
	// seeded marks a record done in an earlier run: it joins the prefix
	// only once the records before it have been added (or it follows the
	// prefix directly).
	seeded bool
}

// NewTracker returns a tracker whose done prefix ends at through (Seq 0:
// nothing done yet) with the records of done (Seqs above through, from an
// earlier run) already done.
func NewTracker(through Position, done []int64) *Tracker {
	t := &Tracker{through: through}
	done = slices.Clone(done)
	slices.Sort(done)
	for _, seq := range done {
		if seq > through.Seq && (len(t.pending) == 0 || seq > t.pending[len(t.pending)-1].pos.Seq) {
			t.pending = append(t.pending, tracked{pos: Position{Seq: seq}, done: true, seeded: true})
		}
	}
	return t
}

// Add records that the item at pos was emitted. Items must be added in
// increasing Seq; an item at or below the done prefix, or already added, is
// ignored.
func (t *Tracker) Add(pos Position) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if pos.Seq <= t.through.Seq {
		return
	}
	if pos.Seq > t.added {
		t.added = pos.Seq
		defer t.advance() // seeded records below it may join the prefix
	}
	if n := len(t.pending); n > t.head {
		last := t.pending[n-1].pos.Seq
		switch {
		case pos.Seq == last:
			return
		case pos.Seq < last:
			// A record done in an earlier run is re-added only if it sits
			// between recorded ones: insert it in order.
			i := t.find(pos.Seq)
			if i < len(t.pending) && t.pending[i].pos.Seq == pos.Seq {
				return
			}
			t.pending = slices.Insert(t.pending, i, tracked{pos: pos})
			return
		}
	}
	if t.head > 0 && t.head == len(t.pending) {
		t.pending, t.head = t.pending[:0], 0
	}
	t.pending = append(t.pending, tracked{pos: pos})
}

// find returns the index in pending of the first entry with Seq >= seq.
func (t *Tracker) find(seq int64) int {
	live := t.pending[t.head:]
	return t.head + sort.Search(len(live), func(i int) bool { return live[i].pos.Seq >= seq })
}

// Done marks the item with the given Seq done and reports whether it was
// tracked and not done before.
func (t *Tracker) Done(seq int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := t.find(seq)
	if i >= len(t.pending) || t.pending[i].pos.Seq != seq || t.pending[i].done {
		return false
	}
	t.pending[i].done = true
	if i == t.head {
		t.advance()
	}
	return true
}

// advance moves the done prefix over the done entries at the head.
func (t *Tracker) advance() {
	for t.head < len(t.pending) && t.pending[t.head].done {
		e := t.pending[t.head]
		if e.seeded && e.pos.Seq > t.added && e.pos.Seq != t.through.Seq+1 {
			break // records before it may not have been added yet
		}
		p := e.pos
		if p.Seq > t.through.Seq {
			t.through = p
		}
		t.pending[t.head] = tracked{}
		t.head++
	}
	// Compact when the popped head is the larger part of the slice.
	if t.head > 1024 && t.head*2 > len(t.pending) {
		n := copy(t.pending, t.pending[t.head:])
		clear(t.pending[n:])
		t.pending, t.head = t.pending[:n], 0
	}
}

// Commit is what a Tracker says is safe to commit.
type Commit struct {
	// Through is the last record of the done prefix: every record up to
	// and including it is done (Seq 0: none).
	Through Position
	// Done are the Seqs of the records done above Through, in increasing
	// order.
	Done []int64
	// Pending counts the records added and not done.
	Pending int
}

// Commit returns the done prefix and what is done above it.
func (t *Tracker) Commit() Commit {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := Commit{Through: t.through}
	for _, e := range t.pending[t.head:] {
		if e.done {
			c.Done = append(c.Done, e.pos.Seq)
		} else {
			c.Pending++
		}
	}
	return c
}

// Through returns the last record of the done prefix.
func (t *Tracker) Through() Position {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.through
}
