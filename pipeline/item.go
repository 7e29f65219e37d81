package pipeline

import (
	"time"

	"github.com/targetflow/targetflow/delivery"
)

// Item is the envelope of one visitor record as it flows through a pipeline.
// Stages fill it in; sinks write it out. An Item is owned by one component at
// a time, so a stage may change it without locking.
type Item struct {
	// Seq is the 1-based position of the record in its input. Sources that
	// skip records keep counting, so Seq always names the same input record.
	Seq int64
	// Line is the line of the input the record came from (JSONL, CSV), or 0.
	Line int
	// Raw is the input text of a record that could not be decoded, kept for
	// the dead-letter output; nil otherwise.
	Raw []byte
	// Visitor is the decoded record.
	Visitor *Visitor
	// Request is the Delivery API request built for the visitor.
	Request *delivery.DeliveryRequest
	// Response is the answer to Request.
	Response *delivery.DeliveryResponse
	// TargetCookie is the visitor's mbox cookie after the call, if any.
	TargetCookie *Cookie
	// Attempts counts the delivery attempts (1 when the first call succeeded).
	Attempts int
	// Notifications counts the notifications sent for this visitor.
	Notifications int
	// OwedNotifications are display notifications a decision left to the
	// pipeline to send (on-device decisions of a client that does not send
	// them itself); a Notify stage sends them and clears the list.
	OwedNotifications []delivery.Notification
	// Attributes holds the values of GetAttributes, keyed by mbox and
	// attribute name, when an Attributes stage ran.
	Attributes map[string]map[string]any
	// Timings records when the item entered the pipeline and how long the
	// delivery calls took.
	Timings Timings
	// Err is the item's failure. A failed item keeps flowing so that it is
	// written out; stages pass it on without processing it.
	Err error
}

// Timings are the moments and durations of one item's trip.
type Timings struct {
	// Emitted is when the source handed the item to the pipeline.
	Emitted time.Time
	// Delivery is the time spent in delivery calls, retries and backoff
	// included.
	Delivery time.Duration
}

// OK reports whether the item has no error.
func (it *Item) OK() bool { return it.Err == nil }

// Cookie is a cookie Target asks the caller to keep for the visitor, such as
// the mbox cookie carrying the session and the visitor's tntId.
type Cookie struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	MaxAge int    `json:"maxAge"`
}

// Visitor is one input record: who the visitor is and what to ask Target for.
// Fields left empty are filled from the defaults of the BuildRequest stage.
// When Request is set it is used as is and the other fields are ignored.
//
// In JSON lines it reads:
//
//	{"id":{"tntId":"abc"},"context":{"channel":"web"},"parameters":{"a":"1"},
//	 "profileParameters":{"p":"2"},"execute":["m1"],"prefetch":["m2"],
//	 "views":["home"],"pageLoad":true,"notify":true}
type Visitor struct {
	ID                *delivery.VisitorID       `json:"id,omitempty"`
	Context           *delivery.Context         `json:"context,omitempty"`
	Parameters        delivery.Parameters       `json:"parameters,omitempty"`
	ProfileParameters delivery.Parameters       `json:"profileParameters,omitempty"`
	Execute           []string                  `json:"execute,omitempty"`
	Prefetch          []string                  `json:"prefetch,omitempty"`
	Views             []string                  `json:"views,omitempty"`
	PageLoad          *bool                     `json:"pageLoad,omitempty"`
	Notify            *bool                     `json:"notify,omitempty"`
	Request           *delivery.DeliveryRequest `json:"request,omitempty"`
}

// VisitorID returns the visitor's id: the record's id, or the id of its
// complete request. It is nil when the record has neither.
func (it *Item) VisitorID() *delivery.VisitorID {
	switch {
	case it.Request != nil && it.Request.ID != nil:
		return it.Request.ID
	case it.Visitor == nil:
		return nil
	case it.Visitor.ID != nil:
		return it.Visitor.ID
	case it.Visitor.Request != nil:
		return it.Visitor.Request.ID
	}
	return nil
}
