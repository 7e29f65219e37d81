package jsonlogic

import (
	"encoding/json"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
)

// This file is a direct interpreter of json-logic written from
// json-logic-js 2.0.2 (the version the Target Node.js SDK bundles): it walks
// the rule as data on every evaluation, on values as encoding/json decodes
// them, with JavaScript's conversions written afresh from the ECMAScript
// definitions. FuzzCompile checks the compiler against it. It shares only
// FormatNumber (Number::toString) with the package, which TestFormatNumber
// checks on its own.

// undefined is JavaScript's undefined among decoded JSON values.
type undefined struct{}

// refError is a rule json-logic-js throws on (or that Compile refuses).
type refError struct{ msg string }

func (e refError) Error() string { return e.msg }

// refEval evaluates rule against data as json-logic-js's apply does.
func refEval(rule, data any) any {
	switch r := rule.(type) {
	case []any:
		out := make([]any, len(r))
		for i, e := range r {
			out[i] = refEval(e, data)
		}
		return out
	case map[string]any:
		if len(r) != 1 {
			return r
		}
		for op, raw := range r {
			values, ok := raw.([]any)
			if !ok {
				values = []any{raw}
			}
			return refOperation(op, values, data)
		}
	}
	return rule
}

func refArg(values []any, i int) any {
	if i < len(values) {
		return values[i]
	}
	return undefined{}
}

func refOperation(op string, values []any, data any) any {
	switch op {
	case "if", "?:":
		i := 0
		for ; i < len(values)-1; i += 2 {
			if refTruthy(refEval(values[i], data)) {
				return refEval(values[i+1], data)
			}
		}
		if len(values) == i+1 {
			return refEval(values[i], data)
		}
		return nil
	case "and", "or":
		var current any = undefined{}
		for _, v := range values {
			current = refEval(v, data)
			if refTruthy(current) != (op == "and") {
				return current
			}
		}
		return current
	case "filter", "map", "all", "none", "some", "reduce":
		return refScoped(op, values, data)
	}
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = refEval(v, data)
	}
	a, b := refArg(args, 0), refArg(args, 1)
	switch op {
	case "==":
		return refLooseEquals(a, b)
	case "===":
		return refStrictEquals(a, b)
	case "!=":
		return !refLooseEquals(a, b)
	case "!==":
		return !refStrictEquals(a, b)
	case ">":
		return refLess(b, a, false)
	case ">=":
		return refLess(b, a, true)
	case "<", "<=":
		c := refArg(args, 2)
		if _, ok := c.(undefined); ok {
			return refLess(a, b, op == "<=")
		}
		return refLess(a, b, op == "<=") && refLess(b, c, op == "<=")
	case "!!":
		return refTruthy(a)
	case "!":
		return !refTruthy(a)
	case "%":
		return math.Mod(refNumber(a), refNumber(b))
	case "log":
		return a
	case "in":
		switch h := b.(type) {
		case string:
			return h != "" && strings.Contains(h, refString(a))
		case []any:
			return slices.ContainsFunc(h, func(e any) bool { return refStrictEquals(e, a) })
		}
		return false
	case "cat":
		var sb strings.Builder
		for _, x := range args {
			switch x.(type) {
			case nil, undefined:
			default:
				sb.WriteString(refString(x))
			}
		}
		return sb.String()
	case "substr":
		return refSubstr(a, b, refArg(args, 2))
	case "+":
		sum := 0.0
		for _, x := range args {
			sum += refParseFloat(x)
		}
		return sum
	case "*":
		if len(args) == 0 {
			panic(refError{"Reduce of empty array with no initial value"})
		}
		if len(args) == 1 {
			return args[0]
		}
		product := refParseFloat(args[0])
		for _, x := range args[1:] {
			product *= refParseFloat(x)
		}
		return product
	case "-":
		if _, ok := b.(undefined); ok {
			return -refNumber(a)
		}
		return refNumber(a) - refNumber(b)
	case "/":
		return refNumber(a) / refNumber(b)
	case "min", "max":
		best := math.Inf(1)
		if op == "max" {
			best = math.Inf(-1)
		}
		for _, x := range args {
			n := refNumber(x)
			if math.IsNaN(n) {
				return math.NaN()
			}
			if (op == "min" && n < best) || (op == "max" && n > best) {
				best = n
			}
		}
		return best
	case "merge":
		out := []any{}
		for _, x := range args {
			if arr, ok := x.([]any); ok {
				out = append(out, arr...)
			} else {
				out = append(out, x)
			}
		}
		return out
	case "var":
		return refVar(a, b, data)
	case "missing":
		return refMissing(args, data)
	case "missing_some":
		var keys []any
		length := math.NaN()
		switch o := b.(type) {
		case []any:
			keys, length = o, float64(len(o))
		case string:
			keys, length = []any{o}, float64(len(utf16.Encode([]rune(o))))
		default:
			keys = []any{o}
		}
		missing := refMissing(keys, data)
		if refLess(a, length-float64(len(missing)), true) {
			return []any{}
		}
		return missing
	}
	panic(refError{"Unrecognized operation " + op})
}

