package target

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// The Experience Cloud ID service (the Visitor API, VisitorAPI.js) keeps a
// visitor's identity in the AMCV_{organization id} cookie:
//
//	-1124106680|MCIDTS|19000|MCMID|31817839174716582270412305427436433330|MCAAMLH-1640000000|9|MCAAMB-1640000000|RKhpRz8krg2tLO6pguXWp5olkAcUniQYPHaMWWgdJ3xzPWQmdj0y|MCOPTOUT-1639402400s|NONE|vVersion|5.2.0
//
// URI-component encoded in the browser (every "|" written "%7C"). A leading
// all-digits field is a digest of the library's settings; the rest are
// KEY[-EXPIRY[s]]|VALUE pairs, EXPIRY a Unix time in seconds after which the
// field must be fetched again, "s" marking a field that also ends with the
// browser session.

// Fields of the AMCV cookie the client reads.
const (
	amcvMarketingCloudVisitorID = "MCMID"
	amcvAudienceManagerHint     = "MCAAMLH"
	amcvAudienceManagerBlob     = "MCAAMB"
	amcvOptOut                  = "MCOPTOUT"

	// amcvNone is the Visitor API's "no value" (an MCMID of NONE is no id;
	// an MCOPTOUT of NONE means not opted out).
	amcvNone = "NONE"
	// amcvOptOutGlobal is the opt-out category of a visitor opted out of
	// every Experience Cloud solution.
	amcvOptOutGlobal = "global"
)

// VisitorCookie is what the visitor's AMCV_ cookie says, as the client
// reads it for GetOffersOptions.VisitorCookie.
type VisitorCookie struct {
	// MarketingCloudVisitorID is the visitor's Experience Cloud ID (the MCMID
	// field): "" when the cookie has none, when its entry has expired (the
	// Visitor API would fetch a new one), or when it is "NONE".
	MarketingCloudVisitorID string
	// AudienceManagerLocationHint is the visitor's Audience Manager region
	// (MCAAMLH), 0 when absent. Like the Visitor API, which keeps using
	// these while it refreshes them, an expired hint or blob is still read.
	AudienceManagerLocationHint int
	// AudienceManagerBlob is the visitor's Audience Manager blob (MCAAMB).
	AudienceManagerBlob string
	// OptedOut is true when the MCOPTOUT field says the visitor opted out of
	// the Experience Cloud ("global"). It is honoured whatever its expiry:
	// the server cannot ask the ID service again, and an opt-out must not be
	// lost to a stale cache entry. The client sends none of the cookie's
	// ids or Audience Manager data for an opted-out visitor.
	OptedOut bool
	// Malformed describes each part of the cookie that was ignored (a bad
	// percent escape, invalid UTF-8, an expiry or region that is not a
	// number), in order; nil when there was none.
	Malformed []string
}

// ParseVisitorCookie reads the value of an AMCV_ cookie, raw or
// URI-component encoded, as the Visitor API reads it: fields after the
// settings digest are KEY[-EXPIRY]|VALUE pairs, a later field replaces an
// earlier one of the same name, and expiries are compared with now. It
// never fails: where the Node.js SDK throws "URIError: URI malformed" for
// the whole cookie, a malformed pair is ignored and described in Malformed,
// and every other field is still read.
func ParseVisitorCookie(value string, now time.Time) VisitorCookie {
	var c VisitorCookie
	if value == "" || value == "T" { // "T" is the Visitor API's cookie-write test value
		return c
	}
	sc := newAMCVScanner(value)
	first, firstEscaped, _ := sc.next()
	key, keyEscaped, position := first, firstEscaped, 0
	if digest, ok := sc.decode(first, firstEscaped); ok && isSettingsDigest(digest) {
		var ok bool
		if key, keyEscaped, ok = sc.next(); !ok {
			return c
		}
		position = 1
	}
	nowSeconds := now.Unix()
	var mcmid, hint, blob, optOut amcvField
	for ; ; position += 2 {
		val, valEscaped, hasValue := sc.next()
		k, okKey := sc.decode(key, keyEscaped)
		if !hasValue {
			// A trailing key without a value, which the Visitor API drops.
			if !okKey {
				c.malformed(position, key, "bad percent escape or invalid UTF-8")
			}
			break
		}
		name, expiry, _ := strings.Cut(k, "-")
		expiry, _, _ = strings.Cut(expiry, "-")
		var field *amcvField
		switch name {
		case amcvMarketingCloudVisitorID:
			field = &mcmid
		case amcvAudienceManagerHint:
			field = &hint
		case amcvAudienceManagerBlob:
			field = &blob
		case amcvOptOut:
			field = &optOut
		}
		v, okValue := sc.decode(val, valEscaped)
		switch {
		case !okKey || !okValue:
			c.malformed(position, key, "bad percent escape or invalid UTF-8")
		case field == nil:
			// A field the client does not use (MCIDTS, MCAID, MCCIDH, vVersion ...).
		default:
			if expires, ok := parseAMCVExpiry(expiry); ok {
				*field = amcvField{value: v, expires: expires, set: true}
			} else {
				c.malformed(position, key, "expiry is not a Unix time")
			}
		}
		var more bool
		if key, keyEscaped, more = sc.next(); !more {
			break
		}
	}

	if mcmid.set && mcmid.value != amcvNone && !mcmid.expired(nowSeconds) {
		c.MarketingCloudVisitorID = mcmid.value
	}
	if hint.set && hint.value != "" {
		if n, ok := parseAMCVRegion(hint.value); ok {
			c.AudienceManagerLocationHint = n
		} else {
			c.malformed(-1, amcvAudienceManagerHint+"|"+hint.value, "region is not a number")
		}
	}
	if blob.set {
		c.AudienceManagerBlob = blob.value
	}
	c.OptedOut = optOut.set && strings.Contains(optOut.value, amcvOptOutGlobal)
	return c
}

