package target

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/internal/demo"
)

// referenceAttributes indexes the JSON offers of resp as GetAttributes did
// before offers were shared: every offer decoded afresh, merged into a map
// of the call's own.
func referenceAttributes(t testing.TB, resp *Response) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	var sections [][]delivery.MboxResponse
	if pf := resp.Response.Prefetch; pf != nil {
		sections = append(sections, pf.Mboxes)
	}
	if ex := resp.Response.Execute; ex != nil {
		sections = append(sections, ex.Mboxes)
	}
	for _, mboxes := range sections {
		for _, m := range mboxes {
			for _, o := range m.Options {
				if o.Type != delivery.OptionJSON || len(o.Content) == 0 {
					continue
				}
				content, err := decodeJSONObject(o.Content)
				if err != nil {
					t.Fatalf("offer of %s: %v", m.Name, err)
				}
				if content == nil {
					continue
				}
				if out[m.Name] == nil {
					out[m.Name] = map[string]any{}
				}
				maps.Copy(out[m.Name], content)
			}
		}
	}
	return out
}

// TestSharedOffersAnswerAsFreshDecoding asks GetAttributes, on-device, for
// every mbox of the demo artifact, executed and prefetched, for many
// visitors (both experiences of each A/B activity), twice each: the
// attributes equal those of decoding every offer afresh, and the repeated
// calls read the shared offers.
func TestSharedOffersAnswerAsFreshDecoding(t *testing.T) {
	e := newTestEdge(t)
	c := onDeviceClient(t, e, delivery.DecisioningOnDevice, WithTelemetry(false), WithOnDeviceNotifications(false))
	mboxes := c.OnDeviceEngine().Artifact().MboxNames()
	if len(mboxes) < 4 {
		t.Fatalf("demo artifact mboxes %v", mboxes)
	}
	for _, mbox := range mboxes {
		for _, mode := range []string{"execute", "prefetch"} {
			t.Run(mbox+"/"+mode, func(t *testing.T) {
				for i := range 40 {
					request := &delivery.DeliveryRequest{
						ID:      &delivery.VisitorID{TntID: fmt.Sprintf("visitor-%d.28_0", i)},
						Context: &delivery.Context{Channel: delivery.ChannelWeb, Address: &delivery.Address{URL: "https://shop.example.com/"}},
					}
					if mode == "prefetch" {
						request.Prefetch = &delivery.PrefetchRequest{Mboxes: []delivery.MboxRequest{{Name: mbox, Index: 1}}}
					}
					for range 2 {
						attrs, err := c.GetAttributes(t.Context(), []string{mbox}, GetOffersOptions{Request: request})
						if err != nil {
							t.Fatal(err)
						}
						if got, want := attrs.All(), referenceAttributes(t, attrs.Response()); !reflect.DeepEqual(got, want) {
							t.Fatalf("visitor %d: attributes %v, want %v", i, got, want)
						}
					}
				}
			})
		}
	}
	if c.offers.objects.Len() == 0 {
		t.Error("no offer was shared")
	}
}

// TestSharedOffersKeepNestedValuesOwn changes what Value returns of an
// offer with an array and an object inside: the next call's attributes are
// unchanged (such offers are decoded afresh), and a flat offer's
// attributes, shared, are not changed by AsMap's copy.
func TestSharedOffersKeepNestedValuesOwn(t *testing.T) {
	t.Parallel()
	e := newTestEdge(t)
	c := e.newClient(WithTelemetry(false))
	answer := `{"status":200,"execute":{"mboxes":[
		{"index":1,"name":"nested","options":[{"type":"json","content":{"list":[1,2],"object":{"a":"b"}}}]},
		{"index":2,"name":"flat","options":[{"type":"json","content":{"on":true,"n":3}}]}]}}`
	e.answerEvery(body(200, answer))
	for round := range 3 {
		attrs, err := c.GetAttributes(t.Context(), []string{"nested", "flat"}, GetOffersOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]map[string]any{
			"nested": {"list": []any{json.Number("1"), json.Number("2")}, "object": map[string]any{"a": "b"}},
			"flat":   {"on": true, "n": json.Number("3")},
		}
		if got := attrs.All(); !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: %v, want %v", round, got, want)
		}
		list, _ := attrs.Value("nested", "list")
		list.([]any)[0] = "changed"
		object, _ := attrs.Value("nested", "object")
		object.(map[string]any)["a"] = "changed"
		attrs.AsMap("flat")["on"] = false
	}
	if n := c.offers.objects.Len(); n != 1 {
		t.Errorf("%d shared offers, want the flat one only", n)
	}
}

