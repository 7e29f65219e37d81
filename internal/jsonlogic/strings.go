package jsonlogic

import (
	"math"
	"strings"
	"unicode/utf16"
)

// cat: the arguments as strings, concatenated (null and undefined as "", as
// Array.prototype.join has them); substr: JavaScript's
// String.prototype.substr as json-logic has it (a negative start counts
// from the end, a negative length stops that many code units before it),
// on UTF-16 code units.

func compileCat(c *compiler, op operation) (Expr, error) {
	es, err := c.args(op)
	if err != nil {
		return nil, err
	}
	return func(d Data) Value {
		var sb strings.Builder
		for _, e := range es {
			if v := e(d); v.k != KindUndefined && v.k != KindNull {
				sb.WriteString(v.String())
			}
		}
		return String(sb.String())
	}, nil
}

func compileSubstr(c *compiler, op operation) (Expr, error) {
	es, err := c.args(op)
	if err != nil {
		return nil, err
	}
	str, start := argOrUndefined(es, 0), argOrUndefined(es, 1)
	length := argOrUndefined(es, 2)
	return func(d Data) Value {
		s, from, l := str(d).String(), start(d).ToNumber(), length(d)
		if l.k == KindUndefined {
			return String(substr(s, from, math.Inf(1)))
		}
		return String(substr(s, from, l.ToNumber()))
	}, nil
}

// substr cuts str from start, for length code units (a negative length
// stops that many before the end); a NaN start or length is 0, as
// JavaScript's ToIntegerOrInfinity has it.
func substr(str string, start, length float64) string {
	units := utf16.Encode([]rune(str))
	n := len(units)
	from := clampInt(start, n)
	if from < 0 {
		from = max(n+from, 0)
	}
	from = min(from, n)
	// json-logic-js cuts a negative length off the end of what follows
	// start, before it truncates: -0.5 cuts half a unit, that is none.
	if length < 0 {
		length += float64(n - from)
	}
	to := from + max(0, min(clampInt(length, n), n-from))
	return string(utf16.Decode(units[from:to]))
}

// clampInt truncates x to an integer within [-n-1, n+1] (0 for NaN): beyond
// that every position is the same, and the conversion cannot overflow.
func clampInt(x float64, n int) int {
	if math.IsNaN(x) {
		return 0
	}
	limit := float64(n + 1)
	return int(math.Max(-limit, math.Min(limit, math.Trunc(x))))
}
