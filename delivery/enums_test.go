package delivery_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/targetflow/targetflow/delivery"
)

// validator is what every enumeration of the wire model has.
type validator interface{ Valid() bool }

// enumMembers lists the JSON names of the enumeration-typed fields reachable
// from t (enumerations are the string types with a Valid method).
func enumMembers(t reflect.Type, seen map[reflect.Type]bool, names map[string]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return
	}
	seen[t] = true
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Type.Kind() == reflect.String && f.Type.Implements(reflect.TypeFor[validator]()) {
			names[name] = true
			continue
		}
		enumMembers(f.Type, seen, names)
	}
}

// fillZero gives every pointer of v a value and every slice one element,
// recursively, leaving strings (enumerations included) empty: the largest
// value with every enumeration unset.
func fillZero(v reflect.Value, depth int) {
	if depth > 12 {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.Type().Elem().Kind() == reflect.Struct {
			v.Set(reflect.New(v.Type().Elem()))
			fillZero(v.Elem(), depth+1)
		}
	case reflect.Slice:
		if k := v.Type().Elem().Kind(); k == reflect.Struct {
			v.Set(reflect.MakeSlice(v.Type(), 1, 1))
			fillZero(v.Index(0), depth+1)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Field(i).CanSet() {
				fillZero(v.Field(i), depth+1)
			}
		}
	}
}

// checkNoEmptyEnum fails when the JSON document data has a member named as
// an enumeration whose value is "".
func checkNoEmptyEnum(t *testing.T, encoder string, data []byte, enums map[string]bool) {
	t.Helper()
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", encoder, err)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, member := range v {
				if s, ok := member.(string); ok && s == "" && enums[k] {
					t.Errorf("%s writes an empty enumeration at %s.%s", encoder, path, k)
				}
				walk(path+"."+k, member)
			}
		case []any:
			for _, e := range v {
				walk(path+"[]", e)
			}
		}
	}
	walk("", doc)
}

// TestNoEncoderWritesAnEmptyEnum: the specification's enumerations have no
// empty value, so neither encoder of the wire model (encoding/json with the
// tags, nor the reflection-free ones) writes an enumeration left empty
// (the client once wrote "mobilePlatform":{"deviceType":""}).
func TestNoEncoderWritesAnEmptyEnum(t *testing.T) {
	t.Parallel()
	enums := map[string]bool{}
	seen := map[reflect.Type]bool{}
	enumMembers(reflect.TypeFor[delivery.DeliveryRequest](), seen, enums)
	enumMembers(reflect.TypeFor[delivery.DeliveryResponse](), seen, enums)
	for _, name := range []string{"channel", "deviceType", "platformType", "authenticatedState", "type", "logging", "mode", "decisioningMethod", "orientation"} {
		if !enums[name] {
			t.Errorf("enumeration member %q not found by reflection", name)
		}
	}

	var req delivery.DeliveryRequest
	fillZero(reflect.ValueOf(&req).Elem(), 0)
	if req.Context.MobilePlatform == nil || len(req.ID.CustomerIDs) != 1 || len(req.Notifications) != 1 {
		t.Fatalf("request not filled: %+v", req)
	}
	viaTags, err := json.Marshal(&req)
	if err != nil {
		t.Fatal(err)
	}
	checkNoEmptyEnum(t, "encoding/json (request)", viaTags, enums)
	checkNoEmptyEnum(t, "AppendRequestJSON", delivery.AppendRequestJSON(nil, &req), enums)

	var resp delivery.DeliveryResponse
	fillZero(reflect.ValueOf(&resp).Elem(), 0)
	viaTags, err = json.Marshal(&resp)
	if err != nil {
		t.Fatal(err)
	}
	checkNoEmptyEnum(t, "encoding/json (response)", viaTags, enums)
	checkNoEmptyEnum(t, "AppendResponseJSON", delivery.AppendResponseJSON(nil, &resp), enums)
}
