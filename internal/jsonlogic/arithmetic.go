package jsonlogic

import "math"

// As json-logic-js has them: "+" sums its arguments read with parseFloat
// ("12px" is 12, null is NaN); "*" multiplies them likewise, except that a
// single argument is its value unchanged (and none is an error, as
// json-logic-js throws); "-" subtracts the second from the first, or
// negates a lone one; "/" and "%" are JavaScript's; "min" and "max" are
// Math.min and Math.max (NaN when an argument is not a number, Infinity and
// -Infinity for none).

func compileSumProduct(c *compiler, op operation) (Expr, error) {
	es, err := c.args(op)
	if err != nil {
		return nil, err
	}
	if op.name == "+" {
		return func(d Data) Value {
			sum := 0.0
			for _, e := range es {
				sum += e(d).parseFloat()
			}
			return Number(sum)
		}, nil
	}
	switch len(es) {
	case 0:
		return nil, op.errorf("needs at least 1 argument")
	case 1:
		return es[0], nil
	}
	return func(d Data) Value {
		product := es[0](d).parseFloat()
		for _, e := range es[1:] {
			product *= e(d).parseFloat()
		}
		return Number(product)
	}, nil
}

// parseFloat is JavaScript's parseFloat of v.
func (v Value) parseFloat() float64 {
	if v.k == KindNumber {
		return v.n
	}
	return parseFloat(v.String())
}

func compileMinus(c *compiler, op operation) (Expr, error) {
	es, err := c.args(op)
	if err != nil {
		return nil, err
	}
	a, b := argOrUndefined(es, 0), argOrUndefined(es, 1)
	return func(d Data) Value {
		x, y := a(d), b(d)
		if y.k == KindUndefined {
			return Number(-x.ToNumber())
		}
		return Number(x.ToNumber() - y.ToNumber())
	}, nil
}

func compileDivide(c *compiler, op operation) (Expr, error) {
	es, err := c.args(op)
	if err != nil {
		return nil, err
	}
	a, b := argOrUndefined(es, 0), argOrUndefined(es, 1)
	if op.name == "/" {
		return func(d Data) Value { return Number(a(d).ToNumber() / b(d).ToNumber()) }, nil
	}
	return func(d Data) Value { return Number(math.Mod(a(d).ToNumber(), b(d).ToNumber())) }, nil
}

func compileMinMax(c *compiler, op operation) (Expr, error) {
	es, err := c.args(op)
	if err != nil {
		return nil, err
	}
	isMin := op.name == "min"
	return func(d Data) Value {
		best := math.Inf(-1)
		if isMin {
			best = math.Inf(1)
		}
		for _, e := range es {
			n := e(d).ToNumber()
			switch {
			case math.IsNaN(n) || math.IsNaN(best):
				best = math.NaN()
			case isMin && n < best, !isMin && n > best:
				best = n
			}
		}
		return Number(best)
	}, nil
}
