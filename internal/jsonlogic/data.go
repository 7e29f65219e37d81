package jsonlogic

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
)

// var: the value at a dotted path of the data ({"var": "user.browserType"},
// {"var": "items.0"}, {"var": "name.length"}), or its second argument
// (default null) when there is none; the whole data for an empty or null
// path. missing: the keys, of the
// first argument when it is an array or else of all arguments, whose
// variable is absent, null or "".

func compileVar(c *compiler, op operation) (Expr, error) {
	for i := 2; i < len(op.args); i++ {
		// Ignored, but json-logic-js evaluates them: they must compile.
		if _, err := c.expr(op.args[i], op.argPath(i)); err != nil {
			return nil, err
		}
	}
	fallback := constant(nullValue)
	if len(op.args) > 1 {
		e, err := c.expr(op.args[1], op.argPath(1))
		if err != nil {
			return nil, err
		}
		fallback = func(d Data) Value {
			if v := e(d); v.k != KindUndefined {
				return v
			}
			return nullValue // an undefined default is null
		}
	}
	if len(op.args) == 0 {
		return root, nil
	}
	var path string
	switch p := op.args[0].(type) {
	case nil:
		return root, nil
	case string:
		path = p
	case float64:
		path = FormatNumber(p)
	default:
		// A path computed when the rule is evaluated.
		pathExpr, err := c.expr(p, op.argPath(0))
		if err != nil {
			return nil, err
		}
		return func(d Data) Value {
			if v := lookupVar(d, pathExpr(d)); v.k != KindUndefined {
				return v
			}
			return fallback(d)
		}, nil
	}
	if path == "" {
		return root, nil
	}
	var get func(Data) Value
	alwaysPresent := false
	if c.vars != nil {
		get, alwaysPresent = c.vars(path)
	}
	if get == nil {
		get, alwaysPresent = func(d Data) Value { return lookup(d.Root(), path) }, false
	}
	if alwaysPresent {
		return get, nil
	}
	if len(op.args) < 2 {
		return func(d Data) Value {
			if v := get(d); v.k != KindUndefined {
				return v
			}
			return nullValue
		}, nil
	}
	return func(d Data) Value {
		if v := get(d); v.k != KindUndefined {
			return v
		}
		return fallback(d)
	}, nil
}

func root(d Data) Value { return d.Root() }

// lookupVar is var with a path known only at evaluation time: undefined
// when absent.
func lookupVar(d Data, path Value) Value {
	if path.k == KindUndefined || path.k == KindNull || (path.k == KindString && path.s == "") {
		return d.Root()
	}
	return lookup(d.Root(), path.String())
}

// lookup walks a dotted path through data as json-logic's var does: a
// missing step is undefined.
func lookup(data Value, path string) Value {
	cur := data
	for part := range strings.SplitSeq(path, ".") {
		switch cur.k {
		case KindObject:
			v, ok := cur.obj[part]
			if !ok {
				return Value{}
			}
			cur = ValueOf(v)
		case KindArray:
			if part == "length" {
				cur = Number(float64(len(cur.arr)))
				continue
			}
			i, ok := index(part, len(cur.arr))
			if !ok {
				return Value{}
			}
			cur = cur.arr[i]
		case KindString:
			units := utf16.Encode([]rune(cur.s))
			if part == "length" {
				cur = Number(float64(len(units)))
				continue
			}
			i, ok := index(part, len(units))
			if !ok {
				return Value{}
			}
			cur = String(string(utf16.Decode(units[i : i+1])))
		default:
			return Value{}
		}
	}
	return cur
}

// index reads an array index: a canonical decimal integer ("1", not "01"
// or "1.0") below n.
func index(part string, n int) (int, bool) {
	i, err := strconv.Atoi(part)
	return i, err == nil && i >= 0 && i < n && strconv.Itoa(i) == part
}

func compileMissing(c *compiler, op operation) (Expr, error) {
	es, err := c.args(op)
	if err != nil {
		return nil, err
	}
	return func(d Data) Value {
		keys := make([]Value, len(es))
		for i, e := range es {
			keys[i] = e(d)
		}
		return missing(d, keys)
	}, nil
}

// missing is json-logic's missing of its evaluated arguments.
func missing(d Data, args []Value) Value {
	keys := args
	if len(args) > 0 && args[0].k == KindArray {
		keys = args[0].arr
	}
	out := []Value{}
	for _, key := range keys {
		v := lookupVar(d, key)
		if v.k == KindUndefined || v.k == KindNull || (v.k == KindString && v.s == "") {
			out = append(out, key)
		}
	}
	return arrayValue(out)
}

func compileMissingSome(c *compiler, op operation) (Expr, error) {
	es, err := c.args(op)
	if err != nil {
		return nil, err
	}
	need, options := argOrUndefined(es, 0), argOrUndefined(es, 1)
	return func(d Data) Value {
		opts := options(d)
		keys, length := []Value{opts}, math.NaN() // JavaScript's options.length
		switch opts.k {
		case KindArray:
			keys, length = opts.arr, float64(len(opts.arr))
		case KindString:
			length = float64(utf16Len(opts.s))
		}
		absent := missing(d, keys)
		if holds(">=", Number(length-float64(len(absent.arr))), need(d)) {
			return arrayValue([]Value{})
		}
		return absent
	}, nil
}

// utf16Len is the length of s in UTF-16 code units, JavaScript's length.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}
