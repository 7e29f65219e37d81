package sdktesting

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/targetflow/targetflow/delivery"
)

func TestMatchSubset(t *testing.T) {
	t.Parallel()
	decode := func(s string) any {
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name, got, want string
		wantErr         string // "" when they match; else a part of the error
	}{
		{"equal scalars", `1`, `1`, ""},
		{"extra keys ignored", `{"a":1,"b":2}`, `{"a":1}`, ""},
		{"placeholders", `{"o":{"x":1},"s":"v","n":3}`, `{"o":"expect.any(Object)","s":"expect.any(String)","n":"expect.any(Number)"}`, ""},
		{"nested arrays element-wise", `{"a":[{"x":1,"y":2}]}`, `{"a":[{"x":1}]}`, ""},
		{"missing key", `{"a":1}`, `{"b":1}`, "response.b: missing"},
		{"different value", `{"a":{"b":1}}`, `{"a":{"b":2}}`, "response.a.b: want 2, got 1"},
		{"array length", `{"a":[1,2]}`, `{"a":[1]}`, "response.a: want 1 elements, got 2"},
		{"not an array", `{"a":1}`, `{"a":[1]}`, "response.a: want an array"},
		{"placeholder kind", `{"s":1}`, `{"s":"expect.any(String)"}`, "response.s: want a string, got 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := MatchSubset(decode(tt.got), decode(tt.want), "response")
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("want a match, got %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRenderResponseKeepsEmptyViewMetrics(t *testing.T) {
	t.Parallel()
	resp := &delivery.DeliveryResponse{Prefetch: &delivery.PrefetchResponse{Views: []delivery.View{
		{Name: "empty", Metrics: []delivery.Metric{}},
		{Name: "absent"},
	}}}
	views := RenderResponse(t, resp).(map[string]any)["prefetch"].(map[string]any)["views"].([]any)
	if m, ok := views[0].(map[string]any)["metrics"]; !ok || len(m.([]any)) != 0 {
		t.Errorf("view with empty metrics rendered as %v; want \"metrics\": []", views[0])
	}
	if _, ok := views[1].(map[string]any)["metrics"]; ok {
		t.Errorf("view without metrics rendered as %v; want no metrics key", views[1])
	}
}
