package jsonlogic

import (
	"cmp"
	"math"
	"reflect"
	"unicode/utf8"
)

// looseEquals is JavaScript's == operator.
func looseEquals(a, b Value) bool {
	for {
		if a.k == b.k || (a.isObject() && b.isObject()) {
			return strictEquals(a, b) // arrays and objects are both JavaScript objects: identity
		}
		aNullish := a.k == KindUndefined || a.k == KindNull
		bNullish := b.k == KindUndefined || b.k == KindNull
		if aNullish || bNullish {
			return aNullish && bNullish
		}
		switch {
		case a.k == KindNumber && b.k == KindString:
			return a.n == stringToNumber(b.s)
		case a.k == KindString && b.k == KindNumber:
			return stringToNumber(a.s) == b.n
		case a.k == KindBool:
			a = Number(a.ToNumber())
		case b.k == KindBool:
			b = Number(b.ToNumber())
		case a.isObject():
			a = a.toPrimitive()
		case b.isObject():
			b = b.toPrimitive()
		default:
			return false
		}
	}
}

// isObject reports whether v is a JavaScript object: an array or an object.
func (v Value) isObject() bool { return v.k == KindArray || v.k == KindObject }

// strictEquals is JavaScript's === operator.
func strictEquals(a, b Value) bool {
	return a.k == b.k && strictSameKind(a, b)
}

func strictSameKind(a, b Value) bool {
	switch a.k {
	case KindUndefined, KindNull:
		return true
	case KindBool:
		return a.b == b.b
	case KindNumber:
		return a.n == b.n
	case KindString:
		return a.s == b.s
	case KindArray:
		// Distinct arrays are never identical in JavaScript; the same decoded
		// literal compared with itself is.
		return len(a.arr) > 0 && len(a.arr) == len(b.arr) && &a.arr[0] == &b.arr[0]
	case KindObject:
		// Maps are references: identity is what JavaScript compares.
		return reflect.ValueOf(a.obj).UnsafePointer() == reflect.ValueOf(b.obj).UnsafePointer()
	}
	return false
}

// compareJS orders a and b as JavaScript's relational operators do. ok is
// false when the comparison is undefined (a NaN operand), in which case every
// relational operator is false.
func compareJS(a, b Value) (order int, ok bool) {
	a, b = a.toPrimitive(), b.toPrimitive()
	if a.k == KindString && b.k == KindString {
		return compareUTF16(a.s, b.s), true
	}
	x, y := a.ToNumber(), b.ToNumber()
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

// compareUTF16 orders two strings as JavaScript does, by UTF-16 code units.
// That is the order of their code points (Go's byte order of UTF-8) except
// where a character outside the Basic Multilingual Plane, a surrogate pair
// in UTF-16 (0xD800-0xDBFF first), meets one from U+E000 to U+FFFF.
func compareUTF16(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			if (ra >= 0x10000) != (rb >= 0x10000) {
				ra, rb = utf16Lead(ra), utf16Lead(rb)
			}
			return cmp.Compare(ra, rb)
		}
		a, b = a[na:], b[nb:]
	}
	return cmp.Compare(len(a), len(b))
}

// utf16Lead is the first UTF-16 code unit of r: its high surrogate when r
// is outside the Basic Multilingual Plane.
func utf16Lead(r rune) rune {
	if r >= 0x10000 {
		return 0xD800 + (r-0x10000)>>10
	}
	return r
}
