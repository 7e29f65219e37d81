package ondevice

import (
	"encoding/json"
	"testing"
)

func evalJSONLogic(t *testing.T, rule string, scope *ruleScope) value {
	t.Helper()
	var node any
	if err := json.Unmarshal([]byte(rule), &node); err != nil {
		t.Fatalf("%s: %v", rule, err)
	}
	c, err := compileCondition(node)
	if err != nil {
		t.Fatalf("%s: compile: %v", rule, err)
	}
	return c(scope)
}

func testScope() *ruleScope {
	rc := newRequestContext(mustTime("2020-03-25T01:05:00Z"), nil)
	rc.userAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:73.0) Gecko/20100101 Firefox/73.0"
	rc.pageURL = "https://www.Example.co.uk/Shop/Item?Color=Red#Top"
	ds := &detailScope{rc: &rc, params: map[string]string{"foo": "Bar", "n": "42", "favorite.color": "Blue"}}
	return &ruleScope{ds: ds, allocation: 42.5}
}

func TestJSONLogicOperators(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rule string
		want bool
	}{
		{`{"==": [1, 1]}`, true},
		{`{"==": [1, "1"]}`, true},
		{`{"===": [1, "1"]}`, false},
		{`{"!=": ["a", "b"]}`, true},
		{`{"!==": [1, 1]}`, false},
		{`{"==": [null, {"var": "nothing"}]}`, true},
		{`{"==": [0, false]}`, true},
		{`{"<": [1, 2]}`, true},
		{`{"<": ["10", 9]}`, false},
		{`{"<": ["a", "b"]}`, true},
		{`{"<": [1, 2, 3]}`, true},
		{`{"<": [1, 3, 3]}`, false},
		{`{"<=": [1, 3, 3]}`, true},
		{`{">": [{"var": "allocation"}, 42]}`, true},
		{`{">=": [42, {"var": "allocation"}]}`, false},
		{`{"<=": [0, {"var": "allocation"}]}`, true},
		{`{"<": [{"var": "nothing"}, 1]}`, true},
		{`{"<": ["abc", 1]}`, false},
		{`{"and": [true, 1, "x"]}`, true},
		{`{"and": [true, 0]}`, false},
		{`{"or": [false, 0, "x"]}`, true},
		{`{"or": []}`, false},
		{`{"!": [[]]}`, true},
		{`{"!!": ["0"]}`, true},
		{`{"in": ["Spring", "Springfield"]}`, true},
		{`{"in": ["x", ""]}`, false},
		{`{"in": ["b", ["a", "b"]]}`, true},
		{`{"in": [1, ["1"]]}`, false},
		{`{"==": [{"cat": ["a", 1, true]}, "a1true"]}`, true},
		{`{"==": [{"substr": ["jsonlogic", -5, 3]}, "log"]}`, true},
		{`{"==": [{"max": [1, 3, 2]}, 3]}`, true},
		{`{"==": [{"+": ["1", 2]}, 3]}`, true},
		{`{"==": [{"-": [5]}, -5]}`, true},
		{`{"==": [{"%": [7, 4]}, 3]}`, true},
		{`{"if": [false, "no", true, "yes", "else"]}`, true},
		{`{"==": [{"?:": [false, 1, 2]}, 2]}`, true},
		{`{"==": [{"var": ["nothing", "dflt"]}, "dflt"]}`, true},
		{`{"==": [{"var": "mbox.foo"}, "Bar"]}`, true},
		{`{"==": [{"var": "mbox.foo_lc"}, "bar"]}`, true},
		{`{"==": [{"var": "mbox.n"}, 42]}`, true},
		{`{"==": [{"var": "mbox.favorite.color_lc"}, "blue"]}`, true},
		{`{"==": [{"var": "page.domain"}, "example.co.uk"]}`, true},
		{`{"==": [{"var": "page.subdomain"}, ""]}`, true},
		{`{"==": [{"var": "page.topLevelDomain"}, "co.uk"]}`, true},
		{`{"==": [{"var": "page.path"}, "/Shop/Item"]}`, true},
		{`{"==": [{"var": "page.path_lc"}, "/shop/item"]}`, true},
		{`{"==": [{"var": "page.query_lc"}, "color=red"]}`, true},
		{`{"==": [{"var": "page.fragment"}, "Top"]}`, true},
		{`{"==": [{"var": "user.browserType"}, "firefox"]}`, true},
		{`{"==": [{"var": "user.platform"}, "windows"]}`, true},
		{`{"==": [{"var": "user.browserVersion"}, 73]}`, true},
		{`{"==": [{"var": "current_day"}, 3]}`, true},
		{`{"==": [{"var": "current_time"}, "0105"]}`, true},
		{`{"==": [{"var": "current_timestamp"}, 1585098300000]}`, true},
		{`{"==": [{"var": "geo.city"}, null]}`, true},
		{`{"==": [{"var": "user.locale"}, "en"]}`, true},
		{`{"missing": ["mbox.foo", "mbox.zzz"]}`, true},
		{`{"==": [{"var": ""}, null]}`, false},
		{`true`, true},
		{`0`, false},
	}
	for _, tt := range tests {
		if got := evalJSONLogic(t, tt.rule, testScope()).jsTruthy(); got != tt.want {
			t.Errorf("%s = %v; want %v", tt.rule, got, tt.want)
		}
		// The predicate form (what rules run) agrees with the value form.
		var node any
		if err := json.Unmarshal([]byte(tt.rule), &node); err != nil {
			t.Fatal(err)
		}
		p, err := compilePredicate(node)
		if err != nil {
			t.Fatalf("%s: %v", tt.rule, err)
		}
		if got := p(testScope()); got != tt.want {
			t.Errorf("predicate %s = %v; want %v", tt.rule, got, tt.want)
		}
	}
	for _, rule := range []string{`{"and": [{"==": [1, 1]}, {"<": [1, 2]}]}`, `{"or": [{"!": [1]}, {"in": ["a", "abc"]}]}`, `{"and": [{"==": [1, 2]}, true]}`} {
		var node any
		if err := json.Unmarshal([]byte(rule), &node); err != nil {
			t.Fatal(err)
		}
		p, err := compilePredicate(node)
		if err != nil {
			t.Fatal(err)
		}
		if want := evalJSONLogic(t, rule, testScope()).jsTruthy(); p(testScope()) != want {
			t.Errorf("predicate %s disagrees with its value (%v)", rule, want)
		}
	}
}

func TestJSONLogicUnsupported(t *testing.T) {
	t.Parallel()
	for _, rule := range []string{`{"regex": ["a", "b"]}`, `{"and": [{"nope": 1}]}`, `{"substr": []}`, `{"/": [1]}`} {
		var node any
		if err := json.Unmarshal([]byte(rule), &node); err != nil {
			t.Fatal(err)
		}
		if _, err := compileCondition(node); err == nil {
			t.Errorf("%s compiled; want an error", rule)
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
