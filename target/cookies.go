package target

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Cookie names used by Adobe Target. The mbox cookie is a composite of
// "name#value#expires" entries joined by "|"; the session and PC entries are
// the ones the client reads and writes.
const (
	// TargetCookieName is the name of the composite Target cookie.
	TargetCookieName = "mbox"
	// LocationHintCookieName is the name of the cookie carrying the edge
	// cluster a visitor was routed to.
	LocationHintCookieName = "mboxEdgeCluster"

	sessionIDEntry = "session"
	deviceIDEntry  = "PC"

	sessionIDMaxAge    = 1860     // seconds, as the official SDKs
	deviceIDMaxAge     = 63244800 // seconds (two years), as the official SDKs
	locationHintMaxAge = 1860     // seconds, as the official SDKs
)

// Cookie is a cookie the caller should set on the visitor's browser: the
// composite Target cookie or the location-hint cookie.
type Cookie struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	// MaxAge is the cookie lifetime in seconds.
	MaxAge int `json:"maxAge"`
}

// HTTPCookie returns c as an *http.Cookie with Path "/" and MaxAge set, ready
// for http.SetCookie.
func (c Cookie) HTTPCookie() *http.Cookie {
	return &http.Cookie{Name: c.Name, Value: c.Value, MaxAge: c.MaxAge, Path: "/"}
}

// CookieEntry is one entry of the composite Target cookie.
type CookieEntry struct {
	Name  string
	Value string
	// Expires is the entry's expiry, a Unix time in seconds.
	Expires int64
}

// ParseTargetCookie parses the value of the composite mbox cookie into its
// entries, keyed by entry name, as the official SDKs do: entries are
// "name#value#expires" separated by "|", name and value are URI-component
// encoded, and entries whose expiry is before now are dropped. Malformed
// entries (too few parts, a non-numeric expiry, a bad escape, invalid UTF-8)
// are ignored; the function never fails and never panics. When two entries
// share a name the later one wins.
func ParseTargetCookie(raw string, now time.Time) map[string]CookieEntry {
	entries := make(map[string]CookieEntry, 2)
	eachTargetCookieEntry(raw, now, func(entry CookieEntry) { entries[entry.Name] = entry })
	return entries
}

// eachTargetCookieEntry calls visit for every valid, unexpired entry of
// raw, in order.
func eachTargetCookieEntry(raw string, now time.Time, visit func(CookieEntry)) {
	if raw == "" {
		return
	}
	nowSeconds := ceilUnixSeconds(now)
	for part := range strings.SplitSeq(raw, "|") {
		entry, ok := parseCookieEntry(part)
		if !ok || nowSeconds > entry.Expires {
			continue
		}
		visit(entry)
	}
}

// sessionAndDeviceID returns the session and PC entries of the Target
// cookie ("" when absent or expired), later entries winning, as
// ParseTargetCookie would give them.
func sessionAndDeviceID(raw string, now time.Time) (sessionID, deviceID string) {
	eachTargetCookieEntry(raw, now, func(entry CookieEntry) {
		switch entry.Name {
		case sessionIDEntry:
			sessionID = entry.Value
		case deviceIDEntry:
			deviceID = entry.Value
		}
	})
	return sessionID, deviceID
}

func parseCookieEntry(part string) (CookieEntry, bool) {
	name, rest, ok := strings.Cut(part, "#")
	if !ok {
		return CookieEntry{}, false
	}
	value, rest, ok := strings.Cut(rest, "#")
	if !ok {
		return CookieEntry{}, false
	}
	// Like the SDKs, only the third field is the expiry; extra fields are ignored.
	expiresText, _, _ := strings.Cut(rest, "#")
	expires, err := strconv.ParseInt(strings.TrimSpace(expiresText), 10, 64)
	if err != nil {
		return CookieEntry{}, false
	}
	decodedName, err := url.PathUnescape(name)
	if err != nil || !utf8.ValidString(decodedName) || decodedName == "" {
		return CookieEntry{}, false
	}
	decodedValue, err := url.PathUnescape(value)
	if err != nil || !utf8.ValidString(decodedValue) {
		return CookieEntry{}, false
	}
	return CookieEntry{Name: decodedName, Value: decodedValue, Expires: expires}, true
}

// NewTargetCookie serializes entries into the composite mbox cookie. Its
// MaxAge is the time from now to the latest entry expiry, rounded up to the
// second, as the official SDKs compute it.
func NewTargetCookie(entries []CookieEntry, now time.Time) Cookie {
	var buf [160]byte // a session and a PC entry fit: one allocation, the value
	b := buf[:0]
	maxExpires := int64(math.MinInt64)
	for i, entry := range entries {
		if i > 0 {
			b = append(b, '|')
		}
		b = appendURIComponent(b, entry.Name)
		b = append(b, '#')
		b = appendURIComponent(b, entry.Value)
		b = append(b, '#')
		b = strconv.AppendInt(b, entry.Expires, 10)
		maxExpires = max(maxExpires, entry.Expires)
	}
	maxAge := 0
	if len(entries) > 0 {
		nowMillis := now.UnixMilli()
		diff := maxExpires*1000 - nowMillis
		if diff < 0 {
			diff = -diff
		}
		maxAge = int((diff + 999) / 1000)
	}
	return Cookie{Name: TargetCookieName, Value: string(b), MaxAge: maxAge}
}

// ceilUnixSeconds is now in Unix seconds rounded up, as the SDKs compare expiries.
func ceilUnixSeconds(now time.Time) int64 {
	millis := now.UnixMilli()
	seconds := millis / 1000
	if millis%1000 > 0 {
		seconds++
	}
	return seconds
}

// encodeURIComponent escapes s as JavaScript's encodeURIComponent does, so
// cookies written by this client are read back by the JavaScript libraries.
func encodeURIComponent(s string) string {
	for i := 0; i < len(s); i++ {
		if !uriUnreserved(s[i]) {
			return string(appendURIComponent(make([]byte, 0, len(s)*3), s))
		}
	}
	return s
}

// appendURIComponent appends s to b escaped as encodeURIComponent escapes it,
// each run of unreserved bytes (most of a cookie's ids) in one append.
func appendURIComponent(b []byte, s string) []byte {
	const hexDigits = "0123456789ABCDEF"
	for {
		i := 0
		for i < len(s) && uriUnreserved(s[i]) {
			i++
		}
		b = append(b, s[:i]...)
		if i == len(s) {
			return b
		}
		c := s[i]
		b = append(b, '%', hexDigits[c>>4], hexDigits[c&0x0f])
		s = s[i+1:]
	}
}

// uriUnreserved reports whether encodeURIComponent leaves c as it is: an
// ASCII letter or digit, or one of -_.!~*'(). The set is two 64-bit masks,
// of the bytes below 64 and of those from 64 to 127, so that the test
// inlines into the loops above.
func uriUnreserved(c byte) bool {
	const (
		below64 = 1<<'!' | 1<<'\'' | 1<<'(' | 1<<')' | 1<<'*' | 1<<'-' | 1<<'.' | (1<<10-1)<<'0'
		from64  = (1<<26-1)<<('A'-64) | 1<<('_'-64) | (1<<26-1)<<('a'-64) | 1<<('~'-64)
	)
	switch {
	case c < 64:
		return below64>>c&1 != 0
	case c < 128:
		return from64>>(c-64)&1 != 0
	}
	return false
}
