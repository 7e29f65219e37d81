package delivery

import (
	"bytes"
	"reflect"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// decodeParameters decodes a parameters object as
// Parameters.UnmarshalJSON does, and is the same to the engine: a
// value it refuses is reported as the engine reports the method's refusal.
// The method decodes the object with encoding/json (twice when a value is
// a number or a boolean), which was a third of decoding a request; objects
// of plain names and values are read here in one pass over the bytes
// instead, and anything else (escapes, non-ASCII text, objects, arrays, a
// value that is no object) is left to the method.
func decodeParameters(dec *jsontext.Decoder, p *Parameters) error {
	value, err := dec.ReadValue()
	if err != nil {
		return err // a syntactic or I/O error, returned as the engine does
	}
	if params, ok := plainParameters(value); ok {
		*p = params
		return nil
	}
	if err := p.UnmarshalJSON(value); err != nil {
		return &jsonv2.SemanticError{GoType: reflect.TypeFor[Parameters](), JSONKind: value.Kind(), Err: err}
	}
	return nil
}

// plainParameters decodes value, a valid JSON value, when it is null or an
// object whose names and string values are ASCII without escapes and whose
// values are strings, numbers, booleans or null; ok is false otherwise.
// Values are decoded as Parameters.UnmarshalJSON decodes them:
// numbers and booleans as their JSON text, null as "".
func plainParameters(value jsontext.Value) (params Parameters, ok bool) {
	rest := skipSpace(value)
	if bytes.HasPrefix(rest, []byte("null")) {
		return nil, true
	}
	if len(rest) == 0 || rest[0] != '{' {
		return nil, false
	}
	rest = skipSpace(rest[1:])
	params = make(Parameters, min(bytes.Count(rest, []byte(":")), maxParametersHint))
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