// TestSharedOffersMergeIntoACopy merges a second offer of an mbox into the
// first, shared: the shared object is not changed.
func TestSharedOffersMergeIntoACopy(t *testing.T) {
	t.Parallel()
	shared := newSharedOffers()
	first, second := json.RawMessage(`{"a":"1","b":"1"}`), json.RawMessage(`{"b":"2","c":"2"}`)
	resp := &Response{Response: &delivery.DeliveryResponse{
		Prefetch: &delivery.PrefetchResponse{Mboxes: []delivery.MboxResponse{{Name: "m", Options: []delivery.Option{{Type: delivery.OptionJSON, Content: first}}}}},
		Execute: &delivery.ExecuteResponse{Mboxes: []delivery.MboxResponse{
			{Name: "m", Options: []delivery.Option{{Type: delivery.OptionJSON, Content: second}}},
			{Name: "other", Options: []delivery.Option{{Type: delivery.OptionJSON, Content: first}}}}},
	}}
	for range 2 {
		attrs, err := newAttributes(resp, &shared)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]map[string]any{"m": {"a": "1", "b": "2", "c": "2"}, "other": {"a": "1", "b": "1"}}
		if got := attrs.All(); !reflect.DeepEqual(got, want) {
			t.Fatalf("attributes %v, want %v", got, want)
		}
	}
	if got := shared.objects.Lookup(first); !reflect.DeepEqual(got, map[string]any{"a": "1", "b": "1"}) {
		t.Errorf("shared first offer became %v", got)
	}
}

// TestSharedOffersBounded decodes more distinct offers than the bound
// holds: the shared offers stay within it.
func TestSharedOffersBounded(t *testing.T) {
	t.Parallel()
	shared := newSharedOffers()
	filler := strings.Repeat("x", 1000)
	for i := range 3 * sharedOfferBytes / len(filler) {
		raw := json.RawMessage(fmt.Sprintf(`{"i":%d,"s":%q}`, i, filler))
		content, err := shared.decode(raw)
		if err != nil || content["i"] != json.Number(fmt.Sprint(i)) {
			t.Fatalf("offer %d: %v, %v", i, content, err)
		}
		if n := shared.objects.Len(); n > sharedOfferBytes/len(filler) {
			t.Fatalf("after %d offers %d shared, more than their bytes' bound holds", i+1, n)
		}
	}
	huge := json.RawMessage(`{"s":"` + strings.Repeat("y", sharedOfferBytes) + `"}`)
	if _, err := shared.decode(huge); err != nil {
		t.Fatal(err)
	}
	if shared.objects.Lookup(huge) != nil {
		t.Error("an offer larger than the bound was shared")
	}
}

// FuzzSharedOffers: decoding through sharedOffers, first and again,
// answers exactly what decoding afresh answers, error or object.
func FuzzSharedOffers(f *testing.F) {
	for _, seed := range []string{`{"a":1}`, `{"a":"b","c":true,"d":null}`, `"{\"x\":2}"`, `null`, `{"l":[1]}`, `{"o":{}}`, `[1]`, `{`, ` {"a":1e3} `, `{"a":1,"a":2}`} {
		f.Add([]byte(seed))
	}
	shared := newSharedOffers()
	f.Fuzz(func(t *testing.T, raw []byte) {
		want, wantErr := decodeJSONObject(raw)
		for range 2 {
			got, err := shared.decode(append([]byte(nil), raw...))
			if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
				t.Fatalf("error %v, want %v", err, wantErr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%#v, want %#v", got, want)
			}
		}
	})
}

// referenceAddMboxes is addMboxesToExecute as it was: a deep copy of the
// request, completed in place.
func referenceAddMboxes(names []string, request *delivery.DeliveryRequest) *delivery.DeliveryRequest {
	var r *delivery.DeliveryRequest
	if request == nil {
		r = &delivery.DeliveryRequest{Context: &delivery.Context{Channel: delivery.ChannelWeb}}
	} else {
		r = request.Clone()
	}
	requested := map[string]bool{}
	if r.Prefetch != nil {
		for _, m := range r.Prefetch.Mboxes {
			requested[m.Name] = true
		}
	}
	noExecute := r.Execute == nil
	if noExecute {
		r.Execute = &delivery.ExecuteRequest{}
	}
	highest, numbered := 0, false
	for _, m := range r.Execute.Mboxes {
		requested[m.Name] = true
		highest = max(highest, m.Index)
		numbered = numbered || m.Index != 0
	}
	if !numbered && len(r.Execute.Mboxes) > 0 {
		for i := range r.Execute.Mboxes {
			r.Execute.Mboxes[i].Index = i
		}
		highest = len(r.Execute.Mboxes) - 1
	}
	next := highest + 1
	for _, name := range names {
		if requested[name] {
			continue
		}
		requested[name] = true
		r.Execute.Mboxes = append(r.Execute.Mboxes, delivery.MboxRequest{Name: name, Index: next})
		next++
	}
	if noExecute && len(r.Execute.Mboxes) == 0 {
		r.Execute = nil
	}
	return r
}

