package delivery

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
)

// requestWithParameters puts a parameters value wherever a request has
// parameters.
func requestWithParameters(params string) string {
	return fmt.Sprintf(`{"context":{"channel":"web"},`+
		`"execute":{"pageLoad":{"parameters":%[1]s},"mboxes":[{"index":0,"name":"m","parameters":%[1]s,"profileParameters":%[1]s}]},`+
		`"prefetch":{"views":[{"parameters":%[1]s}]},`+
		`"notifications":[{"id":"n","type":"display","timestamp":1,"parameters":%[1]s}]}`, params)
}

// checkSameAsMethod decodes body with and without decodeParameters (with
// v1DecodeOptions, parameters are decoded by
// Parameters.UnmarshalJSON) and fails unless the requests, or the
// errors, are the same.
func checkSameAsMethod(t *testing.T, body string) {
	t.Helper()
	var viaMethod, viaFunc DeliveryRequest
	errMethod := jsonv2.Unmarshal([]byte(body), &viaMethod, v1DecodeOptions)
	errFunc := jsonv2.Unmarshal([]byte(body), &viaFunc, requestDecodeOptions)
	if (errMethod == nil) != (errFunc == nil) {
		t.Fatalf("%s\nmethod error: %v\nfunc error: %v", body, errMethod, errFunc)
	}
	if errMethod != nil {
		if errMethod.Error() != errFunc.Error() {
			t.Fatalf("%s\nmethod error: %v\nfunc error:   %v", body, errMethod, errFunc)
		}
		var semMethod, semFunc *jsonv2.SemanticError
		if errors.As(errMethod, &semMethod) != errors.As(errFunc, &semFunc) {
			t.Fatalf("%s: only one error is semantic: %v / %v", body, errMethod, errFunc)
		}
		if semMethod != nil && (semMethod.JSONPointer != semFunc.JSONPointer || semMethod.GoType != semFunc.GoType ||
			semMethod.JSONKind != semFunc.JSONKind || semMethod.ByteOffset != semFunc.ByteOffset) {
			t.Fatalf("%s: semantic errors differ:\n%+v\n%+v", body, semMethod, semFunc)
		}
		return
	}
	if !reflect.DeepEqual(viaMethod, viaFunc) {
		t.Fatalf("%s\nmethod: %+v\nfunc:   %+v", body, viaMethod.Execute.Mboxes, viaFunc.Execute.Mboxes)
	}
}

func TestDecodeParametersMatchesTheMethod(t *testing.T) {
	t.Parallel()
	for _, params := range []string{
		`{"a":"b"}`, `{}`, ` { } `, `null`, `{"a":null}`, `{"a":""}`,
		`{"a":1}`, `{"a":-1.5e3,"b":0}`, `{"a":true,"b":false}`, `{"a":1024,"b":"x"}`,
		`{"a":"x","a":"y"}`, `{"a":1,"a":"y"}`, `{"a":"y","a":null}`,
		`{ "a" : "b" , "c" : 1 ,"d":true}`, "{\n\t\"a\":\r\n\"b\"\n}",
		`{"url":"https://shop.example:8443/cart?x=1"}`, `{"a:b":"c:d"}`,
		`{"é":"ü"}`, `{"a":"\u00e9"}`, `{"a":"\ud800"}`, `{"a":"\n\t\"\\"}`, `{"a\"b":"c"}`,
		"{\"a\":\"\xff\xfe\"}", "{\"\xff\":\"b\"}",
		`{"a":{}}`, `{"a":{"b":"c"}}`, `{"a":[1]}`, `{"a":[]}`, `{"a":"b","c":[1]}`,
		`"str"`, `[1,2]`, `[]`, `1`, `true`, `false`,
		`{"a":"b"`, `{"a":}`, `{"a" "b"}`, `{a:"b"}`,
	} {
		t.Run(params, func(t *testing.T) {
			t.Parallel()
			checkSameAsMethod(t, requestWithParameters(params))
		})
	}
}

func TestDecodeParametersTwiceInOneObject(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"context":{"channel":"web"},"execute":{"mboxes":[{"index":0,"name":"m","parameters":{"a":"1"},"parameters":{"b":"2"}}]}}`,
		`{"context":{"channel":"web"},"execute":{"mboxes":[{"index":0,"name":"m","parameters":{"a":"1"},"Parameters":{"b":2}}]}}`,
		`{"context":{"channel":"web"},"execute":{"mboxes":[{"index":0,"name":"m","parameters":{"a":"1"},"parameters":null}]}}`,
	} {
		checkSameAsMethod(t, body)
	}
}

func TestDecodeRequestParameterErrorNamesTheField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, params, field, reason string
	}{
		{"object value", `{"a":{"b":"c"}}`, "execute.mboxes[0].parameters.a", "must be a string, number or boolean, not an object"},
		{"array value", `{"z":"ok","a":[1]}`, "execute.mboxes[0].parameters.a", "must be a string, number or boolean, not an array"},
		{"string", `"a"`, "execute.mboxes[0].parameters", "must be an object, not a string"},
		{"array", `[1]`, "execute.mboxes[0].parameters", "must be an object, not an array"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body := `{"context":{"channel":"web"},"execute":{"mboxes":[{"index":0,"name":"m","parameters":` + tc.params + `}]}}`
			_, err := DecodeRequest([]byte(body))
			var reqErr *FieldError
			if !errors.As(err, &reqErr) || reqErr.Field != tc.field || reqErr.Reason != tc.reason {
				t.Fatalf("error %#v, want field %q reason %q", err, tc.field, tc.reason)
			}
		})
	}
}

func FuzzDecodeParameters(f *testing.F) {
	for _, seed := range []string{`{"a":"b"}`, `{"a":1,"b":true,"c":null}`, `null`, `{"a":{"b":1}}`, `"x"`, `{"é":"\u00e9"}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, params string) {
		checkSameAsMethod(t, requestWithParameters(params))
	})
}
