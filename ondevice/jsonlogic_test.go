package ondevice

import (
	"encoding/json"
	"testing"

	"github.com/targetflow/targetflow/internal/jsonlogic"
)

func testScope() *ruleScope {
	rc := newRequestContext(mustTime("2020-03-25T01:05:00Z"), nil)
	rc.userAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:73.0) Gecko/20100101 Firefox/73.0"
	rc.pageURL = "https://www.Example.co.uk/Shop/Item?Color=Red#Top"
	lat := 48.85
	rc.geo = geoContext{country: "FR", latitude: &lat}
	ds := &detailScope{rc: &rc, params: map[string]string{"foo": "Bar", "n": "42", "favorite.color": "Blue"}}
	return &ruleScope{ds: ds, allocation: 42.5}
}

// TestRuleVars reads every variable of the rule context through ruleVar
// and, for the same rules, through the generic data of Root (the paths
// ruleVar does not resolve): both agree with what the SDKs build.
func TestRuleVars(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rule string
		want bool
	}{
		{`{"==": [{"var": "mbox.foo"}, "Bar"]}`, true},
		{`{"==": [{"var": "mbox.foo_lc"}, "bar"]}`, true},
		{`{"==": [{"var": "mbox.n"}, 42]}`, true},
		{`{"==": [{"var": "mbox.favorite.color_lc"}, "blue"]}`, true},
		{`{"==": [{"var": "mbox.zzz"}, null]}`, true},
		{`{"==": [{"var": ["mbox.zzz", "dflt"]}, "dflt"]}`, true},
		{`{"==": [{"var": "page.url"}, "https://www.Example.co.uk/Shop/Item?Color=Red#Top"]}`, true},
		{`{"==": [{"var": "page.domain"}, "example.co.uk"]}`, true},
		{`{"==": [{"var": "page.subdomain"}, ""]}`, true},
		{`{"==": [{"var": "page.topLevelDomain"}, "co.uk"]}`, true},
		{`{"==": [{"var": "page.path"}, "/Shop/Item"]}`, true},
		{`{"==": [{"var": "page.path_lc"}, "/shop/item"]}`, true},
		{`{"==": [{"var": "page.query_lc"}, "color=red"]}`, true},
		{`{"==": [{"var": "page.fragment"}, "Top"]}`, true},
		{`{"==": [{"var": "page.nope"}, null]}`, true},
		{`{"==": [{"var": "referring.url"}, ""]}`, true},
		{`{"==": [{"var": "user.browserType"}, "firefox"]}`, true},
		{`{"==": [{"var": "user.platform"}, "windows"]}`, true},
		{`{"==": [{"var": "user.browserVersion"}, 73]}`, true},
		{`{"==": [{"var": "user.locale"}, "en"]}`, true},
		{`{"==": [{"var": "user.nope"}, null]}`, true},
		{`{"==": [{"var": "current_day"}, 3]}`, true},
		{`{"==": [{"var": "current_time"}, "0105"]}`, true},
		{`{"==": [{"var": "current_timestamp"}, 1585098300000]}`, true},
		{`{"==": [{"var": "allocation"}, 42.5]}`, true},
		{`{"==": [{"var": "geo.country"}, "FR"]}`, true},
		{`{"==": [{"var": "geo.city"}, null]}`, true},
		{`{"==": [{"var": ["geo.city", "none"]}, "none"]}`, true},
		{`{"==": [{"var": "geo.latitude"}, 48.85]}`, true},
		{`{"==": [{"var": "geo.longitude"}, null]}`, true},
		{`{"==": [{"var": "geo.nope"}, null]}`, true},
		{`{"missing": ["mbox.foo", "mbox.zzz"]}`, true},
		{`{"!": {"missing": ["mbox.foo", "geo.country"]}}`, true},
		{`{"!": {"missing": ["mbox.foo", "mbox.zzz"]}}`, false},
		{`{"==": [{"var": ""}, null]}`, false},
	}
	for _, tt := range tests {
		var node any
		if err := json.Unmarshal([]byte(tt.rule), &node); err != nil {
			t.Fatalf("%s: %v", tt.rule, err)
		}
		for _, v := range []struct {
			name string
			vars jsonlogic.Vars
		}{{"ruleVar", ruleVar}, {"Root", nil}} {
			p, err := jsonlogic.Compile(node, v.vars)
			if err != nil {
				t.Fatalf("%s: %v", tt.rule, err)
			}
			if got := p(testScope()); got != tt.want {
				t.Errorf("%s through %s = %v; want %v", tt.rule, v.name, got, tt.want)
			}
		}
	}
}

func TestEveryOperatorOfTheSuitesCompiles(t *testing.T) {
	t.Parallel()
	for _, file := range sdktestingArtifacts(t) {
		a, err := ParseArtifact(file.data, nil)
		if err != nil {
			continue
		}
		if s := a.Skipped(); len(s) > 0 {
			t.Errorf("%s: skipped rules %+v", file.name, s)
		}
	}
}
