package visitor_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/visitor"
)

// Result.AppendJSON writes what encoding/json writes (HTML escaping off),
// for every shape of record.
func TestResultAppendJSONMatchesEncodingJSON(t *testing.T) {
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
		item *visitor.Item
	}{
		{"ok with everything", &visitor.Item{
			Pos: pipeline.Position{Seq: 1},
			Value: visitor.Envelope{Record: &visitor.Record{ID: &delivery.VisitorID{TntID: "abc"}}, Response: response,
				TargetCookie: &visitor.Cookie{Name: "mbox", Value: "session#1#2|PC#abc.28_0#3", MaxAge: 63244800},
				Attributes:   map[string]map[string]any{"flags": {"on": true, "limit": 3.5, "html": "<i>"}},
				Attempts:     2, Notifications: 1, Delivery: 12345 * time.Microsecond},
		}},
		{"failed", &visitor.Item{
			Pos:   pipeline.Position{Seq: 2},
			Value: visitor.Envelope{Record: &visitor.Record{ID: &delivery.VisitorID{ThirdPartyID: "crm-2"}}, Attempts: 4},
			Err:   &visitor.Error{Stage: "deliver", Kind: visitor.KindHTTP, Status: 503, Err: errors.New("unavailable <injected>")},
		}},
		{"invalid input line", &visitor.Item{
			Pos:   pipeline.Position{Seq: 3, Line: 3},
			Value: visitor.Envelope{Raw: []byte("{nope")},
			Err:   &visitor.Error{Stage: "source", Kind: visitor.KindInvalid, Line: 3, Err: errors.New("bad JSON")},
		}},
		{"ids, cookie and strings to escape", &visitor.Item{
			Pos: pipeline.Position{Seq: 6},
			Value: visitor.Envelope{Record: &visitor.Record{ID: &delivery.VisitorID{ThirdPartyID: "crm<42>&\"x\"\u2028\x01", MarketingCloudVisitorID: "mc\\id",
				CustomerIDs: []delivery.CustomerID{{ID: "c1", IntegrationCode: "crm"}, {ID: "c2\té", IntegrationCode: "", AuthenticatedState: delivery.AuthAuthenticated}}}},
				Response: &delivery.DeliveryResponse{Status: 200}, TargetCookie: &visitor.Cookie{Name: "mbox<", Value: "a\"b\\c\n\xff", MaxAge: -1}},
		}},
		{"tiny latency", &visitor.Item{Pos: pipeline.Position{Seq: 4}, Value: visitor.Envelope{Response: &delivery.DeliveryResponse{Status: 200}, Delivery: 10 * time.Microsecond}}},
		{"from kafka", &visitor.Item{Pos: pipeline.Position{Seq: 6, Stream: "visitors", Partition: 3, Offset: 1234, Key: []byte("v1")},
			Value: visitor.Envelope{Response: &delivery.DeliveryResponse{Status: 200}, Attempts: 1}}},
		{"cut by a stop", &visitor.Item{Pos: pipeline.Position{Seq: 5},
			Err: &pipeline.StoppedError{Stage: "deliver", Cut: true, Err: errors.New("context canceled")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := visitor.NewResult(tt.item)
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

// A response that came with its bytes as Target sent them is written as
// those bytes, as long as they stand for it.
func TestResultWritesTheAnswerAsSent(t *testing.T) {
	t.Parallel()
	asSent := []byte(`{"client":"demo","status":200,"execute":{"mboxes":[{"name":"hero","index":1}]}}`)
	decoded := &delivery.DeliveryResponse{Status: 200, Client: "demo",
		Execute: &delivery.ExecuteResponse{Mboxes: []delivery.MboxResponse{{Index: 1, Name: "hero"}}}}
	encoded := string(delivery.AppendResponseJSON(nil, decoded))
	other := &delivery.DeliveryResponse{Status: 200, Client: "other"}
	tests := []struct {
		name string
		set  func(e *visitor.Envelope)
		want string
	}{
		{"the answer as sent", func(e *visitor.Envelope) { e.SetResponse(decoded, asSent) }, string(asSent)},
		{"no bytes given", func(e *visitor.Envelope) { e.SetResponse(decoded, nil) }, encoded},
		{"Response set directly", func(e *visitor.Envelope) { e.Response = decoded }, encoded},
		{"Response replaced after", func(e *visitor.Envelope) { e.SetResponse(decoded, asSent); e.Response = other },
			string(delivery.AppendResponseJSON(nil, other))},
		{"bytes dropped after a change in place", func(e *visitor.Envelope) {
			e.SetResponse(decoded, asSent)
			e.SetResponse(e.Response, nil)
		}, encoded},
		{"bytes with a line break", func(e *visitor.Envelope) {
			e.SetResponse(decoded, []byte("{\"client\":\"demo\",\n\"status\":200,\"execute\":{\"mboxes\":[{\"name\":\"hero\",\"index\":1}]}}"))
		}, encoded},
		{"bytes with a raw U+2028", func(e *visitor.Envelope) {
			d := *decoded
			d.Client = "demo\u2028two"
			e.SetResponse(&d, []byte("{\"client\":\"demo\u2028two\",\"status\":200,\"execute\":{\"mboxes\":[{\"name\":\"hero\",\"index\":1}]}}"))
		}, strings.Replace(encoded, `"client":"demo"`, `"client":"demo\u2028two"`, 1)},
		{"bytes with other three-byte characters", func(e *visitor.Envelope) {
			e.SetResponse(decoded, []byte(`{"client":"demo","status":200,"execute":{"mboxes":[{"name":"hero","index":1,"trace":"€–"}]}}`))
		}, `{"client":"demo","status":200,"execute":{"mboxes":[{"name":"hero","index":1,"trace":"€–"}]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			it := &visitor.Item{Pos: pipeline.Position{Seq: 1}}
			tt.set(&it.Value)
			r := visitor.NewResult(it)
			got, err := r.AppendJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			want := `{"seq":1,"ok":true,"response":` + tt.want + `,"attempts":0}`
			if string(got) != want {
				t.Errorf("AppendJSON:\n%s\nwant:\n%s", got, want)
			}
			// A Result whose Response is replaced encodes the new one.
			r.Response = other
			got, _ = r.AppendJSON(nil)
			if want := `{"seq":1,"ok":true,"response":` + string(delivery.AppendResponseJSON(nil, other)) + `,"attempts":0}`; string(got) != want {
				t.Errorf("after Response was replaced, AppendJSON:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
