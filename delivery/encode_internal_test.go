package delivery

import "testing"

func TestIsCompactJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw  string
		want bool
	}{
		{``, true},
		{`{"a":"x y","b":[1,2]}`, true},
		{`{"a": 1}`, false},
		{"[1,\n2]", false},
		{"{\"a\":1}\t", false},
		{`"a\"b c"`, true},      // escaped quote: the space is inside
		{`["a\\", 1]`, false},   // escaped backslash: the string ends, then a space
		{`["a\\\" b"]`, true},   // backslash, escaped quote: still inside
		{`["a\\\\"," "]`, true}, // two escaped backslashes, then a string of a space
		{`"never closed, with space`, true},
		{`{"html":"<div class=\"x y\">Free returns within 30 days</div>"}`, true},
	}
	for _, tt := range tests {
		if got := isCompactJSON([]byte(tt.raw)); got != tt.want {
			t.Errorf("isCompactJSON(%s) = %v, want %v", tt.raw, got, tt.want)
		}
	}
}
