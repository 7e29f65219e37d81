package delivery

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// responseOptions are the syntax rules of an answer. A name repeated in an
// object is accepted and the last one wins, as encoding/json and the SDKs'
// JSON.parse and json.loads do (not tracking names is also faster); invalid
// UTF-8 is accepted and replaced, as encoding/json does. Names match
// exactly: the edge writes the specification's camelCase.
var responseOptions = jsonv2.JoinOptions(jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))

// ReadResponse decodes one Delivery API answer from r as it is read: the
// answer's sections go through their UnmarshalJSONFrom decoders on the
// encoding/json/v2 engine's streaming decoder, which holds no more of the
// input than the value being read needs (an offer's content, a member name),
// never the whole body. A *bytes.Buffer, which holds all its input, is
// decoded in place, the answers Target sends most in one pass over its
// bytes without the engine's decoder (a third of the time), anything else
// by the engine. r is read to its end, so that a keep-alive connection can
// be reused.
//
// The answer must be exactly one JSON object holding at least one member of
// a DeliveryResponse with a value (status, requestId, id, client, edgeHost,
// execute, prefetch, notifications, telemetryServerToken); unknown members
// are ignored. Anything else is an error saying what was found: an empty
// body, null or another JSON value, text that is not JSON (an HTML error
// page), an object of none of those members, or data after the object. An
// error of r itself is returned wrapped, as it is (errors.Is finds it).
func ReadResponse(r io.Reader) (*DeliveryResponse, error) {
	if buf, ok := r.(*bytes.Buffer); ok {
		if answer, ok := quickResponse(buf.Bytes(), nil); ok {
			buf.Reset() // read to its end
			return answer, nil
		}
	}
	dec := getResponseDecoder(r)
	answer, err := readResponse(dec)
	if err == nil {
		// Only a decoder that read a small answer whole goes back to the
		// pool: one that stopped inside a value may hold a buffer grown
		// to the value's size (a decoder reads within 4 KiB, but holds a
		// whole value), which a pool must not keep.
		putResponseDecoder(dec)
	}
	return answer, err
}

// DecodeResponse decodes one Delivery API answer held whole in data, as
// ReadResponse decodes it (the same answer, the same errors), and does not
// keep data. same reports whether data holds exactly what answer holds,
// member for member: only members of the wire model, each once, with
// plain strings outside offer content (the quick path took it), so that
// data can stand for answer as JSON, in the member order and number
// spelling of the Delivery API that sent it. It is false for an answer the
// engine had to decode (an unknown or repeated member, an escape, a null),
// whose encoding may differ from data in more than form. With tokens, the
// answer's response-token maps may be shared with other answers decoded
// with the same tokens (read-only: see SharedObjects).
func DecodeResponse(data []byte, tokens *SharedObjects) (answer *DeliveryResponse, same bool, err error) {
	if answer, ok := quickResponse(data, tokens); ok {
		return answer, true, nil
	}
	dec := getResponseDecoder(bytes.NewReader(data))
	answer, err = readResponse(dec)
	if err == nil {
		putResponseDecoder(dec)
	}
	return answer, false, err
}

func readResponse(dec *jsontext.Decoder) (*DeliveryResponse, error) {
	if kind := dec.PeekKind(); kind != '{' {
		return nil, notAnObject(dec)
	}
	answer := new(DeliveryResponse)
	if err := answer.UnmarshalJSONFrom(dec); err != nil {
		return nil, fmt.Errorf("answer: %w", err)
	}
	end := dec.InputOffset()
	switch _, err := dec.ReadToken(); {
	case err == nil:
		return nil, fmt.Errorf("answer: data after the object, which ends at byte %d", end)
	case !errors.Is(err, io.EOF):
		return nil, fmt.Errorf("answer: after the object: %w", err)
	}
	if answer.empty() {
		return nil, errors.New("answer: an object with no member of a Delivery API response")
	}
	return answer, nil
}

// notAnObject explains why the answer dec starts is not an object.
func notAnObject(dec *jsontext.Decoder) error {
	tok, err := dec.ReadToken()
	switch {
	case errors.Is(err, io.EOF):
		return errors.New("answer: empty, not a Delivery API response object")
	case err != nil:
		return fmt.Errorf("answer: not JSON: %w", err)
	}
	what := "a JSON array"
	switch tok.Kind() {
	case 'n':
		what = "null"
	case 't', 'f':
		what = "a JSON boolean"
	case '"':
		what = "a JSON string"
	case '0':
		what = "a JSON number"
	}
	return fmt.Errorf("answer: %s, not a Delivery API response object", what)
}

// empty reports whether r has no member with a value.
func (r *DeliveryResponse) empty() bool {
	return r.Status == 0 && r.RequestID == "" && r.ID == nil && r.Client == "" && r.EdgeHost == "" &&
		r.Execute == nil && r.Prefetch == nil && r.Notifications == nil && r.TelemetryServerToken == ""
}

// maxPooledInput is the largest answer whose decoder is pooled: one that
// read more may hold a buffer grown for a large value.
const maxPooledInput = 64 << 10

var (
	responseDecoders sync.Pool
	// noInput replaces the body in a pooled decoder, so that the pool
	// keeps no answer alive; it is never read.
	noInput = strings.NewReader("")
)

func getResponseDecoder(r io.Reader) *jsontext.Decoder {
	if dec, ok := responseDecoders.Get().(*jsontext.Decoder); ok {
		dec.Reset(r, responseOptions)
		return dec
	}
	return jsontext.NewDecoder(r, responseOptions)
}

func putResponseDecoder(dec *jsontext.Decoder) {
	if dec.InputOffset() > maxPooledInput {
		return
	}
	dec.Reset(noInput)
	responseDecoders.Put(dec)
}
