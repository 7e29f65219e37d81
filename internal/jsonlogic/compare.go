package jsonlogic

// ==, !=, ===, !==: JavaScript's loose and strict equality of the first two
// arguments; <, <=, >, >=: JavaScript's relational comparison, with
// json-logic's "between" for three arguments of < and <= ({"<": [a, b, c]}
// is a < b < c).

func compileEquality(c *compiler, op operation) (Expr, error) {
	es, err := c.args(op)
	if err != nil {
		return nil, err
	}
	a, b := argOrUndefined(es, 0), argOrUndefined(es, 1)
	strict := op.name == "===" || op.name == "!=="
	negate := op.name == "!=" || op.name == "!=="
	if len(es) == 2 {
		// Fast path: comparing with a string literal, as Target's
		// conditions do ({"==": ["chrome", {"var": "user.browserType"}]}).
		want, ok := op.args[0].(string)
		other := b
		if !ok {
			want, ok = op.args[1].(string)
			other = a
		}
		if ok {
			lit := String(want)
			return func(d Data) Value {
				v := other(d)
				if v.k == KindString {
					return Bool((v.s == want) != negate)
				}
				if strict {
					return Bool(negate)
				}
				return Bool(looseEquals(v, lit) != negate)
			}, nil
		}
	}
	if strict {
		return func(d Data) Value { return Bool(strictEquals(a(d), b(d)) != negate) }, nil
	}
	return func(d Data) Value { return Bool(looseEquals(a(d), b(d)) != negate) }, nil
}

// holds reports whether x op y, JavaScript's relational operator op.
func holds(op string, x, y Value) bool {
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

func compileRelational(c *compiler, op operation) (Expr, error) {
	es, err := c.args(op)
	if err != nil {
		return nil, err
	}
	name := op.name
	a, b := argOrUndefined(es, 0), argOrUndefined(es, 1)
	if len(es) == 2 {
		// Fast path: comparing with a number literal, as allocation and
		// timing conditions do ({"<=": [0, {"var": "allocation"}]}).
		if n, ok := op.args[1].(float64); ok {
			return relationalWithNumber(name, a, n, false), nil
		}
		if n, ok := op.args[0].(float64); ok {
			return relationalWithNumber(name, b, n, true), nil
		}
	}
	if (name == "<" || name == "<=") && len(es) >= 3 {
		c := es[2]
		return func(d Data) Value {
			x, y, z := a(d), b(d), c(d)
			if z.k == KindUndefined {
				return Bool(holds(name, x, y))
			}
			return Bool(holds(name, x, y) && holds(name, y, z))
		}, nil
	}
	return func(d Data) Value { return Bool(holds(name, a(d), b(d))) }, nil
}

// relationalWithNumber compiles x op n (n op x when flipped) with a direct
// float comparison when x yields a number.
func relationalWithNumber(op string, x Expr, n float64, flipped bool) Expr {
	lit := Number(n)
	slow := func(v Value) Value {
		if flipped {
			return Bool(holds(op, lit, v))
		}
		return Bool(holds(op, v, lit))
	}
	cmp := op
	if flipped {
		// n op v is v op' n with the comparison mirrored.
		cmp = map[string]string{"<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
	}
	switch cmp {
	case "<":
		return func(d Data) Value {
			if v := x(d); v.k == KindNumber {
				return Bool(v.n < n)
			} else {
				return slow(v)
			}
		}
	case "<=":
		return func(d Data) Value {
			if v := x(d); v.k == KindNumber {
				return Bool(v.n <= n)
			} else {
				return slow(v)
			}
		}
	case ">":
		return func(d Data) Value {
			if v := x(d); v.k == KindNumber {
				return Bool(v.n > n)
			} else {
				return slow(v)
			}
		}
	}
	return func(d Data) Value {
		if v := x(d); v.k == KindNumber {
			return Bool(v.n >= n)
		} else {
			return slow(v)
		}
	}
}
