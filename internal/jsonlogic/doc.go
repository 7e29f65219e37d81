// Package jsonlogic compiles json-logic rules (https://jsonlogic.com), the
// conditions of Adobe Target's on-device artifacts, into Go closures that
// evaluate them as json-logic-js 2.0.2 does: the version the Target
// Node.js SDK bundles, whose JavaScript value semantics (==, ===, <, ToNumber,
// ToString, truthiness) this package follows so that a rule matches here
// exactly when it matches in the SDKs.
//
// Compile turns a rule, as encoding/json decodes it, into a Predicate;
// CompileExpr into an Expr yielding the rule's Value. Both are built once
// and evaluated any number of times, concurrently, against Data: a Value,
// or the caller's own context. A caller with its own context passes Vars,
// which resolves the variable paths a rule names ({"var": "user.browserType"})
// at compile time into direct reads of that context, so that evaluating a
// rule reads fields instead of building and walking generic data; paths it
// does not resolve are looked up in Data.Root.
//
// Every operator of json-logic-js is compiled, from a table grouped by
// family, one file each: logic.go (and, or, !, !!, if, ?:), compare.go (==,
// !=, ===, !==, <, <=, >, >=), arithmetic.go (+, -, *, /, %, min, max),
// strings.go (cat, substr), arrays.go (in, merge, all, some, none, filter,
// map, reduce), data.go (var, missing, missing_some) and misc.go (log,
// which prints nothing). An operator json-logic does not have is a
// *CompileError naming it and where it is in the rule, even in a branch
// json-logic-js would not have evaluated.
//
// Where this package knowingly differs from json-logic-js: properties of
// JavaScript's prototypes ({"var": "x.toString"}) are not there; an array
// read twice from the data is two arrays for ===; a code unit cut from a
// surrogate pair ({"var": "s.0"}, substr) becomes U+FFFD.
package jsonlogic
