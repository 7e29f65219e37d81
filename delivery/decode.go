package delivery

import (
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// The decoders in this file are the hot path of reading an answer with the
// encoding/json/v2 engine (github.com/go-json-experiment/json), which calls
// an UnmarshalJSONFrom method when a type has one: every option of every
// mbox goes through them. They decode the members they know without
// reflection and hand anything unexpected (another kind of value, null) to
// the v2 engine for that member alone, so results and errors are the
// engine's. encoding/json does not know the method and decodes these types
// as before.

// UnmarshalJSONFrom decodes a JSON object of response tokens into t,
// merging into an existing map as the v2 engine does. Strings, numbers
// (float64) and booleans are decoded directly; other values as the v2
// engine decodes them into an any.
func (t *ResponseTokens) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	if *t == nil && dec.PeekKind() == '{' {
		*t = make(ResponseTokens, 12) // Target answers ten or so per option
	}
	m := *t
	return decodeObject(dec, func(raw []byte) error {
		name := tokenName(raw)
		switch dec.PeekKind() {
		case '"':
			tok, err := dec.ReadToken()
			if err != nil {
				return err
			}
			m[name] = tok.String()
		case '0':
			tok, err := dec.ReadToken()
			if err != nil {
				return err
			}
			f, err := tok.Float()
			if err != nil {
				return err
			}
			m[name] = f
		case 't', 'f':
			tok, err := dec.ReadToken()
			if err != nil {
				return err
			}
			m[name] = tok.Bool()
		default:
			var v any
			if err := jsonv2.UnmarshalDecode(dec, &v); err != nil {
				return err
			}
			m[name] = v
		}
		return nil
	})
}

// tokenName returns name as a string. The names Target sends are returned
// as constants, so that decoding them allocates nothing.
func tokenName(name []byte) string {
	switch string(name) {
	case "activity.id":
		return "activity.id"
	case "activity.name":
		return "activity.name"
	case "activity.decisioningMethod":
		return "activity.decisioningMethod"
	case "experience.id":
		return "experience.id"
	case "experience.name":
		return "experience.name"
	case "offer.id":
		return "offer.id"
	case "offer.name":
		return "offer.name"
	case "option.id":
		return "option.id"
	case "option.name":
		return "option.name"
	}
	return string(name)
}

// UnmarshalJSONFrom decodes a JSON object into o. Content is kept verbatim
// as the edge sent it.
func (o *Option) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	return decodeObject(dec, func(name []byte) error {
		switch string(name) {
		case "type":
			return decodeString(dec, (*string)(&o.Type))
		case "content":
			return decodeRaw(dec, &o.Content)
		case "eventToken":
			return decodeString(dec, &o.EventToken)
		case "responseTokens":
			return decodeWith(dec, &o.ResponseTokens)
		}
		return dec.SkipValue() // unknown members are ignored, as the engine does
	})
}

// UnmarshalJSONFrom decodes a JSON object into r: the answer's own members,
// and the execute and prefetch sections through their decoders.
func (r *DeliveryResponse) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	return decodeObject(dec, func(name []byte) error {
		switch string(name) {
		case "status":
			return decodeInt(dec, &r.Status)
		case "requestId":
			return decodeString(dec, &r.RequestID)
		case "id":
			return decodeInto(dec, &r.ID)
		case "client":
			return decodeString(dec, &r.Client)
		case "edgeHost":
			return decodeString(dec, &r.EdgeHost)
		case "execute":
			return decodeInto(dec, &r.Execute)
		case "prefetch":
			return decodeInto(dec, &r.Prefetch)
		case "notifications":
			return jsonv2.UnmarshalDecode(dec, &r.Notifications)
		case "telemetryServerToken":
			return decodeString(dec, &r.TelemetryServerToken)
		}
		return dec.SkipValue()
	})
}

// UnmarshalJSONFrom decodes a JSON object into x.
func (x *ExecuteResponse) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	return decodeObject(dec, func(name []byte) error {
		switch string(name) {
		case "pageLoad":
			return jsonv2.UnmarshalDecode(dec, &x.PageLoad)
		case "mboxes":
			return decodeList(dec, &x.Mboxes)
		}
		return dec.SkipValue()
	})
}

// UnmarshalJSONFrom decodes a JSON object into p.
func (p *PrefetchResponse) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	return decodeObject(dec, func(name []byte) error {
		switch string(name) {
		case "views":
			return jsonv2.UnmarshalDecode(dec, &p.Views)
		case "pageLoad":
			return jsonv2.UnmarshalDecode(dec, &p.PageLoad)
		case "mboxes":
			return decodeList(dec, &p.Mboxes)
		case "metrics":
			return jsonv2.UnmarshalDecode(dec, &p.Metrics)
		}
		return dec.SkipValue()
	})
}

// UnmarshalJSONFrom decodes a JSON object into m; its options go through
// Option's decoder.
func (m *MboxResponse) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	return decodeObject(dec, func(name []byte) error {
		switch string(name) {
		case "index":
			return decodeInt(dec, &m.Index)
		case "name":
			return decodeString(dec, &m.Name)
		case "options":
			return decodeList(dec, &m.Options)
		case "metrics":
			return jsonv2.UnmarshalDecode(dec, &m.Metrics)
		case "analytics":
			return jsonv2.UnmarshalDecode(dec, &m.Analytics)
		case "trace":
			return jsonv2.UnmarshalDecode(dec, &m.Trace)
		case "state":
			return decodeString(dec, &m.State)
		}
		return dec.SkipValue()
	})
}

