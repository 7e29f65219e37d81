package target

import (
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

const (
	testMCMID = "31817839174716582270412305427436433330"
	testBlob  = "RKhpRz8krg2tLO6pguXWp5olkAcUniQYPHaMWWgdJ3xzPWQmdj0y"
)

func TestParseVisitorCookie(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	future, past := "1800000000", "1600000000"
	tests := []struct {
		name      string
		raw       string
		want      VisitorCookie
		malformed int
	}{
		{"empty", "", VisitorCookie{}, 0},
		{"write test value", "T", VisitorCookie{}, 0},
		{"browser cookie, encoded",
			"-1124106680%7CMCIDTS%7C19000%7CMCMID%7C" + testMCMID + "%7CMCAAMLH-" + future + "%7C9%7CMCAAMB-" + future + "%7C" + testBlob + "%7CMCOPTOUT-" + future + "s%7CNONE%7CMCAID%7CNONE%7CvVersion%7C5.2.0",
			VisitorCookie{MarketingCloudVisitorID: testMCMID, AudienceManagerLocationHint: 9, AudienceManagerBlob: testBlob}, 0},
		{"lower-case escapes", "-1%7cMCMID%7c" + testMCMID, VisitorCookie{MarketingCloudVisitorID: testMCMID}, 0},
		{"raw cookie", "MCMID|" + testMCMID + "|MCAAMLH-" + future + "|12", VisitorCookie{MarketingCloudVisitorID: testMCMID, AudienceManagerLocationHint: 12}, 0},
		{"no digest, trailing key without value", "MCAAMLH|3|MCMID", VisitorCookie{AudienceManagerLocationHint: 3}, 0},
		{"digest and odd fields: the last is dropped", "123|MCMID|" + testMCMID + "|MCAAMB", VisitorCookie{MarketingCloudVisitorID: testMCMID}, 0},
		{"later field wins", "MCMID|first|MCMID|second", VisitorCookie{MarketingCloudVisitorID: "second"}, 0},
		{"expired MCMID not used", "MCMID-" + past + "|" + testMCMID, VisitorCookie{}, 0},
		{"MCMID expiring now not used", "MCMID-1700000000|" + testMCMID, VisitorCookie{}, 0},
		{"MCMID with future expiry used", "MCMID-" + future + "|" + testMCMID, VisitorCookie{MarketingCloudVisitorID: testMCMID}, 0},
		{"expired Audience Manager fields still read", "MCAAMLH-" + past + "|7|MCAAMB-" + past + "|" + testBlob,
			VisitorCookie{AudienceManagerLocationHint: 7, AudienceManagerBlob: testBlob}, 0},
		{"MCMID NONE is no id", "MCMID|NONE", VisitorCookie{}, 0},
		{"opted out", "MCMID|" + testMCMID + "|MCOPTOUT-" + future + "s|global", VisitorCookie{MarketingCloudVisitorID: testMCMID, OptedOut: true}, 0},
		{"opted out, expired entry still honoured", "MCOPTOUT-" + past + "s|global", VisitorCookie{OptedOut: true}, 0},
		{"opt-out categories including global", "MCOPTOUT|aa,global", VisitorCookie{OptedOut: true}, 0},
		{"not opted out", "MCOPTOUT-" + future + "s|NONE", VisitorCookie{}, 0},
		{"bad escape spoils only its pair", "MCMID|" + testMCMID + "|MCAAMB|%zzbad|MCAAMLH|9",
			VisitorCookie{MarketingCloudVisitorID: testMCMID, AudienceManagerLocationHint: 9}, 1},
		{"truncated escape", "MCMID|" + testMCMID + "|MCAAMB|x%E", VisitorCookie{MarketingCloudVisitorID: testMCMID}, 1},
		{"escape of invalid UTF-8", "MCMID|%E0%A4|MCAAMLH|9", VisitorCookie{AudienceManagerLocationHint: 9}, 1},
		{"Node's URIError input", "%E0%A4%A", VisitorCookie{}, 1},
		{"region not a number", "MCAAMLH|nine|MCMID|" + testMCMID, VisitorCookie{MarketingCloudVisitorID: testMCMID}, 1},
		{"expiry not a number", "MCMID-soon|" + testMCMID, VisitorCookie{}, 1},
		{"unknown fields ignored", "MCIDTS|19000|MCSYNCSOP|411-18716|vVersion|5.2.0", VisitorCookie{}, 0},
		{"garbage", "|||%%%\x00\xff|", VisitorCookie{}, 1},
		{"encoded separator inside a double-encoded value stays a value", "MCAAMB|a%257Cb", VisitorCookie{AudienceManagerBlob: "a%7Cb"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ParseVisitorCookie(tt.raw, now)
			if len(got.Malformed) != tt.malformed {
				t.Errorf("ParseVisitorCookie(%q) reported %d malformed parts %q, want %d", tt.raw, len(got.Malformed), got.Malformed, tt.malformed)
			}
			got.Malformed = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseVisitorCookie(%q) = %+v, want %+v", tt.raw, got, tt.want)
			}
		})
	}
}

