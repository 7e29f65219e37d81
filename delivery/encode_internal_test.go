package delivery

import (
	"strings"
	"testing"
)

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

// plainPrefix stops at the first byte a JSON string cannot hold as it is,
// wherever it falls in or after a word: every byte value at every position
// of strings of 1 to 19 bytes, as a string and as bytes.
func TestPlainPrefix(t *testing.T) {
	t.Parallel()
	special := func(b byte) bool { return b < 0x20 || b >= 0x80 || b == '"' || b == '\\' }
	for n := 1; n < 20; n++ {
		for at := range n {
			for c := range 256 {
				b := []byte(strings.Repeat("a~ 0\x7f", 4)[:n])
				b[at] = byte(c)
				want := n
				if special(byte(c)) {
					want = at
				}
				if got := plainPrefix(b); got != want {
					t.Fatalf("plainPrefix(%q) = %d, want %d", b, got, want)
				}
				if got := plainPrefix(string(b)); got != want {
					t.Fatalf("plainPrefix(string %q) = %d, want %d", b, got, want)
				}
				if got := isPlainASCII(string(b)); got != (want == n) {
					t.Fatalf("isPlainASCII(%q) = %v", b, got)
				}
			}
		}
	}
	// Two special bytes in one word: the first is found, whatever the second.
	for first := range 8 {
		for second := first + 1; second < 8; second++ {
			b := []byte("abcdefgh")
			b[first], b[second] = 0x1f, '"'
			if got := plainPrefix(b); got != first {
				t.Errorf("plainPrefix(%q) = %d, want %d", b, got, first)
			}
		}
	}
}
