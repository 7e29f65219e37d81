package jsonlogic

// and, or: the first argument that decides (falsy for "and", truthy for
// "or"), else the last; "!" and "!!": the negated or plain truth of the
// first argument; if and ?: the value of the first branch whose condition
// is truthy, else the last argument (or null).

func compileAndOr(c *compiler, op operation) (Expr, error) {
	es, err := c.args(op)
	if err != nil {
		return nil, err
	}
	isAnd := op.name == "and"
	return func(d Data) Value {
		var last Value
		for _, e := range es {
			last = e(d)
			if last.Truthy() != isAnd {
				return last
			}
		}
		return last
	}, nil
}

func compileNot(c *compiler, op operation) (Expr, error) {
	es, err := c.args(op)
	if err != nil {
		return nil, err
	}
	a := argOrUndefined(es, 0)
	negate := op.name == "!"
	return func(d Data) Value { return Bool(a(d).Truthy() != negate) }, nil
}

func compileIf(c *compiler, op operation) (Expr, error) {
	es, err := c.args(op)
	if err != nil {
		return nil, err
	}
	return func(d Data) Value {
		i := 0
		for ; i+1 < len(es); i += 2 {
			if es[i](d).Truthy() {
				return es[i+1](d)
			}
		}
		if i < len(es) {
			return es[i](d)
		}
		return nullValue
	}, nil
}
