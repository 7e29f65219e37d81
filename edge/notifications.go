package edge

import (
	"sort"
	"sync"
	"time"
	"unsafe"

	"github.com/targetflow/targetflow/delivery"
)

// NotificationRecord is one notification the edge received, as GET
// /notifications lists it.
type NotificationRecord struct {
	// Seq numbers the records in the order the edge received them, from 1;
	// GET /notifications?after=Seq lists the records after this one.
	Seq uint64 `json:"seq"`
	// ID is the notification's id, echoed in the delivery response.
	ID           string              `json:"id"`
	Type         delivery.MetricType `json:"type"`
	Mbox         string              `json:"mbox,omitempty"`
	View         string              `json:"view,omitempty"`
	PageLoad     bool                `json:"pageLoad,omitempty"`
	Tokens       []string            `json:"tokens,omitempty"`
	ImpressionID string              `json:"impressionId,omitempty"`
	// Timestamp is the notification's own, in milliseconds since the epoch.
	Timestamp int64 `json:"timestamp"`
	// SessionID and TntID identify the request that carried it.
	SessionID string `json:"sessionId"`
	TntID     string `json:"tntId,omitempty"`
	// ReceivedAt is when the edge recorded it.
	ReceivedAt time.Time `json:"receivedAt"`
}

// recordOverhead is what a kept record costs beyond its strings: the
// record itself and, per token, a string header.
const (
	recordOverhead = int64(unsafe.Sizeof(NotificationRecord{}))
	tokenOverhead  = int64(unsafe.Sizeof(""))
)

// size is what the record counts against the byte budget.
func (r *NotificationRecord) size() int64 {
	n := recordOverhead + int64(len(r.ID)+len(r.Type)+len(r.Mbox)+len(r.View)+len(r.ImpressionID)+len(r.SessionID)+len(r.TntID))
	for _, t := range r.Tokens {
		n += tokenOverhead + int64(len(t))
	}
	return n
}

// Reasons a record is dropped, the label of the dropped counter.
const (
	dropCount = "count"
	dropBytes = "bytes"
)

// notificationLog keeps the most recent notifications within a count and a
// byte budget, forgetting the oldest first, and counts what it forgot.
type notificationLog struct {
	limit   int
	budget  int64
	metrics *metrics

	mu        sync.Mutex
	ring      []keptRecord // a circular buffer: n records from head
	head, n   int
	bytes     int64
	nextSeq   uint64
	forgotten int64
}

type keptRecord struct {
	rec  NotificationRecord
	size int64
}

func newNotificationLog(limit int, budget int64, m *metrics) *notificationLog {
	return &notificationLog{limit: limit, budget: budget, metrics: m, nextSeq: 1}
}

// at is the i-th kept record, oldest first.
func (l *notificationLog) at(i int) *keptRecord { return &l.ring[(l.head+i)%len(l.ring)] }

func (l *notificationLog) add(records []NotificationRecord) {
	if l.limit <= 0 || len(records) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var byCount, byBytes int
	for _, r := range records {
		r.Seq = l.nextSeq
		l.nextSeq++
		size := r.size()
		if size > l.budget {
			byBytes++ // would push out everything and still not fit
			continue
		}
		for l.n > 0 && (l.n >= l.limit || l.bytes+size > l.budget) {
			if l.n >= l.limit {
				byCount++
			} else {
				byBytes++
			}
			l.dropOldest()
		}
		l.push(keptRecord{rec: r, size: size})
	}
	l.forgotten += int64(byCount + byBytes)
	if byCount > 0 {
		l.metrics.dropped.WithLabelValues(dropCount).Add(float64(byCount))
	}
	if byBytes > 0 {
		l.metrics.dropped.WithLabelValues(dropBytes).Add(float64(byBytes))
	}
	l.metrics.keptBytes.Set(float64(l.bytes))
}

func (l *notificationLog) push(k keptRecord) {
	if l.n == len(l.ring) {
		l.grow()
	}
	l.ring[(l.head+l.n)%len(l.ring)] = k
	l.n++
	l.bytes += k.size
}

// grow doubles the ring, up to the count limit.
func (l *notificationLog) grow() {
	size := min(max(2*len(l.ring), 64), l.limit)
	ring := make([]keptRecord, size)
	for i := range l.n {
		ring[i] = *l.at(i)
	}
	l.ring, l.head = ring, 0
}

func (l *notificationLog) dropOldest() {
	oldest := l.at(0)
	l.bytes -= oldest.size
	*oldest = keptRecord{} // let its strings go
	l.head = (l.head + 1) % len(l.ring)
	l.n--
}

// snapshot returns the kept records, oldest first, and how many were forgotten.
func (l *notificationLog) snapshot() ([]NotificationRecord, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]NotificationRecord, l.n)
	for i := range l.n {
		out[i] = l.at(i).rec
	}
	return out, l.forgotten
}

// page appends to dst up to max kept records numbered after after (and at
// most through until) that keep accepts, oldest first. It returns them, the
// number of the last record it looked at (after when none), and whether
// records it did not look at remain through until. The lock is held for one
// page only: a listing never copies the whole log.
func (l *notificationLog) page(dst []NotificationRecord, after, until uint64, max int, keep func(*NotificationRecord) bool) ([]NotificationRecord, uint64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := sort.Search(l.n, func(i int) bool { return l.at(i).rec.Seq > after })
	last := after
	for i := start; i < l.n; i++ {
		rec := &l.at(i).rec
		if rec.Seq > until {
			return dst, last, false
		}
		if len(dst) == max {
			return dst, last, true
		}
		last = rec.Seq
		if keep(rec) {
			dst = append(dst, *rec)
		}
	}
	return dst, last, false
}

// state returns the number of the newest record and how many were forgotten.
func (l *notificationLog) state() (newest uint64, forgotten int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nextSeq - 1, l.forgotten
}

func (l *notificationLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ring, l.head, l.n, l.bytes, l.forgotten = nil, 0, 0, 0, 0
	l.metrics.keptBytes.Set(0)
}

// recordsOf turns the notifications of one request into records.
func recordsOf(req *delivery.DeliveryRequest, sessionID, tntID string, now time.Time) []NotificationRecord {
	if len(req.Notifications) == 0 {
		return nil
	}
	out := make([]NotificationRecord, 0, len(req.Notifications))
	for _, n := range req.Notifications {
		r := NotificationRecord{
			ID:           n.ID,
			Type:         n.Type,
			PageLoad:     n.PageLoad != nil,
			Tokens:       append([]string(nil), n.Tokens...),
			ImpressionID: n.ImpressionID,
			Timestamp:    n.Timestamp,
			SessionID:    sessionID,
			TntID:        tntID,
			ReceivedAt:   now,
		}
		if n.Mbox != nil {
			r.Mbox = n.Mbox.Name
		}
		if n.View != nil {
			r.View = n.View.Name
		}
		out = append(out, r)
	}
	return out
}