// UnmarshalJSONFrom decodes a JSON object into id. Names match exactly, as
// in an answer; a decoder that matches them without regard to case (a
// request's, as encoding/json decodes it) decodes id as it would without
// the method.
func (id *VisitorID) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	if insensitive, _ := jsonv2.GetOption(dec.Options(), jsonv2.MatchCaseInsensitiveNames); insensitive {
		return errors.ErrUnsupported
	}
	return decodeObject(dec, func(name []byte) error {
		switch string(name) {
		case "tntId":
			return decodeString(dec, &id.TntID)
		case "thirdPartyId":
			return decodeString(dec, &id.ThirdPartyID)
		case "marketingCloudVisitorId":
			return decodeString(dec, &id.MarketingCloudVisitorID)
		case "customerIds":
			return jsonv2.UnmarshalDecode(dec, &id.CustomerIDs)
		}
		return dec.SkipValue()
	})
}

// decodeObject reads a JSON object, calling member with each member's name
// (unquoted, valid until the next read) to decode its value. Anything but
// an object is left unread for the engine: errors.ErrUnsupported tells it
// to decode the value as it would without the method (null, or its error
// for another kind).
func decodeObject(dec *jsontext.Decoder, member func(name []byte) error) error {
	if dec.PeekKind() != '{' {
		return errors.ErrUnsupported
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	for dec.PeekKind() != '}' {
		name, err := memberName(dec)
		if err != nil {
			return err
		}
		if err := member(name); err != nil {
			return err
		}
	}
	_, err := dec.ReadToken()
	return err
}

// memberName reads the name of the next object member, unquoted; the
// result is valid until the next read.
func memberName(dec *jsontext.Decoder) ([]byte, error) {
	raw, err := dec.ReadValue()
	if err != nil {
		return nil, err
	}
	for _, c := range raw {
		if c == '\\' || c >= utf8.RuneSelf {
			// The decoder has checked the syntax, and the UTF-8 unless the
			// options allow it invalid: the one error left to report is
			// invalid UTF-8 the options allow, replaced as the engine does.
			name, _ := jsontext.AppendUnquote(nil, raw)
			return name, nil
		}
	}
	return raw[1 : len(raw)-1], nil
}

// decodeString decodes a JSON string into s; anything else goes to the v2
// engine (null, or the error for a wrong kind).
func decodeString(dec *jsontext.Decoder, s *string) error {
	if dec.PeekKind() != '"' {
		return jsonv2.UnmarshalDecode(dec, s)
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	*s = tok.String()
	return nil
}

// decodeRaw keeps a copy of the next value verbatim; null goes to the v2
// engine, which treats it as encoding/json.RawMessage's method does.
func decodeRaw(dec *jsontext.Decoder, m *json.RawMessage) error {
	if dec.PeekKind() == 'n' {
		return jsonv2.UnmarshalDecode(dec, m)
	}
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	*m = append((*m)[:0], v...)
	return nil
}

// decodable is a wire type with a decoder in this file.
type decodable[T any] interface {
	*T
	UnmarshalJSONFrom(*jsontext.Decoder) error
}

// decodeInto decodes an object into *p, allocating it when nil and merging
// into it otherwise, as the engine does; null goes to the engine.
func decodeInto[T any, P decodable[T]](dec *jsontext.Decoder, p **T) error {
	if dec.PeekKind() != '{' {
		return jsonv2.UnmarshalDecode(dec, p)
	}
	if *p == nil {
		*p = new(T)
	}
	return P(*p).UnmarshalJSONFrom(dec)
}

// decodeWith decodes the next value into v: an object with v's decoder,
// anything else with the engine (which, for null, leaves v as the engine
// would without the decoder).
func decodeWith[T any, P decodable[T]](dec *jsontext.Decoder, v *T) error {
	if dec.PeekKind() != '{' {
		return jsonv2.UnmarshalDecode(dec, v)
	}
	return P(v).UnmarshalJSONFrom(dec)
}

// decodeList decodes a JSON array into *list, element by element with the
// element's decoder, reusing its capacity as the engine does; an empty
// array gives an empty, non-nil slice. null and other kinds go to the
// engine.
func decodeList[T any, P decodable[T]](dec *jsontext.Decoder, list *[]T) error {
	if dec.PeekKind() != '[' {
		return jsonv2.UnmarshalDecode(dec, list)
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	items := (*list)[:0]
	if items == nil {
		items = []T{}
	}
	var zero T
	for dec.PeekKind() != ']' {
		items = append(items, zero)
		if err := decodeWith[T, P](dec, &items[len(items)-1]); err != nil {
			*list = items
			return err
		}
	}
	*list = items
	_, err := dec.ReadToken()
	return err
}

// decodeInt decodes a JSON number that is an int into n. Any other value,
// or a number that is not one, goes to the engine for its result or error.
func decodeInt(dec *jsontext.Decoder, n *int) error {
	if dec.PeekKind() != '0' {
		return jsonv2.UnmarshalDecode(dec, n)
	}
	raw, err := dec.ReadValue()
	if err != nil {
		return err
	}
	v, err := strconv.ParseInt(string(raw), 10, strconv.IntSize)
	if err != nil {
		// The engine's error for the value, at the member's place.
		err = jsonv2.Unmarshal(raw, n)
		var semantic *jsonv2.SemanticError
		if errors.As(err, &semantic) {
			semantic.JSONPointer = dec.StackPointer()
		}
		return err
	}
	*n = int(v)
	return nil
}
