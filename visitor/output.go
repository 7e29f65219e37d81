package visitor

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/targetflow/targetflow/delivery"
)

// Result is the JSON line written for one item by the result sinks.
type Result struct {
	Seq  int64               `json:"seq"`
	Line int                 `json:"line,omitempty"`
	ID   *delivery.VisitorID `json:"id,omitempty"`
	OK   bool                `json:"ok"`
	// Error is set when OK is false.
	Error         *ErrorRecord               `json:"error,omitempty"`
	Response      *delivery.DeliveryResponse `json:"response,omitempty"`
	TargetCookie  *Cookie                    `json:"targetCookie,omitempty"`
	Attributes    map[string]map[string]any  `json:"attributes,omitempty"`
	Attempts      int                        `json:"attempts"`
	LatencyMs     float64                    `json:"latencyMs,omitempty"`
	Notifications int                        `json:"notifications,omitempty"`
	// Kafka names the Kafka record the item came from, when it did.
	Kafka *Origin `json:"kafka,omitempty"`

	// body is the JSON of Response as Target sent it, when NewResult found
	// it (Envelope.ResponseBody); it stands for bodyOf.
	body   []byte
	bodyOf *delivery.DeliveryResponse
}

// Origin names the Kafka record an item came from (its Pos: Stream,
// Partition, Offset), in results and dead letters: with many workers
// sharing a topic, seq numbers only one worker's records.
type Origin struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// origin returns the Kafka origin of it, nil when it came from elsewhere.
func origin(it *Item) *Origin {
	if it.Pos.Stream == "" {
		return nil
	}
	return &Origin{Topic: it.Pos.Stream, Partition: it.Pos.Partition, Offset: it.Pos.Offset}
}

// ErrorRecord describes an item's failure in a Result.
type ErrorRecord struct {
	Kind    Kind   `json:"kind"`
	Status  int    `json:"status,omitempty"`
	Stage   string `json:"stage,omitempty"`
	Message string `json:"message"`
}

// NewResult returns the output record of an item. The visitor id is the one
// Target answered with (it carries a minted tntId), else the one sent.
func NewResult(it *Item) Result {
	e := &it.Value
	r := Result{
		Seq:           it.Pos.Seq,
		ID:            e.VisitorID(),
		OK:            it.Err == nil,
		Response:      e.Response,
		TargetCookie:  e.TargetCookie,
		Attributes:    e.Attributes,
		Attempts:      e.Attempts,
		Notifications: e.Notifications,
		Kafka:         origin(it),
	}
	if e.Response != nil && e.Response.ID != nil {
		r.ID = e.Response.ID
	}
	if body := e.ResponseBody(); body != nil {
		r.body, r.bodyOf = body, e.Response
	}
	if e.Delivery > 0 {
		r.LatencyMs = math.Round(float64(e.Delivery.Microseconds())/10) / 100
	}
	if it.Err != nil {
		r.Error = NewErrorRecord(it.Err)
		if e.Record == nil {
			r.Line = it.Pos.Line
		}
	}
	return r
}

// NewErrorRecord describes err.
func NewErrorRecord(err error) *ErrorRecord {
	kind, status := Classify(err)
	return &ErrorRecord{Kind: kind, Status: status, Stage: StageOf(err), Message: Message(err)}
}

// DeadLetterRecord is the JSON line written for one item by a dead-letter
// sink: what is needed to fix and replay the record.
type DeadLetterRecord struct {
	Seq  int64 `json:"seq"`
	Line int   `json:"line,omitempty"`
	// Error is the item's error message.
	Error string `json:"error"`
	Kind  Kind   `json:"kind"`
	// Raw is the input text of a record that could not be decoded, when it
	// is UTF-8 text; RawBase64 holds it, in base64, when it is not. Either
	// is exactly the input's bytes, or their first MaxRawBytes when
	// RawLength is set.
	Raw       string `json:"raw,omitempty"`
	RawBase64 string `json:"rawBase64,omitempty"`
	// RawLength is the length of the input record when Raw or RawBase64
	// holds only its start.
	RawLength int `json:"rawLength,omitempty"`
	// Visitor is the decoded record, when it could be decoded.
	Visitor *Record `json:"visitor,omitempty"`
	// Kafka names the Kafka record the item came from, when it did.
	Kafka *Origin `json:"kafka,omitempty"`
}

// NewDeadLetterRecord returns the dead-letter record of a failed item.
func NewDeadLetterRecord(it *Item) DeadLetterRecord {
	e := &it.Value
	r := DeadLetterRecord{Seq: it.Pos.Seq, Line: it.Pos.Line, RawLength: e.RawLength, Visitor: e.Record, Kafka: origin(it)}
	if utf8.Valid(e.Raw) {
		r.Raw = string(e.Raw)
	} else {
		r.RawBase64 = base64.StdEncoding.EncodeToString(e.Raw)
	}
	if it.Err != nil {
		r.Error = it.Err.Error()
		r.Kind, _ = Classify(it.Err)
	}
	return r
}

// AppendJSON appends r as a JSON line's object to dst.
func (r *DeadLetterRecord) AppendJSON(dst []byte) ([]byte, error) { return appendJSON(dst, r) }

// AppendJSON appends r as a JSON object to dst: what encoding/json writes
// with HTML escaping off, with the response written by the wire model's
// reflection-free encoder (delivery.AppendResponseJSON), which is most of a
// record's bytes. A response that came with its bytes as Target sent them
// (Envelope.SetResponse, from target.Response.Body) is written as those
// bytes instead, when they hold no line break: the same members and
// values, in Target's member order and number spelling.
func (r *Result) AppendJSON(dst []byte) ([]byte, error) {
	var err error
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendInt(dst, r.Seq, 10)
	if r.Line != 0 {
		dst = append(dst, `,"line":`...)
		dst = strconv.AppendInt(dst, int64(r.Line), 10)
	}
	if r.ID != nil {
		dst = append(dst, `,"id":`...)
		dst = delivery.AppendVisitorIDJSON(dst, r.ID)
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
		if r.Response == r.bodyOf && oneLine(r.body) {
			dst = append(dst, r.body...)
		} else {
			dst = delivery.AppendResponseJSON(dst, r.Response)
		}
	}
	if c := r.TargetCookie; c != nil {
		dst = append(dst, `,"targetCookie":{"name":`...)
		dst = delivery.AppendJSONString(dst, c.Name)
		dst = append(dst, `,"value":`...)
		dst = delivery.AppendJSONString(dst, c.Value)
		dst = append(dst, `,"maxAge":`...)
		dst = strconv.AppendInt(dst, int64(c.MaxAge), 10)
		dst = append(dst, '}')
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
	if r.Kafka != nil {
		if dst, err = appendField(dst, "kafka", r.Kafka); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// oneLine reports whether body can stand in a JSON line as it is: it holds
// no line break, nor U+2028 or U+2029, which the encoders escape (and some
// readers take for line breaks).
func oneLine(body []byte) bool {
	if bytes.IndexByte(body, '\n') >= 0 || bytes.IndexByte(body, '\r') >= 0 {
		return false
	}
	return bytes.IndexByte(body, 0xe2) < 0 || !bytes.Contains(body, []byte("\u2028")) && !bytes.Contains(body, []byte("\u2029"))
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
