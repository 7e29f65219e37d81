package ondevice

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf16"
)

// condition is a compiled json-logic expression: a closure over the rule
// scope, built once per artifact.
type condition func(*ruleScope) value

// compileError says which part of a json-logic condition cannot be compiled.
type compileError struct {
	op  string
	msg string
}

func (e *compileError) Error() string {
	if e.op == "" {
		return "json-logic: " + e.msg
	}
	return fmt.Sprintf("json-logic operator %q: %s", e.op, e.msg)
}

// compileCondition compiles a decoded json-logic expression (the "condition"
// of an artifact rule). It supports the operators Target's artifacts use
// (var, and, or, !, ==, !=, <, <=, >, >=, in) and json-logic's other scalar
// operators (===, !==, !!, if, ?:, cat, substr, min, max, +, -, *, /, %,
// missing, merge). Any other operator is an error: the rule is skipped.
func compileCondition(node any) (condition, error) {
	switch x := node.(type) {
	case map[string]any:
		if len(x) != 1 {
			v := valueOf(x)
			return func(*ruleScope) value { return v }, nil
		}
		for op, rawArgs := range x {
			var args []any
			if list, ok := rawArgs.([]any); ok {
				args = list
			} else {
				args = []any{rawArgs}
			}
			return compileOperation(op, args)
		}
	case []any:
		items := make([]condition, len(x))
		for i, e := range x {
			c, err := compileCondition(e)
			if err != nil {
				return nil, err
			}
			items[i] = c
		}
		return func(s *ruleScope) value {
			arr := make([]value, len(items))
			for i, c := range items {
				arr[i] = c(s)
			}
			return value{k: kindArray, arr: arr}
		}, nil
	}
	v := valueOf(node)
	return func(*ruleScope) value { return v }, nil
}

