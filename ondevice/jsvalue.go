package ondevice

import (
	"math"
	"reflect"
	"strconv"
	"strings"
)

// kind is the JavaScript type of a value seen by a rule condition. Target's
// conditions are json-logic, whose reference implementation is JavaScript;
// comparisons and equality follow JavaScript's rules so that a rule matches
// here exactly when it matches in the other Target SDKs.
type kind uint8

const (
	kindUndefined kind = iota
	kindNull
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

// value is one JavaScript value. Only the field of its kind is meaningful.
type value struct {
	k   kind
	b   bool
	n   float64
	s   string
	arr []value
	obj map[string]any
}

var (
	undefinedValue = value{}
	nullValue      = value{k: kindNull}
	trueValue      = value{k: kindBool, b: true}
	falseValue     = value{k: kindBool}
)

func boolValue(b bool) value      { return value{k: kindBool, b: b} }
func numberValue(n float64) value { return value{k: kindNumber, n: n} }
func stringValue(s string) value  { return value{k: kindString, s: s} }

// valueOf converts a decoded JSON value (encoding/json's any) into a value.
func valueOf(v any) value {
	switch x := v.(type) {
	case nil:
		return nullValue
	case bool:
		return boolValue(x)
	case float64:
		return numberValue(x)
	case int:
		return numberValue(float64(x))
	case int64:
		return numberValue(float64(x))
	case string:
		return stringValue(x)
	case []any:
		arr := make([]value, len(x))
		for i, e := range x {
			arr[i] = valueOf(e)
		}
		return value{k: kindArray, arr: arr}
	case []string:
		arr := make([]value, len(x))
		for i, e := range x {
			arr[i] = stringValue(e)
		}
		return value{k: kindArray, arr: arr}
	case map[string]any:
		return value{k: kindObject, obj: x}
	}
	return undefinedValue
}

// truthy is json-logic's truthiness: JavaScript's, except that an empty
// array is false.
func (v value) truthy() bool {
	switch v.k {
	case kindBool:
		return v.b
	case kindNumber:
		return v.n != 0 && !math.IsNaN(v.n)
	case kindString:
		return v.s != ""
	case kindArray:
		return len(v.arr) > 0
	case kindObject:
		return true
	}
	return false
}

// jsTruthy is plain JavaScript truthiness (an empty array is true).
func (v value) jsTruthy() bool {
	if v.k == kindArray {
		return true
	}
	return v.truthy()
}

// toNumber is JavaScript's ToNumber.
func (v value) toNumber() float64 {
	switch v.k {
	case kindNull:
		return 0
	case kindBool:
		if v.b {
			return 1
		}
		return 0
	case kindNumber:
		return v.n
	case kindString:
		return stringToNumber(v.s)
	case kindArray:
		return stringToNumber(v.toJSString())
	}
	return math.NaN()
}

func stringToNumber(s string) float64 {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	switch s {
	case "Infinity", "+Infinity":
		return math.Inf(1)
	case "-Infinity":
		return math.Inf(-1)
	}
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X' || s[1] == 'o' || s[1] == 'O' || s[1] == 'b' || s[1] == 'B') {
		base := map[byte]int{'x': 16, 'X': 16, 'o': 8, 'O': 8, 'b': 2, 'B': 2}[s[1]]
		n, err := strconv.ParseUint(s[2:], base, 64)
		if err != nil {
			return math.NaN()
		}
		return float64(n)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return math.NaN()
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return math.NaN()
	}
	return n
}

// toJSString is JavaScript's ToString.
func (v value) toJSString() string {
	switch v.k {
	case kindUndefined:
		return "undefined"
	case kindNull:
		return "null"
	case kindBool:
		if v.b {
			return "true"
		}
		return "false"
	case kindNumber:
		return formatJSNumber(v.n)
	case kindString:
		return v.s
	case kindArray:
		parts := make([]string, len(v.arr))
		for i, e := range v.arr {
			if e.k != kindUndefined && e.k != kindNull {
				parts[i] = e.toJSString()
			}
		}
		return strings.Join(parts, ",")
	}
	return "[object Object]"
}

// formatJSNumber formats n as JavaScript's Number.prototype.toString does
// for the values Target artifacts hold.
func formatJSNumber(n float64) string {
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

// toPrimitive is JavaScript's ToPrimitive for the values rules see:
// arrays and objects become strings.
func (v value) toPrimitive() value {
	if v.k == kindArray || v.k == kindObject {
		return stringValue(v.toJSString())
	}
	return v
}

// looseEquals is JavaScript's == operator.
func looseEquals(a, b value) bool {
	for {
		if a.k == b.k {
			return strictSameKind(a, b)
		}
		aNullish := a.k == kindUndefined || a.k == kindNull
		bNullish := b.k == kindUndefined || b.k == kindNull
		if aNullish || bNullish {
			return aNullish && bNullish
		}
		switch {
		case a.k == kindNumber && b.k == kindString:
			return a.n == stringToNumber(b.s)
		case a.k == kindString && b.k == kindNumber:
			return stringToNumber(a.s) == b.n
		case a.k == kindBool:
			a = numberValue(a.toNumber())
		case b.k == kindBool:
			b = numberValue(b.toNumber())
		case a.k == kindArray || a.k == kindObject:
			a = a.toPrimitive()
		case b.k == kindArray || b.k == kindObject:
			b = b.toPrimitive()
		default:
			return false
		}
	}
}

// strictEquals is JavaScript's === operator.
func strictEquals(a, b value) bool {
	if a.k != b.k {
		return false
	}
	return strictSameKind(a, b)
}

func strictSameKind(a, b value) bool {
	switch a.k {
	case kindUndefined, kindNull:
		return true
	case kindBool:
		return a.b == b.b
	case kindNumber:
		return a.n == b.n
	case kindString:
		return a.s == b.s
	case kindArray:
		// Distinct arrays are never identical in JavaScript; the same decoded
		// literal compared with itself is.
		return len(a.arr) > 0 && len(a.arr) == len(b.arr) && &a.arr[0] == &b.arr[0]
	case kindObject:
		return sameMap(a.obj, b.obj)
	}
	return false
}

// sameMap reports whether a and b are the same map: maps are reference
// types, and identity is what JavaScript compares for objects.
func sameMap(a, b map[string]any) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// compareJS orders a and b as JavaScript's relational operators do. ok is false when the comparison is
// undefined (a NaN operand), in which case every relational operator is false.
func compareJS(a, b value) (cmp int, ok bool) {
	a, b = a.toPrimitive(), b.toPrimitive()
	if a.k == kindString && b.k == kindString {
		return strings.Compare(a.s, b.s), true
	}
	x, y := a.toNumber(), b.toNumber()
	if math.IsNaN(x) || math.IsNaN(y) {
		return 0, false
	}
	switch {
	case x < y:
		return -1, true
	case x > y:
		return 1, true
	}
	return 0, true
}
