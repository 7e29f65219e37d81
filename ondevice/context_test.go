package ondevice

import (
	"os"
	"testing"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/internal/sdktesting"
)

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

type namedArtifact struct {
	name string
	data []byte
}

func sdktestingArtifacts(t *testing.T) []namedArtifact {
	t.Helper()
	var out []namedArtifact
	for _, f := range sdktesting.ArtifactFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, namedArtifact{sdktesting.ArtifactName(f), data})
	}
	return out
}

func TestBrowserContext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, ua    string
		hints       *delivery.ClientHints
		browser, os string
		version     int
	}{
		{"chrome mac", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_3) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.163 Safari/537.36", nil, "chrome", "mac", 80},
		{"firefox mac", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:73.0) Gecko/20100101 Firefox/73.0", nil, "firefox", "mac", 73},
		{"safari", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_3) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0.5 Safari/605.1.15", nil, "safari", "mac", 13},
		{"mobile safari", "Mozilla/5.0 (iPhone; CPU iPhone OS 13_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0.5 Mobile/15E148 Safari/604.1", nil, "mobile safari", "iOS", 13},
		{"edge", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.163 Safari/537.36 Edg/80.0.361.111", nil, "edge", "windows", 80},
		{"ie11", "Mozilla/5.0 (Windows NT 10.0; Trident/7.0; rv:11.0) like Gecko", nil, "ie", "windows", 11},
		{"msie", "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; Trident/6.0)", nil, "ie", "windows", 10},
		{"android chrome", "Mozilla/5.0 (Linux; Android 10; SM-G973F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/83.0.4103.106 Mobile Safari/537.36", nil, "chrome", "Android", 83},
		{"linux firefox", "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:79.0) Gecko/20100101 Firefox/79.0", nil, "firefox", "linux", 79},
		{"empty", "", nil, "unknown", "unknown", -1},
		{"client hints", "", &delivery.ClientHints{BrowserUAWithMajorVersion: `" Not A;Brand";v="99", "Chromium";v="102", "Google Chrome";v="102"`, Platform: "macOS"}, "chrome", "mac", 102},
	}
	for _, tt := range tests {
		got := browserContext(tt.ua, tt.hints)
		if got.browserType != tt.browser || got.platform != tt.os || got.browserVersion != tt.version || got.locale != "en" {
			t.Errorf("%s: got %+v; want %s %s %d", tt.name, got, tt.browser, tt.os, tt.version)
		}
	}
}

func TestURLContext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url                                     string
		path, query, fragment, sub, domain, tld string
	}{
		{"http://local-target-test:8080/home?bar=true#hello", "/home", "bar=true", "hello", "", "local-target-test", ""},
		{"https://pied.piper.decentralized.test.hooli.com/?implementation=psl", "/", "implementation=psl", "", "pied.piper.decentralized.test", "hooli.com", "com"},
		{"https://test.wayne-enterprises.us-east-1.elasticbeanstalk.com", "", "", "", "test", "wayne-enterprises.us-east-1.elasticbeanstalk.com", "us-east-1.elasticbeanstalk.com"},
		{"https://www.adobe.com/a/b.html", "/a/b.html", "", "", "", "adobe.com", "com"},
		{"https://www.shop.adobe.com/", "/", "", "", "shop", "adobe.com", "com"},
		{"https://user:pw@sub.example.co.uk:443/x?y#z", "/x", "y", "z", "sub", "example.co.uk", "co.uk"},
		{"", "", "", "", "", "", ""},
		{"not a url", "", "", "", "", "not a url", ""},
	}
	for _, tt := range tests {
		c := newURLContext(tt.url)
		got := [6]string{c.values[urlPath], c.values[urlQuery], c.values[urlFragment], c.values[urlSubdomain], c.values[urlDomain], c.values[urlTopLevelDomain]}
		want := [6]string{tt.path, tt.query, tt.fragment, tt.sub, tt.domain, tt.tld}
		if got != want {
			t.Errorf("%q: got %q; want %q", tt.url, got, want)
		}
	}
}

func TestTimingContext(t *testing.T) {
	t.Parallel()
	sunday := newRequestContext(mustTime("2020-03-29T23:59:00Z"), nil)
	if sunday.day != 7 || sunday.timeHHMM != "2359" {
		t.Errorf("sunday: day %d time %s", sunday.day, sunday.timeHHMM)
	}
	monday := newRequestContext(mustTime("2020-03-30T00:07:00+02:00"), nil)
	if monday.day != 7 || monday.timeHHMM != "2207" {
		t.Errorf("timing is UTC: day %d time %s", monday.day, monday.timeHHMM)
	}
}

func TestMboxContextExpandsDottedNames(t *testing.T) {
	t.Parallel()
	m := mboxContext(delivery.Parameters{"a.b.c": "X", "top": "Y", "bad..key": "z", ".lead": "w"})
	if inner, ok := m["a"].(map[string]any)["b"].(map[string]any); !ok || inner["c"] != "X" || inner["c_lc"] != "x" {
		t.Errorf("nested: %v", m)
	}
	if m["top_lc"] != "y" || m["bad..key"] != "z" || m[".lead"] != "w" {
		t.Errorf("flat: %v", m)
	}
}
