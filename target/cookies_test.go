package target

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"
)

func TestParseTargetCookie(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	future := "1700001860"
	tests := []struct {
		name string
		raw  string
		want map[string]CookieEntry
	}{
		{"empty", "", map[string]CookieEntry{}},
		{"session and PC", "session#abc#" + future + "|PC#abc.35_0#1763244800", map[string]CookieEntry{
			"session": {Name: "session", Value: "abc", Expires: 1700001860},
			"PC":      {Name: "PC", Value: "abc.35_0", Expires: 1763244800},
		}},
		{"expired entry dropped", "session#old#1699999999|PC#keep#" + future, map[string]CookieEntry{
			"PC": {Name: "PC", Value: "keep", Expires: 1700001860},
		}},
		{"expiring this second kept", "session#now#1700000000", map[string]CookieEntry{
			"session": {Name: "session", Value: "now", Expires: 1700000000},
		}},
		{"too few parts ignored", "session#abc|PC#x#" + future, map[string]CookieEntry{
			"PC": {Name: "PC", Value: "x", Expires: 1700001860},
		}},
		{"non-numeric expiry ignored", "session#abc#soon|PC#x#" + future, map[string]CookieEntry{
			"PC": {Name: "PC", Value: "x", Expires: 1700001860},
		}},
		{"bad escape ignored", "session#%zz#" + future + "|PC#x#" + future, map[string]CookieEntry{
			"PC": {Name: "PC", Value: "x", Expires: 1700001860},
		}},
		{"encoded value decoded", "session#a%7Cb%23c%20d#" + future, map[string]CookieEntry{
			"session": {Name: "session", Value: "a|b#c d", Expires: 1700001860},
		}},
		{"plus is not a space", "session#a+b#" + future, map[string]CookieEntry{
			"session": {Name: "session", Value: "a+b", Expires: 1700001860},
		}},
		{"extra fields ignored", "session#abc#" + future + "#extra", map[string]CookieEntry{
			"session": {Name: "session", Value: "abc", Expires: 1700001860},
		}},
		{"later duplicate wins", "session#one#" + future + "|session#two#" + future, map[string]CookieEntry{
			"session": {Name: "session", Value: "two", Expires: 1700001860},
		}},
		{"empty name ignored", "#v#" + future, map[string]CookieEntry{}},
		{"garbage", "|||###|%%%|\x00\xff", map[string]CookieEntry{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ParseTargetCookie(tt.raw, now)
			if !maps.Equal(got, tt.want) {
				t.Errorf("ParseTargetCookie(%q) = %v, want %v", tt.raw, got, tt.want)
			}
		})
	}
}

func TestParseTargetCookieSubSecondNowRoundsUp(t *testing.T) {
	t.Parallel()
	// The SDKs compare expiries with now rounded up to the second.
	now := time.Unix(1_700_000_000, 1_000_000)
	if got := ParseTargetCookie("session#s#1700000000", now); len(got) != 0 {
		t.Errorf("entry expiring at 1700000000 kept at 1700000000.001: %v", got)
	}
}

func TestNewTargetCookieRoundTrip(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 250_000_000)
	entries := []CookieEntry{
		{Name: "session", Value: "3f1c|#weird value/é", Expires: 1_700_001_861},
		{Name: "PC", Value: "abc.35_0", Expires: 1_763_244_801},
	}
	cookie := NewTargetCookie(entries, now)
	if cookie.Name != TargetCookieName {
		t.Errorf("name %q, want mbox", cookie.Name)
	}
	if want := "session#3f1c%7C%23weird%20value%2F%C3%A9#1700001861|PC#abc.35_0#1763244801"; cookie.Value != want {
		t.Errorf("value %q, want %q", cookie.Value, want)
	}
	// max-age: from now (…000.25) to the latest expiry, rounded up.
	if cookie.MaxAge != 63_244_801 {
		t.Errorf("max-age %d, want 63244801", cookie.MaxAge)
	}
	parsed := ParseTargetCookie(cookie.Value, now)
	for _, e := range entries {
		if parsed[e.Name] != e {
			t.Errorf("entry %q round-tripped to %+v, want %+v", e.Name, parsed[e.Name], e)
		}
	}
	if hc := cookie.HTTPCookie(); hc.Name != "mbox" || hc.MaxAge != cookie.MaxAge || hc.Path != "/" || hc.String() == "" {
		t.Errorf("HTTPCookie %+v", hc)
	}
}

func TestEncodeURIComponentMatchesJavaScript(t *testing.T) {
	t.Parallel()
	// Expected values are what JavaScript's encodeURIComponent returns.
	tests := map[string]string{
		"abcXYZ019":           "abcXYZ019",
		"-_.!~*'()":           "-_.!~*'()",
		"a b":                 "a%20b",
		"a+b":                 "a%2Bb",
		"|#%/?&=:;,@$":        "%7C%23%25%2F%3F%26%3D%3A%3B%2C%40%24",
		"é€":                  "%C3%A9%E2%82%AC",
		"tnt.35_0":            "tnt.35_0",
		"\"<>[]{}`^\\":        "%22%3C%3E%5B%5D%7B%7D%60%5E%5C",
		"3f1c-9a2b-4e5d-8f6a": "3f1c-9a2b-4e5d-8f6a",
	}
	for in, want := range tests {
		if got := encodeURIComponent(in); got != want {
			t.Errorf("encodeURIComponent(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every byte value is escaped or kept as encodeURIComponent does: kept are
// exactly the ASCII letters and digits and -_.!~*'().
func TestURIUnreservedEveryByte(t *testing.T) {
	t.Parallel()
	for c := range 256 {
		b := byte(c)
		want := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || strings.IndexByte("-_.!~*'()", b) >= 0
		if got := uriUnreserved(b); got != want {
			t.Errorf("uriUnreserved(%#02x %q) = %v, want %v", b, b, got, want)
		}
		in := "a" + string([]byte{b}) + "b"
		escaped := string(appendURIComponent(nil, in))
		if want && escaped != in || !want && escaped != fmt.Sprintf("a%%%02Xb", b) {
			t.Errorf("appendURIComponent(%q) = %q", in, escaped)
		}
	}
}

// FuzzParseCookie checks that any cookie value parses without panicking,
// that every entry kept is unexpired and has a name, and that what the
// client writes reads back unchanged.
func FuzzParseCookie(f *testing.F) {
	for _, seed := range []string{
		"",
		"session#abc#1700001860|PC#abc.35_0#1763244800",
		"session#%zz#1|PC#x#9999999999",
		"a#b#c#d|e#f",
		"|||###",
		"session#a%7Cb#99999999999999999999",
		"#%E2%82#1800000000",
	} {
		f.Add(seed, "visitor|value#1")
	}
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, raw, value string) {
		for name, entry := range ParseTargetCookie(raw, now) {
			if name == "" || entry.Name != name {
				t.Fatalf("entry keyed %q has name %q", name, entry.Name)
			}
			if entry.Expires < now.Unix() {
				t.Fatalf("expired entry kept: %+v", entry)
			}
		}
		if strings.ToValidUTF8(value, "") != value {
			return // the SDKs only write valid UTF-8 values
		}
		entry := CookieEntry{Name: "session", Value: value, Expires: now.Unix() + sessionIDMaxAge}
		cookie := NewTargetCookie([]CookieEntry{entry}, now)
		if got := ParseTargetCookie(cookie.Value, now)["session"]; got != entry {
			t.Fatalf("value %q round-tripped to %+v", value, got)
		}
	})
}
