package jsonlogic

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

func decodeJSON(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return v
}

// show renders a value unambiguously: strings quoted, numbers as
// JavaScript prints them, arrays with their elements shown.
func show(v Value) string {
	switch v.k {
	case KindString:
		b, _ := json.Marshal(v.s)
		return string(b)
	case KindArray:
		parts := make([]string, len(v.arr))
		for i, e := range v.arr {
			parts[i] = show(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case KindObject:
		return "{object}"
	}
	return v.String()
}

// testData is the data the table's rules read.
const testData = `{"a": 1, "b": {"c": "x", "d": [10, 20]}, "s": "hello", "n": "42", "z": 0, "e": "",
	"nil": null, "arr": [1, "2", 3], "strs": ["a", "b"], "obj": {"k": true}, "items": [{"p": 2}, {"p": 5}]}`

// operatorTests are rules and their values against testData, as
// json-logic-js 2.0.2 evaluates them.
var operatorTests = []struct {
	rule, want string
}{
	// logic.go
	{`{"and": [true, 1, "x"]}`, `"x"`},
	{`{"and": [true, 0, "x"]}`, `0`},
	{`{"and": []}`, `undefined`},
	{`{"or": [false, 0, "x"]}`, `"x"`},
	{`{"or": [false, []]}`, `[]`},
	{`{"or": []}`, `undefined`},
	{`{"!": [[]]}`, `true`},
	{`{"!": []}`, `true`},
	{`{"!": {"var": "a"}}`, `false`},
	{`{"!!": ["0"]}`, `true`},
	{`{"!!": [[]]}`, `false`},
	{`{"if": [false, "no", true, "yes", "else"]}`, `"yes"`},
	{`{"if": [false, "no", 0, "zero", "else"]}`, `"else"`},
	{`{"if": [false, "no"]}`, `null`},
	{`{"if": []}`, `null`},
	{`{"?:": [false, 1, 2]}`, `2`},
	// compare.go
	{`{"==": [1, 1]}`, `true`},
	{`{"==": [1, "1"]}`, `true`},
	{`{"==": [0, false]}`, `true`},
	{`{"==": ["", 0]}`, `true`},
	{`{"==": [null, 0]}`, `false`},
	{`{"==": [null, {"var": "nothing"}]}`, `true`},
	{`{"==": [[1, 2], "1,2"]}`, `true`},
	{`{"==": [[{}], {"var": "obj"}]}`, `false`},
	{`{"==": [{"var": "obj"}, {"var": "obj"}]}`, `true`},
	{`{"==": [{"var": "obj"}, "[object Object]"]}`, `true`},
	{`{"==": [" 12 ", 12]}`, `true`},
	{`{"==": ["0x1F", 31]}`, `true`},
	{`{"==": ["1e400", {"/": [1, 0]}]}`, `true`},
	{`{"==": ["abc", "abc"]}`, `true`},
	{`{"==": ["chrome", {"var": "s"}]}`, `false`},
	{`{"==": [{"var": "n"}, "42"]}`, `true`},
	{`{"==": [true, "1"]}`, `true`},
	{`{"==": [1]}`, `false`},
	{`{"===": [1, "1"]}`, `false`},
	{`{"===": ["a", "a"]}`, `true`},
	{`{"===": [null, {"var": "nothing"}]}`, `true`},
	{`{"===": [[1], [1]]}`, `false`},
	{`{"!=": ["a", "b"]}`, `true`},
	{`{"!==": [1, 1]}`, `false`},
	{`{"!==": [1, "1"]}`, `true`},
	{`{"<": [1, 2]}`, `true`},
	{`{"<": ["10", 9]}`, `false`},
	{`{"<": ["10", "9"]}`, `true`},
	{`{"<": ["a", "b"]}`, `true`},
	{`{"<": ["\uffff", "😀"]}`, `false`},
	{`{"<": [1, 2, 3]}`, `true`},
	{`{"<": [1, 3, 3]}`, `false`},
	{`{"<=": [1, 3, 3]}`, `true`},
	{`{"<": [1, 2, {"and": []}]}`, `true`},
	{`{">": [3, 2, 5]}`, `true`},
	{`{"<": [{"var": "nothing"}, 1]}`, `true`},
	{`{"<": ["abc", 1]}`, `false`},
	{`{">=": ["abc", "abc"]}`, `true`},
	{`{"<": [[2], 10]}`, `true`},
	{`{">": [{"var": "a"}, 0]}`, `true`},
	{`{"<=": [0, {"var": "z"}]}`, `true`},
	{`{">": ["5", 4]}`, `true`},
	{`{"<": [4, "x"]}`, `false`},
	{`{">=": [4, null]}`, `true`},
	// arithmetic.go
	{`{"+": ["1", 2]}`, `3`},
	{`{"+": ["12px", 1]}`, `13`},
	{`{"+": [null, 1]}`, `NaN`},
	{`{"+": []}`, `0`},
	{`{"+": ["3.5"]}`, `3.5`},
	{`{"+": [" -.5e1x"]}`, `-5`},
	{`{"+": ["-Infinityx"]}`, `-Infinity`},
	{`{"*": [2, "3"]}`, `6`},
	{`{"*": ["3"]}`, `"3"`},
	{`{"*": [2, true]}`, `NaN`},
	{`{"-": [5]}`, `-5`},
	{`{"-": ["5", 2]}`, `3`},
	{`{"-": [5, {"and": []}]}`, `-5`},
	{`{"-": []}`, `NaN`},
	{`{"/": [1, 4]}`, `0.25`},
	{`{"/": [1]}`, `NaN`},
	{`{"/": [-1, 0]}`, `-Infinity`},
	{`{"%": [7, 4]}`, `3`},
	{`{"%": [-7, 4]}`, `-3`},
	{`{"%": [7, 0]}`, `NaN`},
	{`{"max": [1, 3, 2]}`, `3`},
	{`{"max": [1, "a"]}`, `NaN`},
	{`{"max": []}`, `-Infinity`},
	{`{"min": ["4", 2, null]}`, `0`},
	{`{"min": []}`, `Infinity`},
	{`{"+": [0.1, 0.2]}`, `0.30000000000000004`},
	{`{"*": [1e21, 1]}`, `1e+21`},
	{`{"/": [1, 3e7]}`, `3.3333333333333334e-8`},
	// strings.go
	{`{"cat": ["a", 1, true, null, [1, [2, null]], {"var": "nothing"}]}`, `"a1true1,2,"`},
	{`{"cat": []}`, `""`},
	{`{"cat": "x"}`, `"x"`},
	{`{"cat": [{"var": "obj"}]}`, `"[object Object]"`},
	{`{"substr": ["jsonlogic", 4]}`, `"logic"`},
	{`{"substr": ["jsonlogic", -5]}`, `"logic"`},
	{`{"substr": ["jsonlogic", 1, 3]}`, `"son"`},
	{`{"substr": ["jsonlogic", -5, 3]}`, `"log"`},
	{`{"substr": ["jsonlogic", 4, -2]}`, `"log"`},
	{`{"substr": ["jsonlogic", 4, -20]}`, `""`},
	{`{"substr": ["0x1F", null, -0.5]}`, `"0x1"`},
	{`{"substr": ["abcd", 1, -1.5]}`, `"b"`},
	{`{"substr": ["jsonlogic", 1e300]}`, `""`},
	{`{"substr": ["jsonlogic", -1e300, 2]}`, `"js"`},
	{`{"substr": ["jsonlogic", "x", 2]}`, `"js"`},
	{`{"substr": ["jsonlogic", 0, "x"]}`, `""`},
	{`{"substr": ["jsonlogic", 0, null]}`, `""`},
	{`{"substr": ["😀ab", 2]}`, `"ab"`},
	{`{"substr": [12345, 1, 2]}`, `"23"`},
	{`{"substr": []}`, `"undefined"`},
	// arrays.go
	{`{"in": ["Spring", "Springfield"]}`, `true`},
	{`{"in": ["x", ""]}`, `false`},
	{`{"in": [1, "a1"]}`, `true`},
	{`{"in": ["b", ["a", "b"]]}`, `true`},
	{`{"in": [1, ["1"]]}`, `false`},
	{`{"in": ["k", {"var": "obj"}]}`, `false`},
	{`{"in": [1, 1]}`, `false`},
	{`{"in": ["a"]}`, `false`},
	{`{"merge": [1, [2, [3]], []]}`, `[1,2,[3]]`},
	{`{"merge": []}`, `[]`},
	{`{"all": [[1, 2], {">": [{"var": ""}, 0]}]}`, `true`},
	{`{"all": [[1, 0], {"var": ""}]}`, `false`},
	{`{"all": [[], true]}`, `false`},
	{`{"all": ["ab", true]}`, `false`},
	{`{"some": [{"var": "items"}, {">": [{"var": "p"}, 4]}]}`, `true`},
	{`{"some": [[], true]}`, `false`},
	{`{"none": [{"var": "items"}, {">": [{"var": "p"}, 5]}]}`, `true`},
	{`{"none": [[], true]}`, `true`},
	{`{"none": [[0, 1], {"var": ""}]}`, `false`},
	{`{"filter": [{"var": "arr"}, {"==": [{"var": ""}, 2]}]}`, `["2"]`},
	{`{"filter": [5, true]}`, `[]`},
	{`{"map": [{"var": "items"}, {"*": [{"var": "p"}, 2]}]}`, `[4,10]`},
	{`{"map": [[1, 2]]}`, `[undefined,undefined]`},
	{`{"map": [null, 1]}`, `[]`},
	{`{"reduce": [{"var": "arr"}, {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]}`, `6`},
	{`{"reduce": [[1, 2], {"var": "accumulator"}]}`, `null`},
	{`{"reduce": [3, {"var": "current"}, "init"]}`, `"init"`},
	{`{"reduce": [[2, 3], {"cat": [{"var": "accumulator"}, {"var": "current"}]}, {"var": "x"}]}`, `"[object Object]23"`},
	{`{"reduce": [[[1], [2, 3]], {"merge": [{"var": "accumulator"}, {"var": "current"}]}, []]}`, `[1,2,3]`},
	// data.go
	{`{"var": "a"}`, `1`},
	{`{"var": ["b.c"]}`, `"x"`},
	{`{"var": "b.d.1"}`, `20`},
	{`{"var": "b.d.01"}`, `null`},
	{`{"var": "b.d.length"}`, `2`},
	{`{"var": "s.length"}`, `5`},
	{`{"var": "s.1"}`, `"e"`},
	{`{"var": "nil"}`, `null`},
	{`{"var": ["nil", "dflt"]}`, `null`},
	{`{"var": "nil.x"}`, `null`},
	{`{"var": ["nothing", "dflt"]}`, `"dflt"`},
	{`{"var": ["nothing", {"and": []}]}`, `null`},
	{`{"var": ["a.b.c", 7]}`, `7`},
	{`{"var": "nothing"}`, `null`},
	{`{"var": ""}`, `{object}`},
	{`{"var": []}`, `{object}`},
	{`{"var": null}`, `{object}`},
	{`{"var": [{"cat": ["b", ".", "c"]}]}`, `"x"`},
	{`{"var": [{"var": "nothing"}]}`, `{object}`},
	{`{"var": 1}`, `null`},
	{`{"var": [["s"]]}`, `"hello"`},
	{`{"missing": ["a", "nothing", "e", "nil", "b.c"]}`, `["nothing","e","nil"]`},
	{`{"missing": [["a", "x"], "y"]}`, `["x"]`},
	{`{"missing": {"merge": ["a", ["q"]]}}`, `["q"]`},
	{`{"missing": []}`, `[]`},
	{`{"missing_some": [1, ["a", "x"]]}`, `[]`},
	{`{"missing_some": [2, ["a", "x", "y"]]}`, `["x","y"]`},
	{`{"missing_some": [0, []]}`, `[]`},
	{`{"missing_some": ["1", ["x", "a"]]}`, `[]`},
	{`{"missing_some": [1, "x"]}`, `["x"]`},
	{`{"missing_some": [1, "a"]}`, `[]`},
	{`{"missing_some": [1, 5]}`, `[5]`},
	// misc.go
	{`{"log": "apple"}`, `"apple"`},
	{`{"log": []}`, `undefined`},
	// literals and data
	{`true`, `true`},
	{`"x"`, `"x"`},
	{`null`, `null`},
	{`[1, {"var": "a"}]`, `[1,1]`},
	{`{"a": 1, "b": 2}`, `{object}`},
	{`{}`, `{object}`},
}

func TestOperators(t *testing.T) {
	t.Parallel()
	data := ValueOf(decodeJSON(t, testData))
	for _, tt := range operatorTests {
		rule := decodeJSON(t, tt.rule)
		e, err := CompileExpr(rule, nil)
		if err != nil {
			t.Errorf("%s: %v", tt.rule, err)
			continue
		}
		v := e(data)
		if got := show(v); got != tt.want {
			t.Errorf("%s = %s; want %s", tt.rule, got, tt.want)
		}
		// The Predicate (what rules run) is the value's JavaScript truth.
		p, err := Compile(rule, nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.rule, err)
		}
		if got := p(data); got != v.jsTruthy() {
			t.Errorf("predicate %s = %v; its value %s", tt.rule, got, tt.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rule, op, path, message string
	}{
		{`{"regex": ["a", "b"]}`, "regex", "", `json-logic operator "regex": not a json-logic operator`},
		{`{"and": [true, {"nope": 1}]}`, "nope", "and[1]", `json-logic operator "nope" at and[1]: not a json-logic operator`},
		{`{"or": [true, {"!": [{"x": 1}]}]}`, "x", "or[1].![0]", ""},
		{`{"==": [{"var": [{"y": 1}]}, 1]}`, "y", "==[0].var[0]", ""},
		{`{"var": ["a", {"z": 1}]}`, "z", "var[1]", ""},
		{`{"map": [[1], {"w": 1}]}`, "w", "map[1]", ""},
		{`[1, {"v": 1}]`, "v", "[1]", ""},
		{`{"*": []}`, "*", "", `json-logic operator "*": needs at least 1 argument`},
		{`{"if": [true, 1, {"*": []}]}`, "*", "if[2]", ""},
	}
	for _, tt := range tests {
		rule := decodeJSON(t, tt.rule)
		for _, compile := range []func(any) error{
			func(r any) error { _, err := Compile(r, nil); return err },
			func(r any) error { _, err := CompileExpr(r, nil); return err },
		} {
			err := compile(rule)
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Errorf("%s: %v; want a *CompileError", tt.rule, err)
				continue
			}
			if ce.Op != tt.op || ce.Path != tt.path {
				t.Errorf("%s: op %q at %q; want %q at %q", tt.rule, ce.Op, ce.Path, tt.op, tt.path)
			}
			if tt.message != "" && err.Error() != tt.message {
				t.Errorf("%s: %q; want %q", tt.rule, err, tt.message)
			}
		}
	}
	// What json-logic-js ignores is not compiled: a scoped operator's extra
	// arguments, reduce's initial value (taken literally).
	for _, rule := range []string{`{"map": [[1], 1, {"nope": 1}]}`, `{"reduce": [[1], 1, {"nope": 1}]}`} {
		if _, err := CompileExpr(decodeJSON(t, rule), nil); err != nil {
			t.Errorf("%s: %v", rule, err)
		}
	}
}

func TestNumberConversions(t *testing.T) {
	t.Parallel()
	nan := math.NaN()
	tests := []struct {
		in              string
		number, float64 float64 // ToNumber, parseFloat
	}{
		{"", 0, nan},
		{"  ", 0, nan},
		{"\u00a0\ufeff7\u2028", 7, 7},
		{"\u00857", nan, nan},
		{"42", 42, 42},
		{"-4.5e1", -45, -45},
		{".5", 0.5, 0.5},
		{"5.", 5, 5},
		{"+.5e-1", 0.05, 0.05},
		{".", nan, nan},
		{"1e", nan, 1},
		{"1e+", nan, 1},
		{"12px", nan, 12},
		{"0x1F", 31, 0},
		{"0X1f", 31, 0},
		{"0o17", 15, 0},
		{"0b101", 5, 0},
		{"0x", nan, 0},
		{"-0x10", nan, -0},
		{"0x1G", nan, 0},
		{"0x1FFFFFFFFFFFFFFFF", 36893488147419103231, 0},
		{"0x1FFFFFFFFFFFFFFFZ", nan, 0},
		{"Infinity", math.Inf(1), math.Inf(1)},
		{"-Infinity", math.Inf(-1), math.Inf(-1)},
		{"-Infinityx", nan, math.Inf(-1)},
		{"infinity", nan, nan},
		{"NaN", nan, nan},
		{"1e400", math.Inf(1), math.Inf(1)},
		{"-1e400", math.Inf(-1), math.Inf(-1)},
		{"1e-400", 0, 0},
		{"1_000", nan, 1},
		{"--1", nan, nan},
		{"abc", nan, nan},
	}
	same := func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
	for _, tt := range tests {
		if got := stringToNumber(tt.in); !same(got, tt.number) {
			t.Errorf("Number(%q) = %v; want %v", tt.in, got, tt.number)
		}
		if got := parseFloat(tt.in); !same(got, tt.float64) {
			t.Errorf("parseFloat(%q) = %v; want %v", tt.in, got, tt.float64)
		}
	}
}

func TestFormatNumber(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    float64
		want string
	}{
		{0, "0"}, {math.Copysign(0, -1), "0"}, {1, "1"}, {-1.5, "-1.5"}, {0.30000000000000004, "0.30000000000000004"},
		{1e21, "1e+21"}, {123456789012345680000, "123456789012345680000"}, {1e-6, "0.000001"},
		{1e-7, "1e-7"}, {1.5e-10, "1.5e-10"}, {-2e22, "-2e+22"}, {math.MaxFloat64, "1.7976931348623157e+308"},
		{5e-324, "5e-324"}, {math.NaN(), "NaN"}, {math.Inf(1), "Infinity"}, {math.Inf(-1), "-Infinity"},
	}
	for _, tt := range tests {
		if got := FormatNumber(tt.n); got != tt.want {
			t.Errorf("FormatNumber(%v) = %q; want %q", tt.n, got, tt.want)
		}
	}
}

// scope is a caller's own data: two variables read directly, the rest
// from its Root.
type scope struct {
	allocation float64
	browser    string
	city       string // "" is absent
	root       Value
}

func (s *scope) Root() Value { return s.root }

func scopeVars(path string) (func(Data) Value, bool) {
	switch path {
	case "allocation":
		return func(d Data) Value { return Number(d.(*scope).allocation) }, true
	case "user.browserType":
		return func(d Data) Value { return String(d.(*scope).browser) }, true
	case "geo.city":
		return func(d Data) Value {
			if c := d.(*scope).city; c != "" {
				return String(c)
			}
			return Value{}
		}, false
	}
	return nil, false
}

func TestVars(t *testing.T) {
	t.Parallel()
	s := &scope{allocation: 42.5, browser: "chrome", root: ValueOf(decodeJSON(t, `{"mbox": {"tier": "gold", "list": [{"allocation": 1}]}}`))}
	tests := []struct {
		rule, want string
	}{
		{`{"var": "allocation"}`, `42.5`},
		{`{"var": ["allocation", 1]}`, `42.5`},
		{`{"<": [{"var": "allocation"}, 50]}`, `true`},
		{`{"<=": [50, {"var": "allocation"}]}`, `false`},
		{`{"==": ["chrome", {"var": "user.browserType"}]}`, `true`},
		{`{"var": "geo.city"}`, `null`},
		{`{"var": ["geo.city", "Paris"]}`, `"Paris"`},
		{`{"===": [{"var": "geo.city"}, null]}`, `true`},
		{`{"var": "mbox.tier"}`, `"gold"`},
		{`{"var": "mbox.nope"}`, `null`},
		{`{"missing": ["mbox.tier", "mbox.nope"]}`, `["mbox.nope"]`},
		{`{"map": [{"var": "mbox.list"}, {"var": "allocation"}]}`, `[1]`}, // the element's, not the scope's
	}
	for _, tt := range tests {
		e, err := CompileExpr(decodeJSON(t, tt.rule), scopeVars)
		if err != nil {
			t.Fatalf("%s: %v", tt.rule, err)
		}
		if got := show(e(s)); got != tt.want {
			t.Errorf("%s = %s; want %s", tt.rule, got, tt.want)
		}
	}
}

// TestCompiledRulesAreSafeForConcurrentUse evaluates one compiled rule
// from several goroutines (run with -race).
func TestCompiledRulesAreSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	p, err := Compile(decodeJSON(t, `{"and": [{"<": [{"var": "allocation"}, 50]}, {"some": [{"var": "mbox.tiers"}, {"==": [{"var": ""}, "gold"]}]}]}`), scopeVars)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan bool)
	for i := range 4 {
		go func() {
			s := &scope{allocation: float64(i * 20), root: ValueOf(decodeJSON(t, `{"mbox": {"tiers": ["silver", "gold"]}}`))}
			ok := true
			for range 1000 {
				ok = ok && p(s) == (i*20 < 50)
			}
			done <- ok
		}()
	}
	for range 4 {
		if !<-done {
			t.Error("a concurrent evaluation disagreed")
		}
	}
}

// BenchmarkPredicate evaluates a condition of the shape Target's artifacts
// hold: an allocation range and a browser, through Vars.
func BenchmarkPredicate(b *testing.B) {
	p, err := Compile(decodeJSON(b, `{"and": [{"<=": [0, {"var": "allocation"}]}, {"<": [{"var": "allocation"}, 50]},
		{"==": ["chrome", {"var": "user.browserType"}]}]}`), scopeVars)
	if err != nil {
		b.Fatal(err)
	}
	s := &scope{allocation: 20, browser: "chrome"}
	b.ReportAllocs()
	for b.Loop() {
		if !p(s) {
			b.Fatal("false")
		}
	}
}
