package ondevice

// predicate is a compiled condition evaluated for its truth only: a rule
// applies when its condition's value is truthy.
type predicate func(*ruleScope) bool

// compilePredicate compiles a rule condition into a predicate. Operators
// whose value is always a boolean (comparisons, "!", "!!", "in", and "and"
// / "or" of those) are compiled to return their truth directly, without
// building values; anything else is evaluated as a value and tested with
// JavaScript truthiness, as the SDKs test a rule's result.
func compilePredicate(node any) (predicate, error) {
	if isBooleanExpression(node) {
		return compileBooleanExpression(node)
	}
	c, err := compileCondition(node)
	if err != nil {
		return nil, err
	}
	return func(s *ruleScope) bool { return c(s).jsTruthy() }, nil
}

// isBooleanOperator reports whether op's value is always a boolean.
func isBooleanOperator(op string) bool {
	switch op {
	case "==", "!=", "===", "!==", "<", "<=", ">", ">=", "!", "!!", "in":
		return true
	}
	return false
}

// isBooleanExpression reports whether node's value is always a boolean: a
// boolean operator, or "and"/"or" over at least one boolean expression
// each (whose value is then one of those booleans).
func isBooleanExpression(node any) bool {
	m, ok := node.(map[string]any)
	if !ok || len(m) != 1 {
		return false
	}
	for op, args := range m {
		if isBooleanOperator(op) {
			return true
		}
		if op != "and" && op != "or" {
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

// compileBooleanExpression compiles a node for which isBooleanExpression
// holds.
func compileBooleanExpression(node any) (predicate, error) {
	m := node.(map[string]any)
	for op, raw := range m {
		if op == "and" || op == "or" {
			list := raw.([]any)
			parts := make([]predicate, len(list))
			for i, a := range list {
				p, err := compileBooleanExpression(a)
				if err != nil {
					return nil, err
				}
				parts[i] = p
			}
			if op == "and" {
				return func(s *ruleScope) bool {
					for _, p := range parts {
						if !p(s) {
							return false
						}
					}
					return true
				}, nil
			}
			return func(s *ruleScope) bool {
				for _, p := range parts {
					if p(s) {
						return true
					}
				}
				return false
			}, nil
		}
	}
	// A boolean operator: its value is a boolean; read it directly.
	c, err := compileCondition(node)
	if err != nil {
		return nil, err
	}
	return func(s *ruleScope) bool { return c(s).b }, nil
}
