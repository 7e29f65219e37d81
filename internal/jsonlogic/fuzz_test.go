package jsonlogic

import (
	"encoding/json"
	"errors"
	"testing"
)

// ruleGenerator builds a json-logic rule from fuzz bytes: every operator,
// with zero to three arguments, over literals chosen to meet JavaScript's
// conversions and over the variables of testData.
type ruleGenerator struct {
	data []byte
	i    int
}

func (g *ruleGenerator) pick(n int) int {
	if g.i >= len(g.data) {
		return 0
	}
	b := g.data[g.i]
	g.i++
	return int(b) % n
}

var (
	generatedOperators = []string{"==", "===", "!=", "!==", "<", "<=", ">", ">=", "!", "!!", "and", "or", "if", "?:",
		"+", "-", "*", "/", "%", "min", "max", "cat", "substr", "in", "merge", "var", "missing", "missing_some", "log",
		"all", "some", "none", "filter", "map", "reduce"}
	generatedLeaves = []any{0.0, 1.0, -1.0, 2.5, 42.0, 10.0, -0.5, 1e21, 3.0, "", "a", "1", "10", " 2 ", "0x1F",
		"abc", "true", "null", "é", "😀", "\uffff", "12px", "-Infinity", "hello", "x", true, false, nil}
	generatedPaths = []any{"a", "b.c", "b.d", "b.d.1", "s", "s.length", "n", "z", "e", "nil", "arr", "arr.1",
		"strs", "obj", "obj.k", "items", "items.0.p", "nothing", "", "current", "accumulator", "p", 1.0, nil}
)

func (g *ruleGenerator) leaf() any {
	switch g.pick(12) {
	case 0:
		arr := make([]any, g.pick(4))
		for i := range arr {
			arr[i] = generatedLeaves[g.pick(len(generatedLeaves))]
		}
		return arr
	case 1:
		return map[string]any{"var": generatedPaths[g.pick(len(generatedPaths))]}
	}
	return generatedLeaves[g.pick(len(generatedLeaves))]
}

func (g *ruleGenerator) rule(depth int) any {
	if depth <= 0 || g.pick(4) == 0 {
		return g.leaf()
	}
	op := generatedOperators[g.pick(len(generatedOperators))]
	var args []any
	switch op {
	case "var":
		args = []any{generatedPaths[g.pick(len(generatedPaths))]}
		if g.pick(3) == 0 {
			args = append(args, g.rule(depth-1))
		}
	case "missing", "missing_some":
		keys := make([]any, g.pick(4))
		for i := range keys {
			keys[i] = generatedPaths[g.pick(len(generatedPaths))]
		}
		args = []any{keys}
		if op == "missing_some" {
			args = []any{float64(g.pick(4)), keys}
		}
	case "all", "some", "none", "filter", "map", "reduce":
		lists := []any{map[string]any{"var": "arr"}, map[string]any{"var": "strs"}, map[string]any{"var": "items"},
			map[string]any{"var": "b.d"}, []any{1.0, "b", nil, []any{2.0}}, []any{}, g.rule(depth - 1)}
		args = []any{lists[g.pick(len(lists))], g.rule(depth - 1)}
		if op == "reduce" && g.pick(2) == 0 {
			args = append(args, g.leaf())
		}
		args = args[:len(args)-g.pick(2)] // sometimes without its logic (or initial value)
	default:
		args = make([]any, g.pick(4))
		for i := range args {
			args[i] = g.rule(depth - 1)
		}
	}
	if len(args) == 1 && g.pick(2) == 0 {
		return map[string]any{op: args[0]} // {"!": x} for {"!": [x]}
	}
	return map[string]any{op: args}
}

// refRefuses reports whether Compile must refuse rule: an operator
// json-logic does not have, or "*" of nothing, where the compiler compiles
// (everywhere but the arguments json-logic-js never evaluates).
func refRefuses(rule any) bool {
	switch r := rule.(type) {
	case []any:
		for _, e := range r {
			if refRefuses(e) {
				return true
			}
		}
	case map[string]any:
		if len(r) != 1 {
			return false
		}
		for op, raw := range r {
			args, ok := raw.([]any)
			if !ok {
				args = []any{raw}
			}
			if _, known := operators[op]; !known || (op == "*" && len(args) == 0) {
				return true
			}
			switch op {
			case "all", "some", "none", "filter", "map", "reduce":
				args = args[:min(len(args), 2)]
			}
			for _, a := range args {
				if refRefuses(a) {
					return true
				}
			}
		}
	}
	return false
}

