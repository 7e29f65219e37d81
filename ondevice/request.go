package ondevice

import (
	"bytes"
	"errors"
	"fmt"
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
	if req, ok := quickRequest(trimmed); ok {
		if err := ValidateRequest(req); err != nil {
			return nil, err
		}
		return req, nil
	}
	var req delivery.DeliveryRequest
	if err := jsonv2.Unmarshal(trimmed, &req, parametersDecodeOptions); err != nil {
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
