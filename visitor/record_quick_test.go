package visitor

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The quick path decodes what it takes as encoding/json does, and leaves
// the rest to it.
func TestQuickRecordMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line  string
		quick bool
	}{
		{`{"id":{"tntId":"338e3c1e51f7416a8e1ccba4f81acea0.28_0"}}`, true},
		{`{"id":{"thirdPartyId":"crm-42","tntId":"t","marketingCloudVisitorId":"m"}}`, true},
		{`{"id":{"tntId":""}}`, true},
		{`{"id":{"tntId":"a","tntId":"b"}}`, false},        // a name twice
		{`{"id":{"TNTID":"a"}}`, false},                    // encoding/json matches names in any case
		{`{"id":{"tntId":"caf\u00e9"}}`, false},            // an escape
		{`{"id":{"tntId":"café"}}`, false},                 // not ASCII
		{`{"id":{"tntId":"a"},"execute":["hero"]}`, false}, // more than an id
		{`{"id":{"tntId": "a"}}`, false},                   // whitespace
		{`{"id":{}}`, false},
		{`{"id":{"tntId":"a"}}}`, false},
		{`{"id":{"tntId":"a}}`, false},
		{`{"id":{"tntId":1}}`, false},
		{`{"id":{"customerIds":[]}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			t.Parallel()
			got, ok := quickRecord([]byte(tt.line))
			if ok != tt.quick {
				t.Fatalf("quick path took it: %v, want %v", ok, tt.quick)
			}
			if ok {
				checkAgainstEncodingJSON(t, []byte(tt.line), got)
			}
		})
	}
}

func checkAgainstEncodingJSON(t *testing.T, line []byte, got *Record) {
	t.Helper()
	want := new(Record)
	if err := json.Unmarshal(line, want); err != nil {
		t.Fatalf("quick path took %q, which encoding/json refuses: %v", line, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: quick path %+v (id %+v), encoding/json %+v (id %+v)", line, got, got.ID, want, want.ID)
	}
}

func FuzzQuickRecord(f *testing.F) {
	for _, seed := range []string{
		`{"id":{"tntId":"338e3c1e51f7416a8e1ccba4f81acea0.28_0"}}`,
		`{"id":{"thirdPartyId":"crm-42","marketingCloudVisitorId":"m"}}`,
		`{"id":{"tntId":"a","tntId":"b"}}`, `{"id":{"tntId":"a"},"x":1}`, `{"id":{"tntId":"\"}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		if got, ok := quickRecord(line); ok {
			checkAgainstEncodingJSON(t, line, got)
		}
	})
}