// refRun evaluates rule against data, or says what json-logic-js throws.
func refRun(rule, data any) (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(refError)
			if !ok {
				panic(r)
			}
			err = e
		}
	}()
	return refEval(rule, data), nil
}

func refScoped(op string, values []any, data any) any {
	var scopedData any = undefined{}
	if len(values) > 0 {
		scopedData = refEval(values[0], data)
	}
	var logic any = undefined{}
	if len(values) > 1 {
		logic = values[1]
	}
	arr, isArray := scopedData.([]any)
	switch op {
	case "filter", "map":
		out := []any{}
		for _, e := range arr {
			v := refEval(logic, e)
			if op == "map" {
				out = append(out, v)
			} else if refTruthy(v) {
				out = append(out, e)
			}
		}
		return out
	case "reduce":
		var acc any
		if len(values) > 2 {
			acc = values[2]
		}
		if !isArray {
			return acc
		}
		for _, e := range arr {
			step := map[string]any{"current": e, "accumulator": acc}
			for k, v := range step {
				if _, ok := v.(undefined); ok {
					delete(step, k)
				}
			}
			acc = refEval(logic, step)
		}
		return acc
	}
	if len(arr) == 0 {
		return op == "none"
	}
	for _, e := range arr {
		truthy := refTruthy(refEval(logic, e))
		switch {
		case op == "all" && !truthy:
			return false
		case op != "all" && truthy:
			return op == "some"
		}
	}
	return op != "some"
}

func refVar(a, b, data any) any {
	var notFound any = b
	if _, ok := b.(undefined); ok {
		notFound = nil
	}
	switch p := a.(type) {
	case undefined, nil:
		return data
	case string:
		if p == "" {
			return data
		}
	}
	cur := data
	for _, prop := range strings.Split(refString(a), ".") {
		switch cur.(type) {
		case nil, undefined:
			return notFound
		}
		cur = refProperty(cur, prop)
		if _, ok := cur.(undefined); ok {
			return notFound
		}
	}
	return cur
}

// refProperty is data[prop] in JavaScript, for the own properties of
// decoded JSON. An array read from an object is a fresh copy each time, to
// its depth: the compiler's documented difference from json-logic-js for
// === (its Values read objects in place, and convert what they hold).
func refProperty(data any, prop string) any {
	canonicalIndex := func(n int) (int, bool) {
		i, err := strconv.Atoi(prop)
		return i, err == nil && i >= 0 && i < n && strconv.Itoa(i) == prop
	}
	switch d := data.(type) {
	case map[string]any:
		if x, ok := d[prop]; ok {
			return refCopyArrays(x)
		}
	case []any:
		if prop == "length" {
			return float64(len(d))
		}
		if i, ok := canonicalIndex(len(d)); ok {
			return d[i]
		}
	case string:
		units := utf16.Encode([]rune(d))
		if prop == "length" {
			return float64(len(units))
		}
		if i, ok := canonicalIndex(len(units)); ok {
			return string(utf16.Decode(units[i : i+1]))
		}
	}
	return undefined{}
}

func refCopyArrays(v any) any {
	arr, ok := v.([]any)
	if !ok {
		return v
	}
	out := make([]any, len(arr))
	for i, e := range arr {
		out[i] = refCopyArrays(e)
	}
	return out
}

func refMissing(args []any, data any) []any {
	keys := args
	if len(args) > 0 {
		if first, ok := args[0].([]any); ok {
			keys = first
		}
	}
	missing := []any{}
	for _, key := range keys {
		v := refEval(map[string]any{"var": key}, data)
		if v == nil || v == "" {
			missing = append(missing, key)
		}
	}
	return missing
}

// refTruthy is json-logic's truthy: JavaScript's, but [] is false.
func refTruthy(v any) bool {
	switch x := v.(type) {
	case []any:
		return len(x) > 0
	case nil, undefined:
		return false
	case bool:
		return x
	case float64:
		return x != 0 && !math.IsNaN(x)
	case string:
		return x != ""
	}
	return true
}

// refJSType is JavaScript's typeof, with "null" for null.
func refJSType(v any) string {
	switch v.(type) {
	case undefined:
		return "undefined"
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	}
	return "object"
}

// refStrictEquals is ===: objects are equal when they are the same one
// (the same map, or the same non-empty array; the compiler cannot tell two
// empty arrays apart from one).
func refStrictEquals(a, b any) bool {
	if refJSType(a) != refJSType(b) {
		return false
	}
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		return ok && len(x) > 0 && len(x) == len(y) && &x[0] == &y[0]
	case map[string]any:
		y, ok := b.(map[string]any)
		return ok && reflect.ValueOf(x).UnsafePointer() == reflect.ValueOf(y).UnsafePointer()
	case float64:
		return x == b.(float64)
	}
	return a == b
}

