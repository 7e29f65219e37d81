package target

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/targetflow/targetflow/delivery"
)

// attributesAnswer has JSON offers for "feature" in prefetch and execute
// (execute wins on "color"), a non-JSON offer, and a second mbox.
const attributesAnswer = `{"status":200,
"prefetch":{"mboxes":[{"index":1,"name":"feature","state":"s","options":[
	{"type":"json","content":{"color":"blue","enabled":false,"limit":10}}]}]},
"execute":{"mboxes":[
	{"index":1,"name":"feature","options":[
		{"type":"json","content":{"color":"red","ratio":0.25}},
		{"type":"html","content":"<p>ignored</p>"},
		{"type":"json","content":{"big":9007199254740993,"whole":3.0,"exp":1e3,"list":[1,"a"],"nothing":null}}]},
	{"index":2,"name":"banner","options":[{"type":"json","content":"{\"text\":\"hello\"}"}]}]}}`

func attributesFromAnswer(t *testing.T, answer string) (*Attributes, *testEdge) {
	t.Helper()
	e := newTestEdge(t)
	e.answer(body(200, answer))
	attrs, err := e.newClient(WithTelemetry(false)).GetAttributes(t.Context(), []string{"feature", "banner"}, GetOffersOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return attrs, e
}

func TestGetAttributesRequest(t *testing.T) {
	t.Parallel()
	e := newTestEdge(t)
	c := e.newClient(WithTelemetry(false))
	request := &delivery.DeliveryRequest{
		Context:  &delivery.Context{Channel: delivery.ChannelWeb},
		Execute:  &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Name: "existing", Index: 4}}},
		Prefetch: &delivery.PrefetchRequest{Mboxes: []delivery.MboxRequest{{Name: "prefetched", Index: 1}}},
	}
	before := request.Clone()
	if _, err := c.GetAttributes(t.Context(), []string{"existing", "new-a", "prefetched", "new-b", "new-a"}, GetOffersOptions{Request: request}); err != nil {
		t.Fatal(err)
	}
	want := []delivery.MboxRequest{{Name: "existing", Index: 4}, {Name: "new-a", Index: 5}, {Name: "new-b", Index: 6}}
	if got := e.last().Request.Execute.Mboxes; !reflect.DeepEqual(got, want) {
		t.Errorf("execute mboxes %+v, want %+v", got, want)
	}
	if !reflect.DeepEqual(request, before) {
		t.Error("GetAttributes modified the caller's request")
	}

	if _, err := c.GetAttributes(t.Context(), []string{"only"}, GetOffersOptions{}); err != nil {
		t.Fatal(err)
	}
	sent := e.last().Request
	if sent.Context.Channel != delivery.ChannelWeb || !reflect.DeepEqual(sent.Execute.Mboxes, []delivery.MboxRequest{{Name: "only", Index: 1}}) {
		t.Errorf("request from nothing: context %+v mboxes %+v", sent.Context, sent.Execute.Mboxes)
	}

	// Execute mboxes the caller left unnumbered are numbered by position,
	// the added ones after them: no two mboxes share an index.
	unnumbered := &delivery.DeliveryRequest{Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Name: "a"}, {Name: "b"}}}}
	if _, err := c.GetAttributes(t.Context(), []string{"c"}, GetOffersOptions{Request: unnumbered}); err != nil {
		t.Fatal(err)
	}
	want = []delivery.MboxRequest{{Name: "a", Index: 0}, {Name: "b", Index: 1}, {Name: "c", Index: 2}}
	if got := e.last().Request.Execute.Mboxes; !reflect.DeepEqual(got, want) {
		t.Errorf("unnumbered execute mboxes plus one: %+v, want %+v", got, want)
	}

	// Mboxes that are all prefetched add no execute: an execute without
	// mboxes would be refused.
	prefetchOnly := &delivery.DeliveryRequest{Prefetch: &delivery.PrefetchRequest{Mboxes: []delivery.MboxRequest{{Name: "feature-flags"}}}}
	if _, err := c.GetAttributes(t.Context(), []string{"feature-flags"}, GetOffersOptions{Request: prefetchOnly}); err != nil {
		t.Fatalf("GetAttributes of a prefetched mbox: %v", err)
	}
	if sent := e.last().Request; sent.Execute != nil || len(sent.Prefetch.Mboxes) != 1 {
		t.Errorf("prefetched mbox: execute %+v, prefetch %+v; want no execute and the one prefetch", sent.Execute, sent.Prefetch)
	}
}

func TestGetAttributesValidation(t *testing.T) {
	t.Parallel()
	e := newTestEdge(t)
	c := e.newClient()
	tests := []struct {
		name      string
		mboxes    []string
		opts      GetOffersOptions
		wantField string
	}{
		{"no mbox names", nil, GetOffersOptions{}, "mboxNames"},
		{"empty mbox name", []string{"a", ""}, GetOffersOptions{}, "mboxNames"},
		{"prefetch without content", []string{"a"}, GetOffersOptions{Request: &delivery.DeliveryRequest{Prefetch: &delivery.PrefetchRequest{}}}, "request.prefetch"},
		{"bad decisioning method", []string{"a"}, GetOffersOptions{DecisioningMethod: "remote"}, "decisioningMethod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := c.GetAttributesAsync(t.Context(), tt.mboxes, tt.opts).Wait(t.Context())
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Method != "GetAttributes" || ve.Field != tt.wantField {
				t.Errorf("error %v, want a GetAttributes ValidationError on %q", err, tt.wantField)
			}
		})
	}
	if n := len(e.recorded()); n != 0 {
		t.Errorf("edge received %d calls, want 0", n)
	}
}

