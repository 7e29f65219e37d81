package sdktesting

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/targetflow/targetflow/delivery"
)

// MatchSubset compares got with a suite's expected output the way the
// suites' own (Jest) matchers do: every expected key present and matching,
// arrays of equal length compared element by element, and the placeholders
// "expect.any(Object)", "expect.any(String)" and "expect.any(Number)"
// matching any value of their kind. got and want are JSON data (as
// encoding/json decodes into any). The error names the first path that
// differs, starting at path.
func MatchSubset(got, want any, path string) error {
	show := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	switch w := want.(type) {
	case string:
		switch w {
		case "expect.any(Object)":
			switch got.(type) {
			case map[string]any, []any:
				return nil
			}
			return fmt.Errorf("%s: want an object, got %s", path, show(got))
		case "expect.any(String)":
			if _, ok := got.(string); ok {
				return nil
			}
			return fmt.Errorf("%s: want a string, got %s", path, show(got))
		case "expect.any(Number)":
			if _, ok := got.(float64); ok {
				return nil
			}
			return fmt.Errorf("%s: want a number, got %s", path, show(got))
		}
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object, got %s", path, show(got))
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			gv, present := g[k]
			if !present {
				return fmt.Errorf("%s.%s: missing (want %s)", path, k, show(w[k]))
			}
			if err := MatchSubset(gv, w[k], path+"."+k); err != nil {
				return err
			}
		}
		return nil
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Errorf("%s: want an array, got %s", path, show(got))
		}
		if len(g) != len(w) {
			return fmt.Errorf("%s: want %d elements, got %d: %s", path, len(w), len(g), show(g))
		}
		for i := range w {
			if err := MatchSubset(g[i], w[i], fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("%s: want %s, got %s", path, show(want), show(got))
	}
	return nil
}

// RenderResponse is resp as JSON data, for MatchSubset.
func RenderResponse(t testing.TB, resp *delivery.DeliveryResponse) any {
	t.Helper()
	data, err := json.Marshal(resp)
	if err != nil {
		t.Fatalf("encoding the response: %v", err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("decoding the response: %v", err)
	}
	return out
}
