package jsonlogic

// isBooleanExpression reports whether node's value is always a boolean: an
// operator of booleanOperators, or "and"/"or" over at least one boolean
// expression each (whose value is then one of those booleans).
func isBooleanExpression(node any) bool {
	m, ok := node.(map[string]any)
	if !ok || len(m) != 1 {
		return false
	}
	for name, args := range m {
		if booleanOperators[name] {
			return true
		}
		if name != "and" && name != "or" {
			return false
		}
		list, ok := args.([]any)
		if !ok || len(list) == 0 {
			return false
		}
		for _, a := range list {
			if !isBooleanExpression(a) {
				return false
			}
		}
		return true
	}
	return false
}

// predicate compiles a node, at path of the rule, for which
// isBooleanExpression holds: "and" and "or" stop at the first operand that
// decides, and the truth of the other operators is read from their value
// without testing it.
func (c *compiler) predicate(node any, path string) (Predicate, error) {
	for name, raw := range node.(map[string]any) {
		if name != "and" && name != "or" {
			break
		}
		op := operation{name: name, path: path}
		list := raw.([]any)
		parts := make([]Predicate, len(list))
		for i, a := range list {
			p, err := c.predicate(a, op.argPath(i))
			if err != nil {
				return nil, err
			}
			parts[i] = p
		}
		if name == "and" {
			return func(d Data) bool {
				for _, p := range parts {
					if !p(d) {
						return false
					}
				}
				return true
			}, nil
		}
		return func(d Data) bool {
			for _, p := range parts {
				if p(d) {
					return true
				}
			}
			return false
		}, nil
	}
	e, err := c.expr(node, path)
	if err != nil {
		return nil, err
	}
	return func(d Data) bool { return e(d).b }, nil
}
