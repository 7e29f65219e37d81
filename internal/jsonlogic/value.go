package jsonlogic

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// Kind is the JavaScript type of a Value.
type Kind uint8

// The kinds of Value. The zero Value is undefined.
const (
	KindUndefined Kind = iota
	KindNull
	KindBool
	KindNumber
	KindString
	KindArray
	KindObject
)

// Value is one JavaScript value, as a json-logic rule sees it. Only the field
// of its kind is meaningful. The zero Value is undefined (a variable that is
// not there).
type Value struct {
	k   Kind
	b   bool
	n   float64
	s   string
	arr []Value
	obj map[string]any
}

var nullValue = Value{k: KindNull}

// Null returns JavaScript's null.
func Null() Value { return nullValue }

// Bool returns a boolean value.
func Bool(b bool) Value { return Value{k: KindBool, b: b} }

// Number returns a number value.
func Number(n float64) Value { return Value{k: KindNumber, n: n} }

// String returns a string value.
func String(s string) Value { return Value{k: KindString, s: s} }

func arrayValue(arr []Value) Value { return Value{k: KindArray, arr: arr} }

// ValueOf converts data as encoding/json decodes it (nil, bool, float64,
// string, []any, map[string]any; also int, int64 and []string) into a
// Value. An object is kept as its map, read in place; any other type is
// undefined.
func ValueOf(v any) Value {
	switch x := v.(type) {
	case nil:
		return nullValue
	case bool:
		return Bool(x)
	case float64:
		return Number(x)
	case int:
		return Number(float64(x))
	case int64:
		return Number(float64(x))
	case string:
		return String(x)
	case []any:
		arr := make([]Value, len(x))
		for i, e := range x {
			arr[i] = ValueOf(e)
		}
		return arrayValue(arr)
	case []string:
		arr := make([]Value, len(x))
		for i, e := range x {
			arr[i] = String(e)
		}
		return arrayValue(arr)
	case map[string]any:
		return Value{k: KindObject, obj: x}
	}
	return Value{}
}

// Kind returns v's JavaScript type.
func (v Value) Kind() Kind { return v.k }

// Root makes a Value usable as the Data a rule is evaluated against: the
// value is the whole data.
func (v Value) Root() Value { return v }

// Truthy is json-logic's truthiness: JavaScript's, except that an empty
// array is false.
func (v Value) Truthy() bool {
	switch v.k {
	case KindBool:
		return v.b
	case KindNumber:
		return v.n != 0 && !math.IsNaN(v.n)
	case KindString:
		return v.s != ""
	case KindArray:
		return len(v.arr) > 0
	case KindObject:
		return true
	}
	return false
}

// jsTruthy is plain JavaScript truthiness (an empty array is true): how the
// SDKs test the value of a whole rule.
func (v Value) jsTruthy() bool {
	if v.k == KindArray {
		return true
	}
	return v.Truthy()
}

// ToNumber is JavaScript's ToNumber.
func (v Value) ToNumber() float64 {
	switch v.k {
	case KindNull:
		return 0
	case KindBool:
		if v.b {
			return 1
		}
		return 0
	case KindNumber:
		return v.n
	case KindString:
		return stringToNumber(v.s)
	case KindArray:
		return stringToNumber(v.String())
	}
	return math.NaN()
}

// stringToNumber is JavaScript's ToNumber of a string: a decimal literal,
// Infinity, or a 0x, 0o or 0b integer, within white space; 0 for none; NaN
// for anything else.
func stringToNumber(s string) float64 {
	s = trimJSSpace(s)
	if s == "" {
		return 0
	}
	switch s {
	case "Infinity", "+Infinity":
		return math.Inf(1)
	case "-Infinity":
		return math.Inf(-1)
	}
	if len(s) > 2 && s[0] == '0' {
		base := 0
		switch s[1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base != 0 {
			return parseInteger(s[2:], base)
		}
	}
	if n := decimalPrefix(s); n != len(s) {
		return math.NaN()
	}
	return parseDecimal(s)
}

// parseFloat is JavaScript's parseFloat of a string: the longest decimal
// literal (or Infinity) at its start, after white space; NaN for none.
func parseFloat(s string) float64 {
	s = trimJSSpace(s)
	sign, rest := 1.0, s
	if rest != "" && (rest[0] == '+' || rest[0] == '-') {
		if rest[0] == '-' {
			sign = -1
		}
		rest = rest[1:]
	}
	if strings.HasPrefix(rest, "Infinity") {
		return math.Inf(int(sign))
	}
	n := decimalPrefix(s)
	if n == 0 {
		return math.NaN()
	}
	return parseDecimal(s[:n])
}

// decimalPrefix is the length of the longest decimal literal at the start
// of s: [+-] digits [. digits] [e [+-] digits], with digits on at least one
// side of the point; 0 when there is none.
func decimalPrefix(s string) int {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := func() int {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - start
	}
	mantissa := digits()
	if i < len(s) && s[i] == '.' {
		i++
		mantissa += digits()
	}
	if mantissa == 0 {
		return 0
	}
	end := i
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() > 0 {
			end = i
		}
	}
	return end
}

