package delivery

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// v1DecodeOptions decode as encoding/json does (names matched as
// strings.EqualFold matches them, a repeated name's last value winning,
// invalid UTF-8 replaced) on the faster encoding/json/v2 engine.
var v1DecodeOptions = jsonv2.JoinOptions(
	jsonv2.MatchCaseInsensitiveNames(true),
	jsonv1.MatchCaseSensitiveDelimiter(true),
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
)

// requestDecodeOptions are v1DecodeOptions with parameters read by
// decodeParameters: with a function of its own the engine looks every
// member's type up in it, which costs a request without parameters about
// a sixth more, but those rarely leave the quick path.
var requestDecodeOptions = jsonv2.JoinOptions(v1DecodeOptions,
	jsonv2.WithUnmarshalers(jsonv2.UnmarshalFromFunc(decodeParameters)))

// DecodeRequest decodes and validates one Delivery API request, the JSON
// body of POST /rest/v1/delivery: the one decoder of a request that the
// edge, the on-device engine's callers and targetflow decide use. It
// decodes what encoding/json decodes into a DeliveryRequest, with the
// leniency of the official SDKs (numbers and booleans as parameter values,
// numeric strings as a geo's latitude and longitude), and then checks it
// with ValidateRequest. Every error is a *FieldError naming the field at
// fault (Field is empty when the body as a whole is not a request).
//
// The requests SDKs send most (the common members in exact case, plain
// ASCII strings) are read in one pass over the bytes, without reflection;
// anything else by the encoding/json/v2 engine, with the same result.
func DecodeRequest(data []byte) (*DeliveryRequest, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, &FieldError{Reason: "the body is empty: want a Delivery API request (a JSON object)"}
	}
	if trimmed[0] != '{' {
		if !json.Valid(trimmed) {
			return nil, syntaxError(trimmed, json.Unmarshal(trimmed, new(any)))
		}
		return nil, &FieldError{Reason: "the body is " + kindName(firstKind(trimmed[0])) + ", not a Delivery API request (a JSON object)"}
	}
	req, ok := quickRequest(trimmed)
	if !ok {
		req = new(DeliveryRequest)
		if err := jsonv2.Unmarshal(trimmed, req, requestDecodeOptions); err != nil {
			return nil, decodeError(trimmed, err)
		}
	}
	if err := ValidateRequest(req); err != nil {
		return nil, err
	}
	return req, nil
}

// decodeError turns an error of the v2 engine into a *FieldError.
func decodeError(data []byte, err error) *FieldError {
	var syntactic *jsontext.SyntacticError
	if errors.As(err, &syntactic) {
		return syntaxError(data, err)
	}
	var semantic *jsonv2.SemanticError
	if !errors.As(err, &semantic) {
		return &FieldError{Reason: "the body is not a Delivery API request: " + err.Error(), Err: err}
	}
	field := fieldPath(string(semantic.JSONPointer))
	var param *parameterError
	if errors.As(err, &param) {
		return &FieldError{Field: joinField(field, param.name), Value: abbreviate(param.value), Reason: param.reason, Err: param.err}
	}
	var inner *FieldError
	if errors.As(err, &inner) { // a decoder of ours (a geo's latitude) said which member and why
		return &FieldError{Field: joinField(field, inner.Field), Value: inner.Value, Reason: inner.Reason, Err: inner.Err}
	}
	fe := &FieldError{Field: field, Value: valueAt(data, semantic.JSONPointer), Err: semantic.Err}
	switch want := typeName(semantic.GoType); {
	case semantic.JSONKind != 0 && want != kindName(semantic.JSONKind) && (want != "an integer" || semantic.JSONKind != '0'):
		fe.Reason = "must be " + want + ", not " + kindName(semantic.JSONKind)
	case want != "":
		fe.Reason = "must be " + want + " in range" // a number out of range, or a fraction for an integer
	default:
		fe.Reason = "has the wrong type"
	}
	if fe.Field == "" {
		fe.Reason = "the body " + fe.Reason
	}
	return fe
}

// joinField is the path of member name under field.
func joinField(field, name string) string {
	switch {
	case field == "":
		return name
	case name == "":
		return field
	}
	return field + "." + name
}

// syntaxError describes JSON that does not parse, with the byte offset at
// fault.
func syntaxError(data []byte, err error) *FieldError {
	var syntactic *jsontext.SyntacticError
	if errors.As(err, &syntactic) {
		return &FieldError{Reason: fmt.Sprintf("the body is not valid JSON: %v (at byte %d)", syntactic.Err, syntactic.ByteOffset), Err: err}
	}
	var legacy *json.SyntaxError
	if errors.As(err, &legacy) {
		return &FieldError{Reason: fmt.Sprintf("the body is not valid JSON: %v (at byte %d)", legacy, legacy.Offset), Err: err}
	}
	return &FieldError{Reason: "the body is not valid JSON", Err: err}
}

// typeName says what JSON a Go type of the request wants.
func typeName(t reflect.Type) string {
	if t == nil {
		return ""
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return ""
}

// firstKind is the kind of the JSON value that starts with c.
func firstKind(c byte) jsontext.Kind {
	switch c {
	case '"', '{', '[', 't', 'f', 'n':
		return jsontext.Kind(c)
	}
	return '0'
}

// kindName names a JSON kind as typeName names what a type wants.
func kindName(k jsontext.Kind) string {
	switch k {
	case '"':
		return "a string"
	case '0':
		return "a number"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
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
		if part == "" {
			continue
		}
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
	return sb.String()
}

// valueAt returns the JSON text of the value at pointer in data,
// abbreviated, or "" when it cannot be found. It runs only for an error.
func valueAt(data []byte, pointer jsontext.Pointer) string {
	var doc any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if dec.Decode(&doc) != nil {
		return ""
	}
	for name := range pointer.Tokens() {
		switch v := doc.(type) {
		case map[string]any:
			doc = v[name]
			if _, ok := v[name]; !ok { // matched without regard to case
				for k, value := range v {
					if strings.EqualFold(k, name) {
						doc = value
					}
				}
			}
		case []any:
			i, err := strconv.Atoi(name)
			if err != nil || i < 0 || i >= len(v) {
				return ""
			}
			doc = v[i]
		default:
			return ""
		}
	}
	text, err := json.Marshal(doc)
	if err != nil {
		return ""
	}
	return abbreviate(string(text))
}