// TestAddMboxesToExecuteAsDeepCopy compares addMboxesToExecute with the
// deep-copying reference over every combination of a few execute and
// prefetch shapes and mbox name lists: the same request (deeply equal),
// and the caller's request unchanged.
func TestAddMboxesToExecuteAsDeepCopy(t *testing.T) {
	t.Parallel()
	mboxes := func(indexes ...int) []delivery.MboxRequest {
		var out []delivery.MboxRequest
		for i, index := range indexes {
			out = append(out, delivery.MboxRequest{Name: string(rune('a' + i)), Index: index, Parameters: delivery.Parameters{"p": "v"}})
		}
		return out
	}
	executes := []*delivery.ExecuteRequest{
		nil,
		{},
		{PageLoad: &delivery.RequestDetails{}},
		{Mboxes: mboxes(0, 0)},
		{Mboxes: mboxes(1, 2)},
		{Mboxes: mboxes(4, 0, 2), PageLoad: &delivery.RequestDetails{}},
	}
	prefetches := []*delivery.PrefetchRequest{
		nil,
		{Mboxes: []delivery.MboxRequest{{Name: "b", Index: 1}}},
		{Mboxes: []delivery.MboxRequest{{Name: "x"}, {Name: "y", Index: 3}}},
	}
	nameLists := [][]string{{"a"}, {"b"}, {"x"}, {"z"}, {"z", "z"}, {"a", "z", "x", "w", "z"}, {"y", "c", "b"}}
	for _, execute := range executes {
		for _, prefetch := range prefetches {
			for _, names := range nameLists {
				request := &delivery.DeliveryRequest{ID: &delivery.VisitorID{TntID: "t"}, Execute: execute, Prefetch: prefetch}
				if execute != nil {
					request.Execute = &delivery.ExecuteRequest{PageLoad: execute.PageLoad, Mboxes: slices.Clone(execute.Mboxes)}
				}
				before := request.Clone()
				want := referenceAddMboxes(names, request)
				got := addMboxesToExecute(names, request)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("execute %+v prefetch %+v names %v:\n got %+v\nwant %+v", execute, prefetch, names, got.Execute, want.Execute)
				}
				if !reflect.DeepEqual(request, before) {
					t.Errorf("execute %+v prefetch %+v names %v: the caller's request changed", execute, prefetch, names)
				}
			}
		}
	}
	if got, want := addMboxesToExecute([]string{"a"}, nil), referenceAddMboxes([]string{"a"}, nil); !reflect.DeepEqual(got, want) {
		t.Errorf("nil request: %+v, want %+v", got, want)
	}
}

// TestOnDeviceGetAttributesLeavesTheRequest: on-device and hybrid, the
// caller's request is read, never changed (the OpenFeature provider
// recycles its requests on this), whether GetAttributes adds an mbox or
// not.
func TestOnDeviceGetAttributesLeavesTheRequest(t *testing.T) {
	e := newTestEdge(t)
	for _, method := range []delivery.DecisioningMethod{delivery.DecisioningOnDevice, delivery.DecisioningHybrid} {
		c := onDeviceClient(t, e, method, WithTelemetry(false))
		for _, prefetch := range []bool{true, false} {
			mboxes := []delivery.MboxRequest{{Name: demo.MboxFeatureFlags, Index: 1, Parameters: delivery.Parameters{"a": "b"}}}
			request := &delivery.DeliveryRequest{
				ID:      &delivery.VisitorID{TntID: "visitor-1.28_0", ThirdPartyID: "crm-1"},
				Context: &delivery.Context{Channel: delivery.ChannelWeb},
			}
			if prefetch {
				request.Prefetch = &delivery.PrefetchRequest{Mboxes: mboxes}
			} else {
				request.Execute = &delivery.ExecuteRequest{Mboxes: mboxes}
			}
			before := request.Clone()
			for _, names := range [][]string{{demo.MboxFeatureFlags}, {demo.MboxFeatureFlags, demo.MboxHero}} {
				if _, err := c.GetAttributes(t.Context(), names, GetOffersOptions{Request: request}); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(request, before) {
					t.Errorf("%s, prefetch %v, mboxes %v: the request became %+v", method, prefetch, names, request)
				}
			}
		}
	}
}
