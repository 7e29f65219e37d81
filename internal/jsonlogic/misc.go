package jsonlogic

// log: its first argument. json-logic-js also prints it on the console;
// here nothing is printed.

func compileLog(c *compiler, op operation) (Expr, error) {
	es, err := c.args(op)
	if err != nil {
		return nil, err
	}
	return argOrUndefined(es, 0), nil
}
