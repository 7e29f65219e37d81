package edge

import (
	"sync"
	"time"

	"github.com/targetflow/targetflow/delivery"
)

// NotificationRecord is one notification the edge received, as GET
// /notifications lists it.
type NotificationRecord struct {
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

// notificationLog keeps the most recent notifications, up to a limit, and
// counts those it had to forget.
type notificationLog struct {
	mu        sync.Mutex
	limit     int
	records   []NotificationRecord // ring buffer once full
	next      int                  // where the next record goes when full
	forgotten int64
}

func newNotificationLog(limit int) *notificationLog {
	return &notificationLog{limit: limit}
}

func (l *notificationLog) add(records []NotificationRecord) {
	if l.limit <= 0 || len(records) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range records {
		if len(l.records) < l.limit {
			l.records = append(l.records, r)
			continue
		}
		l.records[l.next] = r
		l.next = (l.next + 1) % l.limit
		l.forgotten++
	}
}

// snapshot returns the kept records, oldest first, and how many were forgotten.
func (l *notificationLog) snapshot() ([]NotificationRecord, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]NotificationRecord, 0, len(l.records))
	out = append(out, l.records[l.next:]...)
	out = append(out, l.records[:l.next]...)
	return out, l.forgotten
}

func (l *notificationLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records, l.next, l.forgotten = nil, 0, 0
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
