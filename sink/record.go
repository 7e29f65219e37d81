package sink

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/pipeline"
)

// Record is the JSON line written for one item by JSONL.
type Record struct {
	Seq  int64               `json:"seq"`
	Line int                 `json:"line,omitempty"`
	ID   *delivery.VisitorID `json:"id,omitempty"`
	OK   bool                `json:"ok"`
	// Error is set when OK is false.
	Error         *ErrorRecord               `json:"error,omitempty"`
	Response      *delivery.DeliveryResponse `json:"response,omitempty"`
	TargetCookie  *pipeline.Cookie           `json:"targetCookie,omitempty"`
	Attributes    map[string]map[string]any  `json:"attributes,omitempty"`
	Attempts      int                        `json:"attempts"`
	LatencyMs     float64                    `json:"latencyMs,omitempty"`
	Notifications int                        `json:"notifications,omitempty"`
}

// ErrorRecord describes an item's failure in a Record.
type ErrorRecord struct {
	Kind    pipeline.ErrorKind `json:"kind"`
	Status  int                `json:"status,omitempty"`
	Stage   string             `json:"stage,omitempty"`
	Message string             `json:"message"`
}

// NewRecord returns the output record of an item. The visitor id is the one
// Target answered with (it carries a minted tntId), else the one sent.
func NewRecord(it *pipeline.Item) Record {
	r := Record{
		Seq:           it.Seq,
		ID:            it.VisitorID(),
		OK:            it.Err == nil,
		Response:      it.Response,
		TargetCookie:  it.TargetCookie,
		Attributes:    it.Attributes,
		Attempts:      it.Attempts,
		Notifications: it.Notifications,
	}
	if it.Response != nil && it.Response.ID != nil {
		r.ID = it.Response.ID
	}
	if it.Timings.Delivery > 0 {
		r.LatencyMs = math.Round(float64(it.Timings.Delivery.Microseconds())/10) / 100
	}
	if it.Err != nil {
		r.Error = NewErrorRecord(it.Err)
		if it.Visitor == nil {
			r.Line = it.Line
		}
	}
	return r
}

// NewErrorRecord describes err.
func NewErrorRecord(err error) *ErrorRecord {
	kind, status := pipeline.Classify(err)
	e := &ErrorRecord{Kind: kind, Status: status, Message: err.Error()}
	if ie, ok := err.(*pipeline.ItemError); ok {
		e.Stage = ie.Stage
		if ie.Err != nil {
			e.Message = ie.Err.Error()
		}
	}
	return e
}

// DeadLetterRecord is the JSON line written for one item by DeadLetter.
type DeadLetterRecord struct {
	Seq  int64 `json:"seq"`
	Line int   `json:"line,omitempty"`
	// Error is the item's error message.
	Error string             `json:"error"`
	Kind  pipeline.ErrorKind `json:"kind"`
	// Raw is the input text of a record that could not be decoded.
	Raw string `json:"raw,omitempty"`
	// Visitor is the decoded record, when it could be decoded.
	Visitor *pipeline.Visitor `json:"visitor,omitempty"`
}

// NewDeadLetterRecord returns the dead-letter record of a failed item.
func NewDeadLetterRecord(it *pipeline.Item) DeadLetterRecord {
	r := DeadLetterRecord{Seq: it.Seq, Line: it.Line, Raw: string(it.Raw), Visitor: it.Visitor}
	if it.Err != nil {
		r.Error = it.Err.Error()
		r.Kind, _ = pipeline.Classify(it.Err)
	}
	return r
}

// AppendJSON appends r as a JSON object to dst: what encoding/json writes
// with HTML escaping off, with the response written by the wire model's
// reflection-free encoder (delivery.AppendResponseJSON), which is most of a
// record's bytes.
func (r *Record) AppendJSON(dst []byte) ([]byte, error) {
	var err error
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendInt(dst, r.Seq, 10)
	if r.Line != 0 {
		dst = append(dst, `,"line":`...)
		dst = strconv.AppendInt(dst, int64(r.Line), 10)
	}
	if r.ID != nil {
		if dst, err = appendField(dst, "id", r.ID); err != nil {
			return dst, err
		}
	}
	dst = append(dst, `,"ok":`...)
	dst = strconv.AppendBool(dst, r.OK)
	if r.Error != nil {
		if dst, err = appendField(dst, "error", r.Error); err != nil {
			return dst, err
		}
	}
	if r.Response != nil {
		dst = append(dst, `,"response":`...)
		dst = delivery.AppendResponseJSON(dst, r.Response)
	}
	if r.TargetCookie != nil {
		if dst, err = appendField(dst, "targetCookie", r.TargetCookie); err != nil {
			return dst, err
		}
	}
	if len(r.Attributes) > 0 {
		if dst, err = appendField(dst, "attributes", r.Attributes); err != nil {
			return dst, err
		}
	}
	dst = append(dst, `,"attempts":`...)
	dst = strconv.AppendInt(dst, int64(r.Attempts), 10)
	if r.LatencyMs != 0 {
		dst = append(dst, `,"latencyMs":`...)
		if abs := math.Abs(r.LatencyMs); abs >= 1e-6 && abs < 1e21 {
			dst = strconv.AppendFloat(dst, r.LatencyMs, 'f', -1, 64)
		} else {
			if dst, err = appendJSON(dst, r.LatencyMs); err != nil {
				return dst, err
			}
		}
	}
	if r.Notifications != 0 {
		dst = append(dst, `,"notifications":`...)
		dst = strconv.AppendInt(dst, int64(r.Notifications), 10)
	}
	return append(dst, '}'), nil
}

func appendField(dst []byte, name string, v any) ([]byte, error) {
	dst = append(dst, ',', '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':')
	return appendJSON(dst, v)
}

// appendJSON appends v as encoding/json writes it with HTML escaping off.
func appendJSON(dst []byte, v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return dst, err
	}
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...), nil
}
