package ondevice

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/targetflow/targetflow/delivery"
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
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	var req delivery.DeliveryRequest
	if err := dec.Decode(&req); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return nil, &RequestError{Field: typeErr.Field, Reason: fmt.Sprintf("must be %s, not a JSON %s", typeErr.Type, typeErr.Value)}
		}
		return nil, &RequestError{Field: "request", Reason: "is not valid JSON: " + err.Error()}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &RequestError{Field: "request", Reason: "has data after the JSON object"}
	}
	if err := ValidateRequest(&req); err != nil {
		return nil, err
	}
	return &req, nil
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
