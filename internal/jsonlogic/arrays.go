package jsonlogic

import "strings"

// in: whether the second argument, a string, contains the first as a
// substring, or, an array, holds it (strictly equal); merge: the arguments
// concatenated into one array, arrays flattened one level.
//
// all, some, none, filter, map and reduce apply the logic of their second
// argument to each element of the array their first argument yields, with
// the element as the data ({"var": ""} is the element; reduce's data is
// {"current": element, "accumulator": value so far}, starting from its
// third argument, taken literally, or null). all and some of an empty array
// are false, none of it true.

func compileIn(c *compiler, op operation) (Expr, error) {
	es, err := c.args(op)
	if err != nil {
		return nil, err
	}
	a, b := argOrUndefined(es, 0), argOrUndefined(es, 1)
	return func(d Data) Value { return Bool(contains(b(d), a(d))) }, nil
}

// contains is json-logic's "in".
func contains(haystack, needle Value) bool {
	switch haystack.k {
	case KindString:
		// json-logic answers false for a falsy haystack, "" included.
		return haystack.s != "" && strings.Contains(haystack.s, needle.String())
	case KindArray:
		for _, e := range haystack.arr {
			if strictEquals(e, needle) {
				return true
			}
		}
	}
	return false
}

func compileMerge(c *compiler, op operation) (Expr, error) {
	es, err := c.args(op)
	if err != nil {
		return nil, err
	}
	return func(d Data) Value {
		out := []Value{}
		for _, e := range es {
			if v := e(d); v.k == KindArray {
				out = append(out, v.arr...)
			} else {
				out = append(out, v)
			}
		}
		return arrayValue(out)
	}, nil
}

// scoped compiles the array (the first argument) and the logic (the
// second) of a scoped operator. The logic reads its variables from each
// element, not from the rule's data, so it is compiled without Vars.
func (c *compiler) scoped(op operation) (list, logic Expr, err error) {
	list, logic = constant(Value{}), constant(Value{})
	if len(op.args) > 0 {
		if list, err = c.expr(op.args[0], op.argPath(0)); err != nil {
			return nil, nil, err
		}
	}
	if len(op.args) > 1 {
		inner := compiler{operators: c.operators}
		if logic, err = inner.expr(op.args[1], op.argPath(1)); err != nil {
			return nil, nil, err
		}
	}
	return list, logic, nil
}

func compileQuantifier(c *compiler, op operation) (Expr, error) {
	list, logic, err := c.scoped(op)
	if err != nil {
		return nil, err
	}
	// all stops at the first falsy element, some and none at the first
	// truthy one.
	stopAt, stopped, empty := false, false, false // all
	switch op.name {
	case "some":
		stopAt, stopped, empty = true, true, false
	case "none":
		stopAt, stopped, empty = true, false, true
	}
	return func(d Data) Value {
		arr := list(d)
		if arr.k != KindArray || len(arr.arr) == 0 {
			return Bool(empty)
		}
		for i := range arr.arr {
			if logic(&arr.arr[i]).Truthy() == stopAt {
				return Bool(stopped)
			}
		}
		return Bool(!stopped)
	}, nil
}

func compileFilterMap(c *compiler, op operation) (Expr, error) {
	list, logic, err := c.scoped(op)
	if err != nil {
		return nil, err
	}
	isFilter := op.name == "filter"
	return func(d Data) Value {
		arr := list(d)
		out := []Value{}
		if arr.k != KindArray {
			return arrayValue(out)
		}
		for i := range arr.arr {
			v := logic(&arr.arr[i])
			switch {
			case !isFilter:
				out = append(out, v)
			case v.Truthy():
				out = append(out, arr.arr[i])
			}
		}
		return arrayValue(out)
	}, nil
}

func compileReduce(c *compiler, op operation) (Expr, error) {
	list, logic, err := c.scoped(op)
	if err != nil {
		return nil, err
	}
	initial := nullValue
	if len(op.args) > 2 {
		initial = ValueOf(op.args[2]) // json-logic-js takes it as it is written
	}
	return func(d Data) Value {
		arr := list(d)
		if arr.k != KindArray {
			return initial
		}
		acc := initial
		for _, e := range arr.arr {
			acc = logic(&reduceStep{current: e, accumulator: acc})
		}
		return acc
	}, nil
}

// reduceStep is the data of one step of reduce.
type reduceStep struct {
	current, accumulator Value
	root                 *Value
}

func (s *reduceStep) Root() Value {
	if s.root == nil {
		m := make(map[string]any, 2)
		if s.current.k != KindUndefined {
			m["current"] = s.current.toAny()
		}
		if s.accumulator.k != KindUndefined {
			m["accumulator"] = s.accumulator.toAny()
		}
		v := ValueOf(m)
		s.root = &v
	}
	return *s.root
}
