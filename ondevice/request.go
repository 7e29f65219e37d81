package ondevice

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/targetflow/targetflow/delivery"
)

// requestDecodeOptions decode a request as encoding/json would (names
// matched without regard to case, duplicate names and invalid UTF-8
// accepted) on the faster encoding/json/v2 engine.
var requestDecodeOptions = jsonv2.JoinOptions(
	jsonv2.MatchCaseInsensitiveNames(true),
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
)

// parametersDecodeOptions are requestDecodeOptions with parameters decoded
// by decodeParameters, for requests that have parameters: with a function
// of its own the engine looks every member's type up in it, which costs a
// request without parameters a sixth more than it saves.
var parametersDecodeOptions = jsonv2.JoinOptions(
	requestDecodeOptions,
	jsonv2.WithUnmarshalers(jsonv2.UnmarshalFromFunc(decodeParameters)),
)

// decodeParameters decodes a parameters object as
// delivery.Parameters.UnmarshalJSON does, and is the same to the engine: a
// value it refuses is reported as the engine reports the method's refusal.
// The method decodes the object with encoding/json (twice when a value is
// a number or a boolean), which was a third of decoding a request; objects
// of plain names and values are read here in one pass over the bytes
// instead, and anything else (escapes, non-ASCII text, objects, arrays, a
// value that is no object) is left to the method.
func decodeParameters(dec *jsontext.Decoder, p *delivery.Parameters) error {
	value, err := dec.ReadValue()
	if err != nil {
		return err // a syntactic or I/O error, returned as the engine does
	}
	if params, ok := plainParameters(value); ok {
		*p = params
		return nil
	}
	if err := p.UnmarshalJSON(value); err != nil {
		return &jsonv2.SemanticError{GoType: reflect.TypeFor[delivery.Parameters](), JSONKind: value.Kind(), Err: err}
	}
	return nil
}

// plainParameters decodes value, a valid JSON value, when it is null or an
// object whose names and string values are ASCII without escapes and whose
// values are strings, numbers, booleans or null; ok is false otherwise.
// Values are decoded as delivery.Parameters.UnmarshalJSON decodes them:
// numbers and booleans as their JSON text, null as "".
func plainParameters(value jsontext.Value) (params delivery.Parameters, ok bool) {
	rest := skipSpace(value)
	if bytes.HasPrefix(rest, []byte("null")) {
		return nil, true
	}
	if len(rest) == 0 || rest[0] != '{' {
		return nil, false
	}
	rest = skipSpace(rest[1:])
	params = make(delivery.Parameters, min(bytes.Count(rest, []byte(":")), maxParametersHint))
	if len(rest) > 0 && rest[0] == '}' {
		return params, true
	}
	for {
		name, after, ok := plainString(rest)
		if !ok {
			return nil, false
		}
		rest = skipSpace(after)
		if len(rest) == 0 || rest[0] != ':' {
			return nil, false
		}
		rest = skipSpace(rest[1:])
		if len(rest) == 0 {
			return nil, false
		}
		var text string
		switch c := rest[0]; {
		case c == '"':
			text, rest, ok = plainString(rest)
			if !ok {
				return nil, false
			}
		case c == 'n':
			text, rest = "", rest[len("null"):]
		case c == 't' || c == 'f' || c == '-' || ('0' <= c && c <= '9'):
			end := 0
			for end < len(rest) && !isValueEnd(rest[end]) {
				end++
			}
			text, rest = string(rest[:end]), rest[end:]
		default: // an object or an array
			return nil, false
		}
		params[string(name)] = text
		rest = skipSpace(rest)
		if len(rest) == 0 {
			return nil, false
		}
		switch rest[0] {
		case ',':
			rest = skipSpace(rest[1:])
		case '}':
			return params, true
		default:
			return nil, false
		}
	}
}

// maxParametersHint bounds the size a parameters map is made with (from the
// colons of the object, which values may hold too).
const maxParametersHint = 16

