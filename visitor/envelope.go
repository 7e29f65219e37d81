package visitor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/pipeline"
)

// Item is a pipeline item carrying one visitor.
type Item = pipeline.Item[Envelope]

// Envelope is what one visitor carries through a pipeline. Stages fill it
// in; sinks write it out.
type Envelope struct {
	// Record is the decoded input record; nil when it could not be decoded.
	Record *Record
	// Raw is the input text of a record that could not be decoded, kept for
	// the dead-letter output (at most MaxRawBytes of it); nil otherwise.
	Raw []byte
	// RawLength is the length of the undecodable input when Raw holds only
	// its start; 0 when Raw is all of it.
	RawLength int
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
	// Delivery is the time spent in delivery calls, retries and backoff
	// included.
	Delivery time.Duration

	// body is the answer's JSON as Target sent it, standing for bodyOf
	// (SetResponse).
	body   []byte
	bodyOf *delivery.DeliveryResponse
}

// SetResponse sets Response to resp and remembers body, the answer's JSON
// as Target sent it (target.Response.Body: it holds exactly what resp
// holds), so that the result sinks write those bytes rather than encode
// resp again; body may be nil. The bytes stand for resp only while
// Response is resp: a stage that sets Response to another answer drops
// them. A stage that changes the answer in place instead must call
// SetResponse(e.Response, nil) (stages.Map does so for its function).
func (e *Envelope) SetResponse(resp *delivery.DeliveryResponse, body []byte) {
	e.Response = resp
	e.body, e.bodyOf = body, resp
	if body == nil || resp == nil {
		e.body, e.bodyOf = nil, nil
	}
}

// ResponseBody returns the JSON of Response as Target sent it, when
// SetResponse gave it and Response is still the answer it was given for;
// nil otherwise.
func (e *Envelope) ResponseBody() []byte {
	if e.Response == nil || e.Response != e.bodyOf {
		return nil
	}
	return e.body
}

// MaxRawBytes is how much of an undecodable record an envelope keeps.
const MaxRawBytes = 64 << 10

// KeepRaw keeps a copy of an undecodable record's bytes for its dead
// letter: at most MaxRawBytes of them, cut at a UTF-8 character boundary,
// with RawLength the record's length when they were cut.
func (e *Envelope) KeepRaw(record []byte) {
	n := min(len(record), MaxRawBytes)
	for back := 0; back < 3 && n < len(record) && n > 0 && record[n]&0xC0 == 0x80; back++ {
		n-- // inside a character (at most 3 bytes back): cut before it
	}
	e.Raw, e.RawLength = bytes.Clone(record[:n]), 0
	if n < len(record) {
		e.RawLength = len(record)
	}
}

// Cookie is a cookie Target asks the caller to keep for the visitor, such as
// the mbox cookie carrying the session and the visitor's tntId.
type Cookie struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	MaxAge int    `json:"maxAge"`
}

// Record is one input record: who the visitor is and what to ask Target for.
// Fields left empty are filled from the defaults of the BuildRequest stage.
// When Request is set it is used as is and the other fields are ignored.
//
// In JSON lines it reads:
//
//	{"id":{"tntId":"abc"},"context":{"channel":"web"},"parameters":{"a":"1"},
//	 "profileParameters":{"p":"2"},"execute":["m1"],"prefetch":["m2"],
//	 "views":["home"],"pageLoad":true,"notify":true}
type Record struct {
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

// VisitorID returns the visitor's id: the one of the request sent, else the
// record's, else the one of the record's complete request. It is nil when
// there is none.
func (e *Envelope) VisitorID() *delivery.VisitorID {
	switch {
	case e.Request != nil && e.Request.ID != nil:
		return e.Request.ID
	case e.Record == nil:
		return nil
	case e.Record.ID != nil:
		return e.Record.ID
	case e.Record.Request != nil:
		return e.Record.Request.ID
	}
	return nil
}

// DecodeRecord decodes one JSON visitor record (a JSON lines line, a Kafka
// message). Anything but a JSON object is rejected; an object with no id
// and nothing to ask for is valid (the defaults of the BuildRequest stage
// complete it).
func DecodeRecord(data []byte) (*Record, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, fmt.Errorf("record is not a JSON object: %q", abbreviate(data))
	}
	if r, ok := quickRecord(data); ok {
		return r, nil
	}
	r := new(Record)
	if err := json.Unmarshal(data, r); err != nil {
		return nil, fmt.Errorf("invalid visitor record: %w", err)
	}
	return r, nil
}

func abbreviate(b []byte) string {
	const n = 40
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}
