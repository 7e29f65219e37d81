package jsonlogic_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/targetflow/targetflow/internal/jsonlogic"
)

func decode(rule string) any {
	var v any
	if err := json.Unmarshal([]byte(rule), &v); err != nil {
		panic(err)
	}
	return v
}

func Example() {
	rule := decode(`{"and": [
		{">=": [{"var": "age"}, 18]},
		{"in": [{"var": "country"}, ["FR", "DE"]]}
	]}`)
	adult, err := jsonlogic.Compile(rule, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(adult(jsonlogic.ValueOf(decode(`{"age": 30, "country": "FR"}`))))
	fmt.Println(adult(jsonlogic.ValueOf(decode(`{"age": "17", "country": "FR"}`))))

	greeting, _ := jsonlogic.CompileExpr(decode(`{"cat": ["Hello, ", {"var": ["name", "visitor"]}, "!"]}`), nil)
	fmt.Println(greeting(jsonlogic.ValueOf(decode(`{}`))))

	_, err = jsonlogic.Compile(decode(`{"or": [true, {"regex": ["a", "b"]}]}`), nil)
	var ce *jsonlogic.CompileError
	fmt.Println(errors.As(err, &ce), ce.Op, ce.Path)
	// Output:
	// true
	// false
	// Hello, visitor!
	// true regex or[1]
}

// visitor is a caller's own context, as Data.
type visitor struct{ browser, city string }

// Root is the context as generic data, for the paths Vars does not resolve.
func (v *visitor) Root() jsonlogic.Value {
	return jsonlogic.ValueOf(map[string]any{"geo": map[string]any{"city": v.city}})
}

// A caller with its own context resolves the variables its rules use into
// direct reads of it.
func ExampleVars() {
	vars := func(path string) (func(jsonlogic.Data) jsonlogic.Value, bool) {
		if path == "user.browserType" {
			return func(d jsonlogic.Data) jsonlogic.Value { return jsonlogic.String(d.(*visitor).browser) }, true
		}
		return nil, false // looked up in Root
	}
	rule, err := jsonlogic.Compile(decode(`{"and": [
		{"==": ["chrome", {"var": "user.browserType"}]},
		{"==": [{"var": "geo.city"}, "Paris"]}
	]}`), vars)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rule(&visitor{browser: "chrome", city: "Paris"}), rule(&visitor{browser: "firefox", city: "Paris"}))
	// Output: true false
}