func compileArgs(op string, args []any, minArgs, maxArgs int) ([]condition, error) {
	if len(args) < minArgs || (maxArgs >= 0 && len(args) > maxArgs) {
		if maxArgs < 0 {
			return nil, &compileError{op: op, msg: fmt.Sprintf("needs at least %d arguments, got %d", minArgs, len(args))}
		}
		return nil, &compileError{op: op, msg: fmt.Sprintf("needs %d to %d arguments, got %d", minArgs, maxArgs, len(args))}
	}
	out := make([]condition, len(args))
	for i, a := range args {
		c, err := compileCondition(a)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// argOrUndefined returns the i-th compiled argument, or one yielding
// undefined when there is none (JavaScript's missing argument).
func argOrUndefined(cs []condition, i int) condition {
	if i < len(cs) {
		return cs[i]
	}
	return func(*ruleScope) value { return undefinedValue }
}

func compileOperation(op string, args []any) (condition, error) {
	switch op {
	case "var":
		return compileVar(args)
	case "and", "or":
		cs, err := compileArgs(op, args, 0, -1)
		if err != nil {
			return nil, err
		}
		isAnd := op == "and"
		return func(s *ruleScope) value {
			var last value
			for _, c := range cs {
				last = c(s)
				if last.truthy() != isAnd {
					return last
				}
			}
			return last
		}, nil
	case "!", "!!":
		cs, err := compileArgs(op, args, 0, -1)
		if err != nil {
			return nil, err
		}
		a := argOrUndefined(cs, 0)
		negate := op == "!"
		return func(s *ruleScope) value { return boolValue(a(s).truthy() != negate) }, nil
	case "==", "!=", "===", "!==":
		cs, err := compileArgs(op, args, 0, -1)
		if err != nil {
			return nil, err
		}
		a, b := argOrUndefined(cs, 0), argOrUndefined(cs, 1)
		strict := op == "===" || op == "!=="
		negate := op == "!=" || op == "!=="
		if len(args) == 2 {
			// Fast path: comparing with a string literal, as Target's
			// conditions do ({"==": ["chrome", {"var": "user.browserType"}]}).
			lit, other := stringLiteral(args[0]), b
			if lit == nil {
				lit, other = stringLiteral(args[1]), a
			}
			if lit != nil {
				want := *lit
				return func(s *ruleScope) value {
					v := other(s)
					if v.k == kindString {
						return boolValue((v.s == want) != negate)
					}
					if strict {
						return boolValue(negate)
					}
					return boolValue(looseEquals(v, stringValue(want)) != negate)
				}, nil
			}
		}
		if strict {
			return func(s *ruleScope) value { return boolValue(strictEquals(a(s), b(s)) != negate) }, nil
		}
		return func(s *ruleScope) value { return boolValue(looseEquals(a(s), b(s)) != negate) }, nil
	case "<", "<=", ">", ">=":
		return compileRelational(op, args)
	case "in":
		cs, err := compileArgs(op, args, 0, -1)
		if err != nil {
			return nil, err
		}
		a, b := argOrUndefined(cs, 0), argOrUndefined(cs, 1)
		return func(s *ruleScope) value { return boolValue(contains(b(s), a(s))) }, nil
	case "if", "?:":
		cs, err := compileArgs(op, args, 0, -1)
		if err != nil {
			return nil, err
		}
		return func(s *ruleScope) value {
			i := 0
			for ; i+1 < len(cs); i += 2 {
				if cs[i](s).truthy() {
					return cs[i+1](s)
				}
			}
			if i < len(cs) {
				return cs[i](s)
			}
			return nullValue
		}, nil
	case "cat":
		cs, err := compileArgs(op, args, 0, -1)
		if err != nil {
			return nil, err
		}
		return func(s *ruleScope) value {
			var sb strings.Builder
			for _, c := range cs {
				sb.WriteString(c(s).toJSString())
			}
			return stringValue(sb.String())
		}, nil
	case "substr":
		cs, err := compileArgs(op, args, 1, 3)
		if err != nil {
			return nil, err
		}
		return func(s *ruleScope) value {
			var length *float64
			if len(cs) > 2 {
				l := cs[2](s).toNumber()
				length = &l
			}
			return stringValue(substr(cs[0](s).toJSString(), argOrUndefined(cs, 1)(s).toNumber(), length))
		}, nil
	case "min", "max":
		cs, err := compileArgs(op, args, 0, -1)
		if err != nil {
			return nil, err
		}
		isMin := op == "min"
		return func(s *ruleScope) value {
			if len(cs) == 0 {
				if isMin {
					return numberValue(math.Inf(1))
				}
				return numberValue(math.Inf(-1))
			}
			best := cs[0](s).toNumber()
			for _, c := range cs[1:] {
				n := c(s).toNumber()
				if math.IsNaN(n) || math.IsNaN(best) {
					best = math.NaN()
				} else if (isMin && n < best) || (!isMin && n > best) {
					best = n
				}
			}
			return numberValue(best)
		}, nil
	case "+", "*":
		cs, err := compileArgs(op, args, 0, -1)
		if err != nil {
			return nil, err
		}
		isSum := op == "+"
		return func(s *ruleScope) value {
			acc := 0.0
			if !isSum {
				acc = 1
			}
			for i, c := range cs {
				n := c(s).toNumber()
				switch {
				case isSum:
					acc += n
				case i == 0:
					acc = n
				default:
					acc *= n
				}
			}
			return numberValue(acc)
		}, nil
	case "-":
		cs, err := compileArgs(op, args, 1, 2)
		if err != nil {
			return nil, err
		}
		if len(cs) == 1 {
			return func(s *ruleScope) value { return numberValue(-cs[0](s).toNumber()) }, nil
		}
		return func(s *ruleScope) value { return numberValue(cs[0](s).toNumber() - cs[1](s).toNumber()) }, nil
	case "/", "%":
		cs, err := compileArgs(op, args, 2, 2)
		if err != nil {
			return nil, err
		}
		if op == "/" {
			return func(s *ruleScope) value { return numberValue(cs[0](s).toNumber() / cs[1](s).toNumber()) }, nil
		}
		return func(s *ruleScope) value { return numberValue(math.Mod(cs[0](s).toNumber(), cs[1](s).toNumber())) }, nil
	case "missing":
		cs, err := compileArgs(op, args, 0, -1)
		if err != nil {
			return nil, err
		}
		return func(s *ruleScope) value {
			keys := make([]value, 0, len(cs))
			for _, c := range cs {
				v := c(s)
				if v.k == kindArray {
					keys = append(keys, v.arr...)
				} else {
					keys = append(keys, v)
				}
			}
			var missing []value
			for _, key := range keys {
				got, found := lookupPath(s.asData(), key.toJSString())
				if !found || got.k == kindNull || (got.k == kindString && got.s == "") {
					missing = append(missing, key)
				}
			}
			return value{k: kindArray, arr: missing}
		}, nil
	case "merge":
		cs, err := compileArgs(op, args, 0, -1)
		if err != nil {
			return nil, err
		}
		return func(s *ruleScope) value {
			var out []value
			for _, c := range cs {
				v := c(s)
				if v.k == kindArray {
					out = append(out, v.arr...)
				} else {
					out = append(out, v)
				}
			}
			return value{k: kindArray, arr: out}
		}, nil
	}
	return nil, &compileError{op: op, msg: "unsupported operator"}
}

func compileRelational(op string, args []any) (condition, error) {
	cs, err := compileArgs(op, args, 0, -1)
	if err != nil {
		return nil, err
	}
	a, b := argOrUndefined(cs, 0), argOrUndefined(cs, 1)
	holds := func(x, y value) bool {
		c, ok := compareJS(x, y)
		if !ok {
			return false
		}
		switch op {
		case "<":
			return c < 0
		case "<=":
			return c <= 0
		case ">":
			return c > 0
		}
		return c >= 0
	}
	if len(args) == 2 {
		// Fast path: comparing with a number literal, as allocation and
		// timing conditions do ({"<=": [0, {"var": "allocation"}]}).
		if n, ok := numberLiteral(args[1]); ok {
			return relationalWithNumber(op, a, n, false, holds), nil
		}
		if n, ok := numberLiteral(args[0]); ok {
			return relationalWithNumber(op, b, n, true, holds), nil
		}
	}
	// json-logic's "between": {"<": [a, b, c]} is a < b < c.
	if (op == "<" || op == "<=") && len(cs) == 3 {
		c := cs[2]
		return func(s *ruleScope) value {
			y := b(s)
			return boolValue(holds(a(s), y) && holds(y, c(s)))
		}, nil
	}
	return func(s *ruleScope) value { return boolValue(holds(a(s), b(s))) }, nil
}

// relationalWithNumber compiles x OP n (or n OP x when flipped) with a
// direct float comparison when x evaluates to a number.
func relationalWithNumber(op string, x condition, n float64, flipped bool, holds func(a, b value) bool) condition {
	lit := numberValue(n)
	slow := func(v value) value {
		if flipped {
			return boolValue(holds(lit, v))
		}
		return boolValue(holds(v, lit))
	}
	if flipped {
		// n OP v is v OP' n with the comparison mirrored.
		switch op {
		case "<":
			op = ">"
		case "<=":
			op = ">="
		case ">":
			op = "<"
		case ">=":
			op = "<="
		}
	}
	switch op {
	case "<":
		return func(s *ruleScope) value {
			if v := x(s); v.k == kindNumber {
				return boolValue(v.n < n)
			} else {
				return slow(v)
			}
		}
	case "<=":
		return func(s *ruleScope) value {
			if v := x(s); v.k == kindNumber {
				return boolValue(v.n <= n)
			} else {
				return slow(v)
			}
		}
	case ">":
		return func(s *ruleScope) value {
			if v := x(s); v.k == kindNumber {
				return boolValue(v.n > n)
			} else {
				return slow(v)
			}
		}
	}
	return func(s *ruleScope) value {
		if v := x(s); v.k == kindNumber {
			return boolValue(v.n >= n)
		} else {
			return slow(v)
		}
	}
}

func numberLiteral(node any) (float64, bool) {
	n, ok := node.(float64)
	return n, ok
}

func stringLiteral(node any) *string {
	if s, ok := node.(string); ok {
		return &s
	}
	return nil
}

// contains is json-logic's "in": substring for a string haystack, strict
// membership for an array.
func contains(haystack, needle value) bool {
	switch haystack.k {
	case kindString:
		// json-logic returns false for a falsy haystack, "" included.
		return haystack.s != "" && strings.Contains(haystack.s, needle.toJSString())
	case kindArray:
		for _, e := range haystack.arr {
			if strictEquals(e, needle) {
				return true
			}
		}
	}
	return false
}

// substr is json-logic's substr, on UTF-16 code units as in JavaScript.
func substr(str string, start float64, length *float64) string {
	units := utf16.Encode([]rune(str))
	n := len(units)
	from := int(start)
	if math.IsNaN(start) {
		from = 0
	}
	if from < 0 {
		from = max(n+from, 0)
	}
	from = min(from, n)
	to := n
	if length != nil && !math.IsNaN(*length) {
		l := int(*length)
		if l < 0 {
			to = max(n+l, from)
		} else {
			to = min(from+l, n)
		}
	}
	if to < from {
		to = from
	}
	return string(utf16.Decode(units[from:to]))
}

// compileVar compiles {"var": path} and {"var": [path, default]}. Paths
// known at compile time are resolved to direct field reads of the rule scope.
func compileVar(args []any) (condition, error) {
	var fallback condition = func(*ruleScope) value { return nullValue }
	if len(args) > 1 {
		c, err := compileCondition(args[1])
		if err != nil {
			return nil, err
		}
		fallback = c
	}
	if len(args) == 0 {
		return func(s *ruleScope) value { return s.asData() }, nil
	}
	switch p := args[0].(type) {
	case string:
		if p == "" {
			return func(s *ruleScope) value { return s.asData() }, nil
		}
		if len(args) < 2 {
			if direct := directResolver(p); direct != nil {
				return direct, nil
			}
		}
		get := resolverFor(p)
		return func(s *ruleScope) value {
			v, found := get(s)
			if !found {
				return fallback(s)
			}
			return v
		}, nil
	case float64:
		path := formatJSNumber(p)
		return func(s *ruleScope) value {
			v, found := lookupPath(s.asData(), path)
			if !found {
				return fallback(s)
			}
			return v
		}, nil
	case nil:
		return func(s *ruleScope) value { return s.asData() }, nil
	}
	pathExpr, err := compileCondition(args[0])
	if err != nil {
		return nil, err
	}
	return func(s *ruleScope) value {
		pv := pathExpr(s)
		if pv.k == kindUndefined || pv.k == kindNull || (pv.k == kindString && pv.s == "") {
			return s.asData()
		}
		v, found := lookupPath(s.asData(), pv.toJSString())
		if !found {
			return fallback(s)
		}
		return v
	}, nil
}

// lookupPath walks a dotted path through generic data as json-logic's var
// does: a missing step is "not found".
func lookupPath(data value, path string) (value, bool) {
	cur := data
	for part := range strings.SplitSeq(path, ".") {
		switch cur.k {
		case kindObject:
			v, ok := cur.obj[part]
			if !ok {
				return undefinedValue, false
			}
			cur = valueOf(v)
		case kindArray:
			idx := stringToNumber(part)
			if math.IsNaN(idx) || idx < 0 || int(idx) >= len(cur.arr) || float64(int(idx)) != idx {
				return undefinedValue, false
			}
			cur = cur.arr[int(idx)]
		default:
			return undefinedValue, false
		}
		if cur.k == kindUndefined {
			return undefinedValue, false
		}
	}
	return cur, true
}
