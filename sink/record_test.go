package sink_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/sink"
)

// Record.AppendJSON writes what encoding/json writes (HTML escaping off),
// for every shape of record.
func TestRecordAppendJSONMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	response := &delivery.DeliveryResponse{
		Status: 200, RequestID: "r1", Client: "demo", EdgeHost: "mboxedge28.tt.omtrdc.net",
		ID: &delivery.VisitorID{TntID: "abc.28_0"},
		Execute: &delivery.ExecuteResponse{Mboxes: []delivery.MboxResponse{{
			Index: 1, Name: "hero",
			Options: []delivery.Option{{Type: delivery.OptionHTML, Content: json.RawMessage(`"<b>Sale & more</b>"`),
				ResponseTokens: delivery.ResponseTokens{"activity.id": 7.0, "experience.name": "B"}}},
		}}},
	}
	tests := []struct {
		name string
		item *pipeline.Item
	}{
		{"ok with everything", &pipeline.Item{
			Seq: 1, Visitor: &pipeline.Visitor{ID: &delivery.VisitorID{TntID: "abc"}}, Response: response,
			TargetCookie: &pipeline.Cookie{Name: "mbox", Value: "session#1#2|PC#abc.28_0#3", MaxAge: 63244800},
			Attributes:   map[string]map[string]any{"flags": {"on": true, "limit": 3.5, "html": "<i>"}},
			Attempts:     2, Notifications: 1,
			Timings: pipeline.Timings{Delivery: 12345 * time.Microsecond},
		}},
		{"failed", &pipeline.Item{
			Seq: 2, Visitor: &pipeline.Visitor{ID: &delivery.VisitorID{ThirdPartyID: "crm-2"}},
			Err:      &pipeline.ItemError{Stage: "deliver", Kind: pipeline.KindHTTP, Status: 503, Err: errors.New("unavailable <injected>")},
			Attempts: 4,
		}},
		{"invalid input line", &pipeline.Item{
			Seq: 3, Line: 3, Raw: []byte("{nope"),
			Err: &pipeline.ItemError{Stage: "source", Kind: pipeline.KindInvalid, Line: 3, Err: errors.New("bad JSON")},
		}},
		{"tiny latency", &pipeline.Item{Seq: 4, Response: &delivery.DeliveryResponse{Status: 200}, Timings: pipeline.Timings{Delivery: 10 * time.Microsecond}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := sink.NewRecord(tt.item)
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(&r); err != nil {
				t.Fatal(err)
			}
			got, err := r.AppendJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			if w := bytes.TrimSuffix(want.Bytes(), []byte("\n")); !bytes.Equal(got, w) {
				t.Errorf("AppendJSON:\n%s\nencoding/json:\n%s", got, w)
			}
		})
	}
}