func TestParseVisitorCookieMalformedNamesThePart(t *testing.T) {
	t.Parallel()
	got := ParseVisitorCookie("-1%7CMCMID%7C1%7CMCAAMB%7C%ZZ"+strings.Repeat("x", 100), time.Now())
	if len(got.Malformed) != 1 {
		t.Fatalf("Malformed = %q, want one part", got.Malformed)
	}
	msg := got.Malformed[0]
	if !strings.Contains(msg, "field 4") || !strings.Contains(msg, "MCAAMB") || !strings.Contains(msg, "percent escape") {
		t.Errorf("message %q does not name the field, its key and what is wrong", msg)
	}
	if len(msg) > 120 {
		t.Errorf("message %q is not shortened", msg)
	}
}

// encodeVisitorCookie writes fields as the Visitor API writes the cookie:
// a settings digest, KEY-EXPIRY|VALUE pairs, URI-component encoded.
func encodeVisitorCookie(mcmid, blob string, hint int, expires int64, optedOut bool) string {
	fields := []string{"-1124106680", "MCMID", mcmid}
	exp := "-" + strconv.FormatInt(expires, 10)
	if blob != "" {
		fields = append(fields, "MCAAMB"+exp, blob)
	}
	if hint != 0 {
		fields = append(fields, "MCAAMLH"+exp, strconv.Itoa(hint))
	}
	optOut := "NONE"
	if optedOut {
		optOut = "global"
	}
	fields = append(fields, "MCOPTOUT"+exp+"s", optOut, "vVersion", "5.2.0")
	return url.PathEscape(strings.Join(fields, "|"))
}

// FuzzParseVisitorCookie checks that any cookie parses without panicking,
// into valid UTF-8 values that hold no field separator, and that a cookie
// written as the Visitor API writes it reads back what was written.
func FuzzParseVisitorCookie(f *testing.F) {
	for _, seed := range []string{
		"", "T", "%E0%A4%A", "|||", "MCMID|NONE", "123|MCMID",
		"-1124106680%7CMCIDTS%7C19000%7CMCMID%7C" + testMCMID + "%7CMCAAMLH-1800000000%7C9%7CMCAAMB-1800000000%7C" + testBlob,
		"MCMID-99999999999999999999|x|MCAAMLH|999999999999|MCOPTOUT|global",
		"%%%MCMID%7C123%7C\xff\x00",
	} {
		f.Add(seed, testMCMID, testBlob, 9, false)
	}
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, raw, mcmid, blob string, hint int, optedOut bool) {
		got := ParseVisitorCookie(raw, now)
		for _, v := range []string{got.MarketingCloudVisitorID, got.AudienceManagerBlob} {
			if !utf8.ValidString(v) || strings.Contains(v, "|") {
				t.Fatalf("ParseVisitorCookie(%q) read the value %q", raw, v)
			}
		}
		if got.MarketingCloudVisitorID == amcvNone || got.AudienceManagerLocationHint < 0 {
			t.Fatalf("ParseVisitorCookie(%q) = %+v", raw, got)
		}

		// Round trip of what the Visitor API writes.
		if mcmid == "" || mcmid == amcvNone || blob == "" || hint <= 0 || hint > 1_000_000 ||
			!utf8.ValidString(mcmid) || !utf8.ValidString(blob) || strings.Contains(mcmid+blob, "|") {
			return // not a value the Visitor API writes
		}
		cookie := encodeVisitorCookie(mcmid, blob, hint, now.Unix()+3600, optedOut)
		back := ParseVisitorCookie(cookie, now)
		want := VisitorCookie{MarketingCloudVisitorID: mcmid, AudienceManagerLocationHint: hint, AudienceManagerBlob: blob, OptedOut: optedOut}
		if !reflect.DeepEqual(back, want) {
			t.Fatalf("cookie %q read back as %+v, want %+v", cookie, back, want)
		}
	})
}

// browserVisitorCookie is a typical AMCV_ cookie as a browser sends it.
const browserVisitorCookie = "-1124106680%7CMCIDTS%7C19000%7CMCMID%7C" + testMCMID +
	"%7CMCAAMLH-1800000000%7C9%7CMCAAMB-1800000000%7C" + testBlob +
	"%7CMCOPTOUT-1800000000s%7CNONE%7CMCAID%7CNONE%7CvVersion%7C5.2.0"

func BenchmarkParseVisitorCookie(b *testing.B) {
	now := time.Unix(1_700_000_000, 0)
	b.ReportAllocs()
	for b.Loop() {
		c := ParseVisitorCookie(browserVisitorCookie, now)
		if c.MarketingCloudVisitorID == "" {
			b.Fatal("no MCMID")
		}
	}
}