func TestAttributesGetters(t *testing.T) {
	t.Parallel()
	attrs, _ := attributesFromAnswer(t, attributesAnswer)

	if s, err := attrs.String("feature", "color"); err != nil || s != "red" {
		t.Errorf("String(feature, color) = %q, %v; want red (execute after prefetch)", s, err)
	}
	if b, err := attrs.Bool("feature", "enabled"); err != nil || b {
		t.Errorf("Bool(feature, enabled) = %v, %v; want false", b, err)
	}
	ints := map[string]int64{"limit": 10, "big": 9007199254740993, "whole": 3, "exp": 1000}
	for key, want := range ints {
		if got, err := attrs.Int("feature", key); err != nil || got != want {
			t.Errorf("Int(feature, %s) = %d, %v; want %d", key, got, err, want)
		}
	}
	if f, err := attrs.Float("feature", "ratio"); err != nil || f != 0.25 {
		t.Errorf("Float(feature, ratio) = %v, %v", f, err)
	}
	if f, err := attrs.Float("feature", "limit"); err != nil || f != 10 {
		t.Errorf("Float(feature, limit) = %v, %v", f, err)
	}
	if s, err := attrs.String("banner", "text"); err != nil || s != "hello" {
		t.Errorf("String(banner, text) from string-encoded content = %q, %v", s, err)
	}
	if v, err := attrs.Value("feature", "nothing"); err != nil || v != nil {
		t.Errorf("Value(feature, nothing) = %v, %v; want a present null", v, err)
	}
	if v, err := attrs.Value("feature", "list"); err != nil || !reflect.DeepEqual(v, []any{json.Number("1"), "a"}) {
		t.Errorf("Value(feature, list) = %#v, %v", v, err)
	}
}

func TestAttributesErrors(t *testing.T) {
	t.Parallel()
	attrs, _ := attributesFromAnswer(t, attributesAnswer)
	tests := []struct {
		name     string
		get      func() error
		notFound bool
		text     string
	}{
		{"missing mbox", func() error { _, err := attrs.Value("nope", "color"); return err }, true, `attribute "color" does not exist for mbox "nope"`},
		{"missing key", func() error { _, err := attrs.String("feature", "size"); return err }, true, `attribute "size" does not exist for mbox "feature"`},
		{"string as bool", func() error { _, err := attrs.Bool("feature", "color"); return err }, false, `attribute "color" of mbox "feature" is a string (red), not bool`},
		{"bool as string", func() error { _, err := attrs.String("feature", "enabled"); return err }, false, "is a bool (false), not string"},
		{"fraction as int", func() error { _, err := attrs.Int("feature", "ratio"); return err }, false, "is a number (0.25), not int"},
		{"string as int", func() error { _, err := attrs.Int("feature", "color"); return err }, false, "not int"},
		{"array as float", func() error { _, err := attrs.Float("feature", "list"); return err }, false, "is an array"},
		{"null as string", func() error { _, err := attrs.String("feature", "nothing"); return err }, false, "is null"},
	}
	for _, tt := range tests {
		err := tt.get()
		var ae *AttributeError
		if !errors.As(err, &ae) {
			t.Errorf("%s: error %v, want *AttributeError", tt.name, err)
			continue
		}
		if errors.Is(err, ErrAttributeNotFound) != tt.notFound || !strings.Contains(err.Error(), tt.text) {
			t.Errorf("%s: %v (not found %v), want %q", tt.name, err, errors.Is(err, ErrAttributeNotFound), tt.text)
		}
	}
}

func TestAttributesMaps(t *testing.T) {
	t.Parallel()
	attrs, _ := attributesFromAnswer(t, attributesAnswer)
	feature := attrs.AsMap("feature")
	if len(feature) != 9 || feature["color"] != "red" {
		t.Errorf("AsMap(feature) = %v", feature)
	}
	feature["color"] = "changed"
	if s, _ := attrs.String("feature", "color"); s != "red" {
		t.Error("AsMap returned the attributes themselves, not a copy")
	}
	if m := attrs.AsMap("absent"); m == nil || len(m) != 0 {
		t.Errorf("AsMap(absent) = %#v, want an empty map", m)
	}
	all := attrs.All()
	if len(all) != 2 || all["banner"]["text"] != "hello" {
		t.Errorf("All() = %v", all)
	}
	encoded, err := json.Marshal(attrs)
	if err != nil || !strings.Contains(string(encoded), `"banner":{"text":"hello"}`) || !strings.Contains(string(encoded), `"big":9007199254740993`) {
		t.Errorf("MarshalJSON = %s, %v", encoded, err)
	}
	if attrs.Response() == nil || attrs.Response().Response.Execute == nil {
		t.Error("Response() lost the underlying response")
	}
}

func TestAttributesRejectNonObjectJSONOffers(t *testing.T) {
	t.Parallel()
	e := newTestEdge(t)
	e.answer(body(200, `{"execute":{"mboxes":[{"index":1,"name":"feature","options":[{"type":"json","content":[1,2]}]}]}}`))
	_, err := e.newClient().GetAttributes(t.Context(), []string{"feature"}, GetOffersOptions{})
	if err == nil || !strings.Contains(err.Error(), `json offer 0 of mbox "feature"`) {
		t.Errorf("error %v, want one naming the offer and mbox", err)
	}
}