// parseDecimal parses a decimal literal; beyond float64's range it is
// Infinity or 0, as in JavaScript.
func parseDecimal(s string) float64 {
	n, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return math.NaN()
	}
	return n
}

// parseInteger parses the digits of a 0x, 0o or 0b literal.
func parseInteger(digits string, base int) float64 {
	if n, err := strconv.ParseUint(digits, base, 64); err == nil {
		return float64(n)
	}
	// Invalid, or too long for 64 bits: JavaScript reads a long one as a
	// float.
	f := 0.0
	for i := 0; i < len(digits); i++ {
		d, err := strconv.ParseUint(digits[i:i+1], base, 8)
		if err != nil {
			return math.NaN()
		}
		f = f*float64(base) + float64(d)
	}
	return f
}

// trimJSSpace trims what JavaScript counts as white space and line
// terminators: Unicode's White_Space but NEL (U+0085), and U+FEFF.
func trimJSSpace(s string) string {
	isSpace := func(r rune) bool { return (unicode.IsSpace(r) && r != 0x85) || r == 0xFEFF }
	return strings.TrimFunc(s, isSpace)
}

// String is JavaScript's ToString: "undefined", "null", "true", 1.5, "a,b"
// for an array, "[object Object]" for an object.
func (v Value) String() string {
	switch v.k {
	case KindUndefined:
		return "undefined"
	case KindNull:
		return "null"
	case KindBool:
		return strconv.FormatBool(v.b)
	case KindNumber:
		return FormatNumber(v.n)
	case KindString:
		return v.s
	case KindArray:
		parts := make([]string, len(v.arr))
		for i, e := range v.arr {
			if e.k != KindUndefined && e.k != KindNull {
				parts[i] = e.String()
			}
		}
		return strings.Join(parts, ",")
	}
	return "[object Object]"
}

// FormatNumber formats n as JavaScript's Number.prototype.toString does:
// 1e+21, 1e-7, 0.5, NaN, -Infinity.
func FormatNumber(n float64) string {
	switch {
	case math.IsNaN(n):
		return "NaN"
	case math.IsInf(n, 1):
		return "Infinity"
	case math.IsInf(n, -1):
		return "-Infinity"
	case n == 0:
		return "0"
	}
	abs := math.Abs(n)
	if abs >= 1e-6 && abs < 1e21 {
		return strconv.FormatFloat(n, 'f', -1, 64)
	}
	s := strconv.FormatFloat(n, 'g', -1, 64)
	// Go writes 1e+21 and 1e-07; JavaScript writes 1e+21 and 1e-7.
	if i := strings.IndexByte(s, 'e'); i >= 0 {
		mant, exp := s[:i], s[i+1:]
		sign := exp[0]
		digits := strings.TrimLeft(exp[1:], "0")
		if digits == "" {
			digits = "0"
		}
		s = mant + "e" + string(sign) + digits
	}
	return s
}

// toAny converts v back into data as encoding/json decodes it (undefined
// becomes nil).
func (v Value) toAny() any {
	switch v.k {
	case KindBool:
		return v.b
	case KindNumber:
		return v.n
	case KindString:
		return v.s
	case KindArray:
		out := make([]any, len(v.arr))
		for i, e := range v.arr {
			out[i] = e.toAny()
		}
		return out
	case KindObject:
		return v.obj
	}
	return nil
}

// toPrimitive is JavaScript's ToPrimitive for the values rules see: arrays
// and objects become strings.
func (v Value) toPrimitive() Value {
	if v.k == KindArray || v.k == KindObject {
		return String(v.String())
	}
	return v
}
