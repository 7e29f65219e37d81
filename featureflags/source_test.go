package featureflags

import (
	"encoding/json"
	"testing"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/target"
)

// TestSourceOption: the option a flag's value comes from is, of the mbox's
// JSON options that have the key, the last in merge order (prefetch, then
// execute); a lone JSON option is taken without looking inside; options of
// other types and mboxes do not count.
func TestSourceOption(t *testing.T) {
	t.Parallel()
	jsonOption := func(content string) delivery.Option {
		return delivery.Option{Type: delivery.OptionJSON, Content: json.RawMessage(content)}
	}
	html := delivery.Option{Type: delivery.OptionHTML, Content: json.RawMessage(`"<p>"`)}
	tests := []struct {
		name              string
		prefetch, execute []delivery.Option
		other             []delivery.Option // of another mbox, in execute
		want              string            // the content of the option found; "" for none
	}{
		{name: "none"},
		{name: "lone option, without the key", execute: []delivery.Option{jsonOption(`{"b":1}`)}, want: `{"b":1}`},
		{name: "first of two has it", execute: []delivery.Option{jsonOption(`{"flag":1}`), jsonOption(`{"b":2}`)}, want: `{"flag":1}`},
		{name: "second of two has it", execute: []delivery.Option{jsonOption(`{"b":1}`), jsonOption(`{"flag":2}`)}, want: `{"flag":2}`},
		{name: "both have it: the last", execute: []delivery.Option{jsonOption(`{"flag":1}`), jsonOption(`{"flag":2}`)}, want: `{"flag":2}`},
		{name: "neither of two has it", execute: []delivery.Option{jsonOption(`{"a":1}`), jsonOption(`{"b":2}`)}},
		{name: "first of three has it", execute: []delivery.Option{jsonOption(`{"flag":1}`), jsonOption(`{"b":2}`), jsonOption(`{"c":3}`)}, want: `{"flag":1}`},
		{name: "execute after prefetch", prefetch: []delivery.Option{jsonOption(`{"flag":1}`)}, execute: []delivery.Option{jsonOption(`{"flag":2}`)}, want: `{"flag":2}`},
		{name: "prefetch when execute lacks it", prefetch: []delivery.Option{jsonOption(`{"flag":1}`)}, execute: []delivery.Option{jsonOption(`{"b":2}`)}, want: `{"flag":1}`},
		{name: "a JSON string holding the object", execute: []delivery.Option{jsonOption(`{"b":1}`), jsonOption(`"{\"flag\":2}"`)}, want: `"{\"flag\":2}"`},
		{name: "other types do not count", execute: []delivery.Option{html, jsonOption(`{"b":1}`), html}, want: `{"b":1}`},
		{name: "empty content does not count", execute: []delivery.Option{{Type: delivery.OptionJSON}, jsonOption(`{"b":1}`)}, want: `{"b":1}`},
		{name: "other mboxes do not count", execute: []delivery.Option{jsonOption(`{"b":1}`)}, other: []delivery.Option{jsonOption(`{"flag":2}`)}, want: `{"b":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			answer := &delivery.DeliveryResponse{
				Prefetch: &delivery.PrefetchResponse{Mboxes: []delivery.PrefetchMboxResponse{{Name: "flags", Options: tt.prefetch}}},
				Execute: &delivery.ExecuteResponse{Mboxes: []delivery.MboxResponse{
					{Name: "other", Options: tt.other}, {Name: "flags", Options: tt.execute},
				}},
			}
			got := sourceOption(&target.Response{Response: answer}, "flags", "flag")
			switch {
			case got == nil && tt.want != "":
				t.Fatalf("no option; want %s", tt.want)
			case got != nil && string(got.Content) != tt.want:
				t.Fatalf("option %s; want %q", got.Content, tt.want)
			}
		})
	}
	if got := sourceOption(&target.Response{}, "flags", "flag"); got != nil {
		t.Fatalf("an answer without a response gave %s", got.Content)
	}
}