// refLooseEquals is IsLooselyEqual of ECMAScript (7.2.14).
func refLooseEquals(a, b any) bool {
	ta, tb := refJSType(a), refJSType(b)
	switch {
	case ta == tb:
		return refStrictEquals(a, b)
	case (ta == "null" || ta == "undefined") && (tb == "null" || tb == "undefined"):
		return true
	case ta == "number" && tb == "string":
		return a.(float64) == refNumber(b)
	case ta == "string" && tb == "number":
		return refNumber(a) == b.(float64)
	case ta == "boolean":
		return refLooseEquals(refNumber(a), b)
	case tb == "boolean":
		return refLooseEquals(a, refNumber(b))
	case ta == "object" && (tb == "number" || tb == "string"):
		return refLooseEquals(refString(a), b)
	case tb == "object" && (ta == "number" || ta == "string"):
		return refLooseEquals(a, refString(b))
	}
	return false
}

// refLess is a < b (a <= b when orEqual), IsLessThan of ECMAScript.
func refLess(a, b any, orEqual bool) bool {
	primitive := func(v any) any {
		if refJSType(v) == "object" {
			return refString(v)
		}
		return v
	}
	a, b = primitive(a), primitive(b)
	if sa, ok := a.(string); ok {
		if sb, ok := b.(string); ok {
			c := slices.Compare(utf16.Encode([]rune(sa)), utf16.Encode([]rune(sb)))
			return c < 0 || (orEqual && c == 0)
		}
	}
	x, y := refNumber(a), refNumber(b)
	return x < y || (orEqual && x == y)
}

var (
	// StringNumericLiteral, after trimming.
	refDecimal = regexp.MustCompile(`^[+-]?(Infinity|([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?)$`)
	refInteger = regexp.MustCompile(`^0([xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)$`)
	// StrDecimalLiteral at the start of a string, for parseFloat.
	refDecimalPrefix = regexp.MustCompile(`^[+-]?(Infinity|([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?)`)
)

// refTrim trims ECMAScript's WhiteSpace and LineTerminator code points.
func refTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		switch r {
		case '\t', '\n', '\v', '\f', '\r', ' ', 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF:
			return true
		}
		return r >= 0x2000 && r <= 0x200A
	})
}

func refDecimalValue(s string) float64 {
	s = strings.TrimPrefix(s, "+")
	switch s {
	case "Infinity":
		return math.Inf(1)
	case "-Infinity":
		return math.Inf(-1)
	}
	f, _ := strconv.ParseFloat(s, 64) // the grammar is checked; out of range is ±Inf or 0
	return f
}

// refNumber is ToNumber.
func refNumber(v any) float64 {
	switch x := v.(type) {
	case nil:
		return 0
	case bool:
		if x {
			return 1
		}
		return 0
	case float64:
		return x
	case string:
		s := refTrim(x)
		switch {
		case s == "":
			return 0
		case refDecimal.MatchString(s):
			return refDecimalValue(s)
		case refInteger.MatchString(s):
			base := map[byte]float64{'x': 16, 'X': 16, 'o': 8, 'O': 8, 'b': 2, 'B': 2}[s[1]]
			n := 0.0
			for _, c := range strings.ToLower(s[2:]) {
				n = n*base + float64(strings.IndexRune("0123456789abcdef", c))
			}
			return n
		}
		return math.NaN()
	case []any:
		return refNumber(refString(x))
	}
	return math.NaN()
}

// refParseFloat is parseFloat(String(v)).
func refParseFloat(v any) float64 {
	m := refDecimalPrefix.FindString(refTrim(refString(v)))
	if m == "" {
		return math.NaN()
	}
	return refDecimalValue(m)
}

// refString is ToString.
func refString(v any) string {
	switch x := v.(type) {
	case undefined:
		return "undefined"
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return FormatNumber(x)
	case string:
		return x
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			switch e.(type) {
			case nil, undefined:
			default:
				parts[i] = refString(e)
			}
		}
		return strings.Join(parts, ",")
	}
	return "[object Object]"
}

// refSubstr is json-logic-js's substr: String.prototype.substr, with a
// negative end cutting from the end.
func refSubstr(source, start, end any) string {
	units := utf16.Encode([]rune(refString(source)))
	integer := func(v any) float64 { // ToIntegerOrInfinity
		n := refNumber(v)
		if math.IsNaN(n) {
			return 0
		}
		return math.Trunc(n)
	}
	substr := func(units []uint16, start float64, length any) []uint16 {
		size := float64(len(units))
		if start < 0 {
			start = math.Max(size+start, 0)
		}
		start = math.Min(start, size)
		l := size - start
		if _, ok := length.(undefined); !ok {
			l = math.Min(math.Max(integer(length), 0), size-start)
		}
		return units[int(start):int(start+l)]
	}
	if refLess(end, 0.0, false) {
		temp := substr(units, integer(start), undefined{})
		return string(utf16.Decode(substr(temp, 0, float64(len(temp))+refNumber(end))))
	}
	return string(utf16.Decode(substr(units, integer(start), end)))
}

// refShow renders a reference value as show renders a Value.
func refShow(v any) string {
	switch x := v.(type) {
	case string:
		b, _ := json.Marshal(x)
		return string(b)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = refShow(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case map[string]any:
		return "{object}"
	}
	return refString(v)
}