// fuzzScope is testData with some variables read directly, as a caller
// with its own context has them.
type fuzzScope struct{ root Value }

func (s *fuzzScope) Root() Value { return s.root }

func fuzzVars(path string) (func(Data) Value, bool) {
	switch path {
	case "a":
		return func(Data) Value { return Number(1) }, true
	case "b.c":
		return func(Data) Value { return String("x") }, true
	case "nil":
		return func(Data) Value { return nullValue }, true
	case "e":
		return func(Data) Value { return String("") }, false
	case "nothing", "p":
		return func(Data) Value { return Value{} }, false
	}
	return nil, false
}

// FuzzCompile compiles rules, generated from the input or given as JSON:
// Compile never panics, refuses exactly what json-logic-js cannot run, and
// a compiled rule agrees with the reference interpreter, as an Expr and as
// a Predicate, with and without Vars.
func FuzzCompile(f *testing.F) {
	for _, tt := range operatorTests {
		f.Add([]byte(tt.rule))
	}
	f.Add([]byte{0x01, 0x20, 0x03, 0x07, 0x11, 0x42, 0x99, 0x05})
	f.Add([]byte("\x05\x21\x02\x17\x30\x08\x19\x44\x03\x61\x12\x00\x07"))
	f.Add([]byte(`{"reduce":[{"var":"items"},{"+":[{"var":"current.p"},{"var":"accumulator"}]},0]}`))
	dataJSON := decodeJSON(f, testData)
	f.Fuzz(func(t *testing.T, input []byte) {
		var rule any
		if json.Unmarshal(input, &rule) != nil {
			g := &ruleGenerator{data: input}
			rule = g.rule(4)
		}
		ruleText, _ := json.Marshal(rule)
		e, err := CompileExpr(rule, nil)
		if refuses := refRefuses(rule); (err != nil) != refuses {
			t.Fatalf("%s: compile error %v; json-logic-js refuses it: %v", ruleText, err, refuses)
		}
		if err != nil {
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("%s: %T %v; want a *CompileError", ruleText, err, err)
			}
			if _, perr := Compile(rule, nil); perr == nil || perr.Error() != err.Error() {
				t.Fatalf("%s: Compile says %v, CompileExpr %v", ruleText, perr, err)
			}
			return
		}
		want, refErr := refRun(rule, dataJSON)
		if refErr != nil {
			t.Fatalf("%s compiled; json-logic-js throws %v", ruleText, refErr)
		}
		data := ValueOf(dataJSON)
		if got := show(e(data)); got != refShow(want) {
			t.Fatalf("%s = %s; json-logic-js %s", ruleText, got, refShow(want))
		}
		p, err := Compile(rule, nil)
		if err != nil {
			t.Fatalf("%s: Compile: %v", ruleText, err)
		}
		truth := refTruthy(want)
		if _, isArray := want.([]any); isArray {
			truth = true // JavaScript's truth of a rule's value: [] is true
		}
		if got := p(data); got != truth {
			t.Fatalf("predicate %s = %v; json-logic-js %s", ruleText, got, refShow(want))
		}
		// Through Vars, on the same data.
		ev, err := CompileExpr(rule, fuzzVars)
		if err != nil {
			t.Fatalf("%s: with Vars: %v", ruleText, err)
		}
		pv, err := Compile(rule, fuzzVars)
		if err != nil {
			t.Fatalf("%s: with Vars: %v", ruleText, err)
		}
		s := &fuzzScope{root: data}
		if got := show(ev(s)); got != refShow(want) {
			t.Fatalf("%s with Vars = %s; json-logic-js %s", ruleText, got, refShow(want))
		}
		if got := pv(s); got != truth {
			t.Fatalf("predicate %s with Vars = %v; json-logic-js %s", ruleText, got, refShow(want))
		}
	})
}