// amcvScanner splits an AMCV_ cookie into its fields without copying: they
// are separated by "|", or by "%7C" in the encoded form.
type amcvScanner struct {
	rest string
	done bool
	// separators are the bytes that may start a separator: "|%" in
	// general, "%" in a cookie without "|" (the encoded form), "|" in one
	// without "%" (the raw form).
	separators string
	// validUTF8 says the whole cookie is valid UTF-8, so that a field
	// without escapes is too.
	validUTF8 bool
}

func newAMCVScanner(s string) amcvScanner {
	sc := amcvScanner{rest: s, separators: "|%", validUTF8: utf8.ValidString(s)}
	switch {
	case strings.IndexByte(s, '|') < 0:
		sc.separators = "%"
	case strings.IndexByte(s, '%') < 0:
		sc.separators = "|"
	}
	return sc
}

// next returns the next field, whether it holds a percent escape (then it
// must be decoded), and false after the last field.
func (sc *amcvScanner) next() (field string, escaped, ok bool) {
	if sc.done {
		return "", false, false
	}
	s := sc.rest
	for i := 0; ; {
		var j int
		if len(sc.separators) == 1 {
			j = strings.IndexByte(s[i:], sc.separators[0])
		} else {
			j = strings.IndexAny(s[i:], sc.separators)
		}
		if j < 0 {
			sc.done = true
			return s, escaped, true
		}
		i += j
		if s[i] == '|' {
			sc.rest = s[i+1:]
			return s[:i], escaped, true
		}
		if i+2 < len(s) && s[i+1] == '7' && (s[i+2] == 'C' || s[i+2] == 'c') {
			sc.rest = s[i+3:]
			return s[:i], escaped, true
		}
		escaped = true
		i++
	}
}

// decode is decodeAMCVPart, without checking again the UTF-8 of a field
// without escapes when the whole cookie is valid.
func (sc *amcvScanner) decode(s string, escaped bool) (string, bool) {
	if !escaped && sc.validUTF8 {
		return s, true
	}
	return decodeAMCVPart(s, escaped)
}

// decodeAMCVPart undoes the URI-component encoding of one field as
// JavaScript's decodeURIComponent does, and reports false where that would
// throw: a "%" that does not start a valid escape, or bytes that are not
// UTF-8. A field without escapes is returned as it is.
func decodeAMCVPart(s string, escaped bool) (string, bool) {
	if !escaped {
		return s, utf8.ValidString(s)
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b != '%' {
			out = append(out, b)
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", false
		}
		out = append(out, hi<<4|lo)
		i += 2
	}
	if !utf8.Valid(out) {
		return "", false
	}
	return string(out), true
}

// amcvField is one KEY[-EXPIRY]|VALUE pair.
type amcvField struct {
	value   string
	expires int64 // Unix seconds; 0: no expiry
	set     bool
}

// expired is the Visitor API's test: the field has an expiry and it has
// passed.
func (f amcvField) expired(nowSeconds int64) bool {
	return f.expires > 0 && nowSeconds >= f.expires
}

// malformed records an ignored part: at is its position among the cookie's
// fields (-1 when it is a value found wanting after parsing).
func (c *VisitorCookie) malformed(at int, part, reason string) {
	const maxShown = 48
	shown := part
	if len(shown) > maxShown {
		shown = strings.ToValidUTF8(shown[:maxShown], "") + "…"
	}
	if at < 0 {
		c.Malformed = append(c.Malformed, fmt.Sprintf("%q: %s", shown, reason))
		return
	}
	c.Malformed = append(c.Malformed, fmt.Sprintf("field %d %q: %s", at+1, shown, reason))
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// isSettingsDigest is the Visitor API's /^[\-0-9]+$/.
func isSettingsDigest(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '-' {
			return false
		}
	}
	return true
}

// parseAMCVExpiry reads the EXPIRY of KEY-EXPIRY: digits, optionally
// followed by the session flag "s". No expiry at all is 0.
func parseAMCVExpiry(s string) (int64, bool) {
	s = strings.TrimSuffix(s, "s")
	if s == "" {
		return 0, true
	}
	if len(s) > 15 { // beyond any Unix time in seconds
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// parseAMCVRegion reads an Audience Manager region: a positive number.
func parseAMCVRegion(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, n > 0
}