// plainString decodes the JSON string at the start of b when it is printable
// ASCII without escapes, and returns what follows it.
func plainString(b []byte) (s string, rest []byte, ok bool) {
	if len(b) == 0 || b[0] != '"' {
		return "", nil, false
	}
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return string(b[1:i]), b[i+1:], true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return "", nil, false
		}
	}
	return "", nil, false
}

// isValueEnd reports whether c ends a number or literal inside an object.
func isValueEnd(c byte) bool {
	return c == ',' || c == '}' || c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// skipSpace returns b without its leading JSON whitespace.
func skipSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	return b
}

// DecodeRequest decodes and validates one Delivery API request (the JSON
// body of POST /rest/v1/delivery). It returns a *RequestError naming the
// field at fault when the JSON is not an object, has trailing data, does
// not match the request schema, or misses what a decision needs: a
// context with a channel, and a name for every mbox.
func DecodeRequest(data []byte) (*delivery.DeliveryRequest, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, &RequestError{Field: "request", Reason: "is not a JSON object"}
	}
	// Both option sets decode the same requests with the same errors; a
	// request that names parameters (in any case) otherwise than plainly is
	// only decoded more slowly.
	options := requestDecodeOptions
	if bytes.Contains(trimmed, []byte(`arameters"`)) {
		options = parametersDecodeOptions
	}
	var req delivery.DeliveryRequest
	if err := jsonv2.Unmarshal(trimmed, &req, options); err != nil {
		var semantic *jsonv2.SemanticError
		if errors.As(err, &semantic) && semantic.JSONPointer != "" {
			reason := "has the wrong type"
			if semantic.GoType != nil && semantic.JSONKind != 0 {
				reason = fmt.Sprintf("must be %s, not a JSON %s", semantic.GoType, kindName(semantic.JSONKind))
			} else if semantic.Err != nil {
				reason = semantic.Err.Error()
			}
			return nil, &RequestError{Field: fieldPath(string(semantic.JSONPointer)), Reason: reason}
		}
		var syntactic *jsontext.SyntacticError
		if errors.As(err, &syntactic) {
			return nil, &RequestError{Field: "request", Reason: fmt.Sprintf("is not valid JSON: %v", syntactic.Err)}
		}
		return nil, &RequestError{Field: "request", Reason: "is not valid JSON: " + err.Error()}
	}
	if err := ValidateRequest(&req); err != nil {
		return nil, err
	}
	return &req, nil
}

func kindName(k jsontext.Kind) string {
	switch k {
	case '"':
		return "string"
	case '0':
		return "number"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return k.String()
}

// fieldPath turns a JSON pointer such as /execute/mboxes/0/index into
// execute.mboxes[0].index.
func fieldPath(pointer string) string {
	var sb strings.Builder
	for part := range strings.SplitSeq(strings.TrimPrefix(pointer, "/"), "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		if _, err := strconv.Atoi(part); err == nil && sb.Len() > 0 {
			sb.WriteString("[" + part + "]")
			continue
		}
		if sb.Len() > 0 {
			sb.WriteByte('.')
		}
		sb.WriteString(part)
	}
	if sb.Len() == 0 {
		return "request"
	}
	return sb.String()
}

// ValidateRequest checks what a decision needs: a context with a channel
// and a name for every mbox.
func ValidateRequest(req *delivery.DeliveryRequest) error {
	if req.Context == nil {
		return &RequestError{Field: "context", Reason: "is required"}
	}
	if req.Context.Channel == "" {
		return &RequestError{Field: "context.channel", Reason: "is required"}
	}
	if !req.Context.Channel.Valid() {
		return &RequestError{Field: "context.channel", Reason: fmt.Sprintf("is %q, not web or mobile", req.Context.Channel)}
	}
	if x := req.Execute; x != nil {
		for i, m := range x.Mboxes {
			if m.Name == "" {
				return &RequestError{Field: fmt.Sprintf("execute.mboxes[%d].name", i), Reason: "is required"}
			}
		}
	}
	if p := req.Prefetch; p != nil {
		for i, m := range p.Mboxes {
			if m.Name == "" {
				return &RequestError{Field: fmt.Sprintf("prefetch.mboxes[%d].name", i), Reason: "is required"}
			}
		}
	}
	return nil
}
