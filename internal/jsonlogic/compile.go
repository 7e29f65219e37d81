package jsonlogic

import (
	"fmt"
	"strconv"
)

// Data is what a compiled rule is evaluated against. Root is the whole data
// as one value: what {"var": ""} yields, and where paths that Vars does not
// resolve are looked up. A Value is Data whose root is itself.
type Data interface {
	Root() Value
}

// Vars resolves, at compile time, a variable path of a rule ({"var":
// "user.browserType"}) into a direct reader of the Data the rule will be
// evaluated against. The reader yields the zero Value (undefined) when the
// variable is absent; alwaysPresent says that it never does, and the
// compiler then uses what it reads without checking. A nil Vars, or a nil
// reader, looks the path up in Data.Root as json-logic does: dotted keys of
// objects and indexes of arrays.
type Vars func(path string) (read func(Data) Value, alwaysPresent bool)

// Expr is a compiled json-logic expression: it yields the rule's value.
type Expr func(Data) Value

// Predicate is a compiled json-logic rule evaluated for its truth: whether
// its value is truthy in JavaScript, as Target's SDKs test a rule (an empty
// array is true here, unlike json-logic's own truthiness inside "if", "and",
// "!" ...).
type Predicate func(Data) bool

// CompileError says which operator of a rule cannot be compiled, where it
// is in the rule, and why.
type CompileError struct {
	Op     string // the operator, as written in the rule
	Path   string // where it is: "" for the rule itself, "and[1]" for the second argument of a top-level "and" ...
	Reason string
}

func (e *CompileError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("json-logic operator %q: %s", e.Op, e.Reason)
	}
	return fmt.Sprintf("json-logic operator %q at %s: %s", e.Op, e.Path, e.Reason)
}

// Compile compiles a json-logic rule, as encoding/json decodes it, into a
// Predicate. Operators whose value is always a boolean (comparisons, "!",
// "!!", "in", "all", "some", "none", and "and"/"or" over those) yield their
// truth directly, without building values. An operator that json-logic does
// not have, or that would throw in json-logic-js ("*" of nothing), is a
// *CompileError.
func Compile(rule any, vars Vars) (Predicate, error) {
	c := compiler{vars: vars, operators: operators}
	if isBooleanExpression(rule) {
		return c.predicate(rule, "")
	}
	e, err := c.expr(rule, "")
	if err != nil {
		return nil, err
	}
	return func(d Data) bool { return e(d).jsTruthy() }, nil
}

// CompileExpr compiles a json-logic rule, as encoding/json decodes it, into
// an Expr yielding its value.
func CompileExpr(rule any, vars Vars) (Expr, error) {
	c := compiler{vars: vars, operators: operators}
	return c.expr(rule, "")
}

// compiler holds what compiling one rule needs.
type compiler struct {
	vars Vars
	// operators is the package's table, reached through the compiler so
	// that the table's functions, which compile their arguments, do not
	// refer to the table they are in (an initialization cycle).
	operators map[string]compileFunc
}

// operation is one operator of a rule with its arguments.
type operation struct {
	name string
	args []any
	path string // where the operator is in the rule
}

// compileFunc compiles one operator; see operators.
type compileFunc func(c *compiler, op operation) (Expr, error)

func (op operation) errorf(format string, args ...any) error {
	return &CompileError{Op: op.name, Path: op.path, Reason: fmt.Sprintf(format, args...)}
}

// argPath names argument i of op in error messages.
func (op operation) argPath(i int) string {
	p := op.name + "[" + strconv.Itoa(i) + "]"
	if op.path != "" {
		p = op.path + "." + p
	}
	return p
}

// expr compiles the node found at path of the rule.
func (c *compiler) expr(node any, path string) (Expr, error) {
	switch x := node.(type) {
	case map[string]any:
		if len(x) != 1 {
			// Not an operation: json-logic takes it as data.
			return constant(ValueOf(x)), nil
		}
		for name, raw := range x {
			args, ok := raw.([]any)
			if !ok {
				args = []any{raw} // {"var": "a"} is {"var": ["a"]}
			}
			op := operation{name: name, args: args, path: path}
			compile, known := c.operators[name]
			if !known {
				return nil, op.errorf("not a json-logic operator")
			}
			return compile(c, op)
		}
	case []any:
		items := make([]Expr, len(x))
		for i, e := range x {
			item, err := c.expr(e, path+"["+strconv.Itoa(i)+"]")
			if err != nil {
				return nil, err
			}
			items[i] = item
		}
		return func(d Data) Value {
			arr := make([]Value, len(items))
			for i, item := range items {
				arr[i] = item(d)
			}
			return arrayValue(arr)
		}, nil
	}
	return constant(ValueOf(node)), nil
}

func constant(v Value) Expr { return func(Data) Value { return v } }

// args compiles op's arguments. json-logic takes any number: a missing
// one is undefined, extra ones are evaluated and ignored.
func (c *compiler) args(op operation) ([]Expr, error) {
	out := make([]Expr, len(op.args))
	for i, a := range op.args {
		e, err := c.expr(a, op.argPath(i))
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

// argOrUndefined returns the i-th compiled argument, or one yielding
// undefined when there is none (JavaScript's missing argument).
func argOrUndefined(es []Expr, i int) Expr {
	if i < len(es) {
		return es[i]
	}
	return constant(Value{})
}
