package delivery_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/targetflow/targetflow/delivery"
)

// decodeLikeEncodingJSON is what the one decoder must agree with:
// encoding/json's decoding of a DeliveryRequest (with the package's own
// UnmarshalJSON methods: parameters, geo) and then ValidateRequest.
func decodeLikeEncodingJSON(data []byte) (*delivery.DeliveryRequest, error) {
	var req delivery.DeliveryRequest
	if err := json.Unmarshal(data, &req); err != nil {
		return nil, err
	}
	var top any
	if json.Unmarshal(data, &top) != nil {
		return nil, errors.New("not JSON")
	}
	if _, ok := top.(map[string]any); !ok {
		return nil, errors.New("not an object")
	}
	if err := delivery.ValidateRequest(&req); err != nil {
		return nil, err
	}
	return &req, nil
}

// checkAgreesWithEncodingJSON fails unless DecodeRequest and encoding/json
// both refuse data, or both decode it to the same request; every refusal
// of DecodeRequest must be a *delivery.FieldError saying why.
func checkAgreesWithEncodingJSON(t *testing.T, data []byte) {
	t.Helper()
	got, err := delivery.DecodeRequest(data)
	want, wantErr := decodeLikeEncodingJSON(data)
	if err != nil {
		var fe *delivery.FieldError
		if !errors.As(err, &fe) || fe.Reason == "" {
			t.Fatalf("%q: error %v (%T) is not a *delivery.FieldError saying why", data, err, err)
		}
	}
	switch {
	case (err == nil) != (wantErr == nil):
		t.Fatalf("%q:\nDecodeRequest: %v\nencoding/json: %v", data, err, wantErr)
	case err == nil && !reflect.DeepEqual(got, want):
		t.Fatalf("%q: decoded otherwise than encoding/json:\n%+v\n%+v", data, got, want)
	}
}

func TestDecodeRequestAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	bodies := []string{
		`{"context":{"channel":"web"}}`,
		`{"Context":{"Channel":"web"},"REQUESTID":"r"}`,
		`{"context":{"channel":"web"},"request_id":"r"}`, // no underscore folding, as encoding/json
		`{"context":{"channel":"web"},"requestId":"a","requestId":"b"}`,
		`{"context":{"channel":"web"},"context":{"userAgent":"ua"}}`,
		`{"context":{"channel":"web","geo":{"latitude":"37.75","longitude":-122.4,"city":"SF"}}}`,
		`{"context":{"channel":"web","geo":{"latitude":" 1e2 ","longitude":""}}}`,
		`{"context":{"channel":"web","geo":{"latitude":"north"}}}`,
		`{"context":{"channel":"web","geo":{"latitude":"0x10"}}}`,
		`{"context":{"channel":"web","geo":{"latitude":"1e400"}}}`,
		`{"context":{"channel":"web","geo":{"latitude":true}}}`,
		`{"context":{"channel":"web","geo":{"city":5}}}`,
		`{"context":{"channel":"web","geo":null}}`,
		`{"context":{"channel":"web"},"execute":{"mboxes":[{"index":0,"name":"m","parameters":{"a":1,"b":true,"c":null}}]}}`,
		`{"context":{"channel":"web"},"execute":{"mboxes":[{"index":0,"name":"m","parameters":{"a":{}}}]}}`,
		`{"context":{"channel":"web"},"execute":{"mboxes":[]}}`,
		`{"context":{"channel":"web"},"prefetch":{"views":[]}}`,
		"{\"context\":{\"channel\":\"web\"},\"requestId\":\"\xff\"}",
		`{"context":{"channel":"tv"}}`, `{}`, `[]`, `null`, ``, `{"context":{"channel":"web"}} {}`,
	}
	for _, tc := range conformanceCases(t) {
		bodies = append(bodies, string(tc.Request))
	}
	for _, body := range bodies {
		checkAgreesWithEncodingJSON(t, []byte(body))
	}
}

// FuzzDecodeRequest fuzzes the one decoder of a request against
// encoding/json: the same verdict, and the same request when accepted.
func FuzzDecodeRequest(f *testing.F) {
	for _, tc := range conformanceCases(f) {
		f.Add([]byte(tc.Request))
	}
	for _, seed := range []string{
		`{"context":{"channel":"web","geo":{"latitude":"37.75","longitude":"-122.4"}}}`,
		`{"id":{"tntId":"t","customerIds":[{"id":"c","integrationCode":"i","authenticatedState":"authenticated"}]},"context":{"channel":"mobile","mobilePlatform":{"platformType":"ios"}}}`,
		`{"context":{"channel":"web"},"notifications":[{"id":"n","type":"display","timestamp":1,"mbox":{"name":"m","state":"s"},"tokens":["t"]}]}`,
		`{"context":{"channel":"web"},"execute":{"mboxes":[{"index":0,"name":"m","parameters":{"a":1,"b":true,"c":null}}]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAgreesWithEncodingJSON(t, data)
	})
}

func TestDecodeRequestErrors(t *testing.T) {
	t.Parallel()
	web := `"context":{"channel":"web"}`
	tests := []struct {
		name, body           string
		field, value, reason string
	}{
		{"empty", ``, "", "", "the body is empty: want a Delivery API request (a JSON object)"},
		{"array", `[{}]`, "", "", "the body is an array, not a Delivery API request (a JSON object)"},
		{"not JSON", `{"a":`, "", "", "the body is not valid JSON: unexpected EOF (at byte 5)"},
		{"trailing data", `{` + web + `} x`, "", "", "the body is not valid JSON: invalid character 'x' after top-level value (at byte 30)"},
		{"string index", `{` + web + `,"execute":{"mboxes":[{"index":"1","name":"m"}]}}`, "execute.mboxes[0].index", `"1"`, "must be an integer, not a string"},
		{"fraction index", `{` + web + `,"execute":{"mboxes":[{"index":1.5,"name":"m"}]}}`, "execute.mboxes[0].index", `1.5`, "must be an integer in range"},
		{"number for an object", `{"context":5}`, "context", `5`, "must be an object, not a number"},
		{"other case", `{"CONTEXT":{"channel":5}}`, "CONTEXT.channel", `5`, "must be a string, not a number"},
		{"nested parameter", `{` + web + `,"prefetch":{"views":[{"parameters":{"p":[1]}}]}}`, "prefetch.views[0].parameters.p", `[1]`, "must be a string, number or boolean, not an array"},
		{"geo word", `{"context":{"channel":"web","geo":{"latitude":"north"}}}`, "context.geo.latitude", `"north"`, "must be a number or a string holding one"},
		{"geo boolean", `{"context":{"channel":"web","geo":{"longitude":false}}}`, "context.geo.longitude", `false`, "must be a number, not a boolean"},
		{"geo city number", `{"context":{"channel":"web","geo":{"city":5}}}`, "context.geo.city", "", "must be a string, not a number"},
		{"long value", `{"context":{"channel":"` + strings.Repeat("w", 100) + `"}}`, "context.channel", `"` + strings.Repeat("w", 63) + `…(102 bytes)`, `must be "web" or "mobile"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := delivery.DecodeRequest([]byte(tc.body))
			var fe *delivery.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T), want a *delivery.FieldError", err, err)
			}
			if fe.Field != tc.field || fe.Value != tc.value || fe.Reason != tc.reason {
				t.Errorf("FieldError{%q, %q, %q}, want {%q, %q, %q}", fe.Field, fe.Value, fe.Reason, tc.field, tc.value, tc.reason)
			}
		})
	}
}
