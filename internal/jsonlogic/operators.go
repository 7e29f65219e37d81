package jsonlogic

// operators is the table of json-logic operators this package compiles,
// by family; each family is in its own file.
var operators = map[string]compileFunc{
	// logic.go
	"and": compileAndOr,
	"or":  compileAndOr,
	"!":   compileNot,
	"!!":  compileNot,
	"if":  compileIf,
	"?:":  compileIf,

	// compare.go
	"==":  compileEquality,
	"!=":  compileEquality,
	"===": compileEquality,
	"!==": compileEquality,
	"<":   compileRelational,
	"<=":  compileRelational,
	">":   compileRelational,
	">=":  compileRelational,

	// arithmetic.go
	"+":   compileSumProduct,
	"*":   compileSumProduct,
	"-":   compileMinus,
	"/":   compileDivide,
	"%":   compileDivide,
	"min": compileMinMax,
	"max": compileMinMax,

	// strings.go
	"cat":    compileCat,
	"substr": compileSubstr,

	// arrays.go
	"in":     compileIn,
	"merge":  compileMerge,
	"all":    compileQuantifier,
	"some":   compileQuantifier,
	"none":   compileQuantifier,
	"filter": compileFilterMap,
	"map":    compileFilterMap,
	"reduce": compileReduce,

	// data.go
	"var":          compileVar,
	"missing":      compileMissing,
	"missing_some": compileMissingSome,

	// misc.go
	"log": compileLog,
}

// booleanOperators are the operators whose value is always a boolean.
var booleanOperators = map[string]bool{
	"==": true, "!=": true, "===": true, "!==": true,
	"<": true, "<=": true, ">": true, ">=": true,
	"!": true, "!!": true, "in": true,
	"all": true, "some": true, "none": true,
}
