package delivery

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// UnmarshalJSON decodes a geo object. The specification's latitude and
// longitude are numbers; a string that holds a JSON number ("37.75") is
// accepted too and used as that number, as the Java SDK's Jackson coerces
// it (the Node.js SDK accepts it but compares it as a string); an empty
// string is no value. Anything else is a *FieldError naming the member.
func (g *Geo) UnmarshalJSON(data []byte) error {
	type plain Geo // the fields, without this method
	aux := struct {
		*plain
		Latitude  json.RawMessage `json:"latitude"`
		Longitude json.RawMessage `json:"longitude"`
	}{plain: (*plain)(g)}
	if err := json.Unmarshal(data, &aux); err != nil {
		return memberError(err)
	}
	var err error
	if g.Latitude, err = coordinate("latitude", aux.Latitude, g.Latitude); err != nil {
		return err
	}
	g.Longitude, err = coordinate("longitude", aux.Longitude, g.Longitude)
	return err
}

// coordinate decodes a latitude or a longitude: a number, or a string
// holding one. Absent (raw empty) keeps old; null or "" is no value.
func coordinate(name string, raw json.RawMessage, old *float64) (*float64, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0:
		return old, nil
	case string(raw) == "null":
		return nil, nil
	}
	text := raw
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, &FieldError{Field: name, Value: abbreviate(string(raw)), Reason: "must be a number or a string holding one", Err: err}
		}
		text = bytes.TrimSpace([]byte(s))
		if len(text) == 0 {
			return nil, nil
		}
		if !isJSONNumber(text) {
			return nil, &FieldError{Field: name, Value: abbreviate(string(raw)), Reason: "must be a number or a string holding one"}
		}
	} else if !isJSONNumber(text) {
		return nil, &FieldError{Field: name, Value: abbreviate(string(raw)), Reason: "must be a number, not " + kindName(firstKind(raw[0]))}
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil {
		return nil, &FieldError{Field: name, Value: abbreviate(string(raw)), Reason: "must be a number in range", Err: err}
	}
	return &f, nil
}

// isJSONNumber reports whether b is exactly a JSON number.
func isJSONNumber(b []byte) bool {
	return len(b) > 0 && (b[0] == '-' || '0' <= b[0] && b[0] <= '9') && json.Valid(b)
}

// memberError turns encoding/json's error for a member of an object decoded
// by a method of ours into a *FieldError naming the member.
func memberError(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field := typeErr.Field[strings.LastIndexByte(typeErr.Field, '.')+1:] // not the path through the embedded fields
		return &FieldError{Field: field, Reason: "must be " + typeName(typeErr.Type) + ", not " + jsonValueName(typeErr.Value), Err: err}
	}
	return err
}

// jsonValueName names encoding/json's description of a JSON value ("number",
// "string", "bool", "array", "object", "number 1e400") as kindName does.
func jsonValueName(v string) string {
	switch {
	case v == "string":
		return "a string"
	case v == "bool":
		return "a boolean"
	case v == "array":
		return "an array"
	case v == "object":
		return "an object"
	case v == "null":
		return "null"
	}
	return "a " + v
}
