package delivery_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/targetflow/targetflow/delivery"
)

func TestReadResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, answer string
		want         string // the error's message, "" for an answer
	}{
		{"an answer", `{"status":200,"client":"acme","execute":{"mboxes":[{"index":0,"name":"hero"}]}}`, ""},
		{"a status alone", ` {"status":200} ` + "\n", ""},
		{"unknown members around a known one", `{"x":[1,{"y":null}],"requestId":"r","z":true}`, ""},
		{"empty", ``, "answer: empty, not a Delivery API response object"},
		{"whitespace", " \r\n\t", "answer: empty, not a Delivery API response object"},
		{"null", `null`, "answer: null, not a Delivery API response object"},
		{"a string", `"ok"`, "answer: a JSON string, not a Delivery API response object"},
		{"a number", `200`, "answer: a JSON number, not a Delivery API response object"},
		{"a boolean", `true`, "answer: a JSON boolean, not a Delivery API response object"},
		{"an array", `[{"status":200}]`, "answer: a JSON array, not a Delivery API response object"},
		{"HTML", `<html><body>Bad gateway</body></html>`, "answer: not JSON: jsontext: invalid character '<' at start of value"},
		{"a bad literal", `nope`, "answer: not JSON: jsontext: invalid character 'o' in literal null (expecting 'u') after offset 1"},
		{"an empty object", `{}`, "answer: an object with no member of a Delivery API response"},
		{"no member of an answer", `{"error":"quota"}`, "answer: an object with no member of a Delivery API response"},
		{"members without a value", `{"status":0,"execute":null,"id":null}`, "answer: an object with no member of a Delivery API response"},
		{"two objects", `{"status":200} {"status":200}`, "answer: data after the object, which ends at byte 14"},
		{"garbage after", `{"status":200}</html>`, "answer: after the object: jsontext: invalid character '<' at start of value after offset 14"},
		{"a member of the wrong kind", `{"execute":"hero"}`, `answer: json: cannot unmarshal JSON string into Go delivery.ExecuteResponse within "/execute"`},
		{"truncated", `{"status":200,"execute":{"mboxes":[`, `answer: jsontext: unexpected EOF within "/execute/mboxes" after offset 35`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// One byte per read: the decoder streams, whatever the reads.
			body := strings.NewReader(tt.answer)
			answer, err := delivery.ReadResponse(iotest.OneByteReader(body))
			switch {
			case tt.want == "" && (err != nil || answer == nil):
				t.Fatalf("ReadResponse(%q) = %v, %v; want an answer", tt.answer, answer, err)
			case tt.want != "" && (err == nil || engineMessage(err) != tt.want || answer != nil):
				t.Fatalf("ReadResponse(%q) = %v, %v;\nwant the error %s", tt.answer, answer, err, tt.want)
			}
			if err == nil && body.Len() != 0 {
				t.Errorf("ReadResponse(%q) left %d bytes unread: a keep-alive connection could not be reused", tt.answer, body.Len())
			}
		})
	}
}

// engineMessage is err's message with the encoding/json/v2 engine's modal
// verb as "cannot": the engine says "cannot" or "unable to", picked at
// random once per process, so that no one depends on its wording.
func engineMessage(err error) string {
	return strings.Replace(err.Error(), "json: unable to ", "json: cannot ", 1)
}

// An error of the reader is the reader's, wrapped: the caller tells a failed
// connection from a bad answer.
func TestReadResponseKeepsTheReadersError(t *testing.T) {
	t.Parallel()
	reset := errors.New("connection reset by peer")
	for _, prefix := range []string{``, `{"status":200,`, `{"status":200}`} {
		body := io.MultiReader(strings.NewReader(prefix), iotest.ErrReader(reset))
		if _, err := delivery.ReadResponse(body); !errors.Is(err, reset) {
			t.Errorf("after %q: %v, want the reader's error", prefix, err)
		}
	}
}
