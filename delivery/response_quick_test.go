package delivery

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// sameAsTheEngine checks that when the quick path takes data, ReadResponse
// through the engine's streaming decoder gives the same answer.
func sameAsTheEngine(t *testing.T, data []byte) (quick bool) {
	t.Helper()
	fast, ok := quickResponse(data, nil)
	if !ok {
		return false
	}
	slow, err := ReadResponse(strings.NewReader(string(data))) // not a bytes.Buffer: the engine
	if err != nil {
		t.Fatalf("%q: the quick path took what the engine refuses: %v", data, err)
	}
	fastJSON, _ := json.Marshal(fast)
	slowJSON, _ := json.Marshal(slow)
	if !bytes.Equal(fastJSON, slowJSON) {
		t.Fatalf("%q:\nquick  %s\nengine %s", data, fastJSON, slowJSON)
	}
	return true
}

func TestQuickResponse(t *testing.T) {
	t.Parallel()
	const answer = `{"status":200,"requestId":"r1","id":{"tntId":"t.28_0"},"client":"acme","edgeHost":"mboxedge28.tt.omtrdc.net",` +
		`"execute":{"mboxes":[{"index":0,"name":"hero","options":[{"type":"json","content":{"cta":"Shop","n":[1,2.5e3,true,null,{"x":"caf\u00e9 \"q\""}]},` +
		`"responseTokens":{"activity.decisioningMethod":"server-side","activity.id":910001,"experience.name":"Free shipping","flag":false}}],` +
		`"metrics":[{"type":"click","selector":"#b","eventToken":"z4uQv+9/L2TFSWDfd7MPmg=="}],"analytics":{"payload":{"pe":"tnt","tnta":"1:2:0:0"}}},` +
		`{"index":1,"name":"cart","options":[{"type":"html","content":"<div class=\"c\">Café – 30 days</div>","eventToken":"e"}]}]},` +
		`"prefetch":{"mboxes":[{"index":2,"name":"flags","state":"s1","options":[{"type":"json","content":{}}]}]},"telemetryServerToken":"tok"}`
	for _, tt := range []struct {
		name  string
		data  string
		quick bool
	}{
		{"a full answer", answer, true},
		{"a notifications answer", `{"status":200,"requestId":"r","client":"acme","id":{"tntId":"t"},"edgeHost":"h","notifications":[{"id":"n1"},{"id":"n2"}]}`, true},
		{"a notification with a trace", `{"notifications":[{"id":"n1","trace":{}}]}`, false},
		{"with whitespace", " {\n\t\"status\" : 200 ,\r\n\"client\":\"acme\" }\n", true},
		{"an escape in a name", `{"st\u0061tus":200}`, false},
		{"an escape in a token", `{"execute":{"mboxes":[{"index":0,"options":[{"responseTokens":{"a":"\n"}}]}]}}`, false},
		{"null content", `{"execute":{"mboxes":[{"index":0,"options":[{"type":"html","content":null}]}]}}`, false},
		{"an unknown member", `{"status":200,"x":1}`, false},
		{"a member twice", `{"status":200,"status":201}`, false},
		{"a token twice", `{"execute":{"mboxes":[{"options":[{"responseTokens":{"a":1,"a":2}}]}]}}`, false},
		{"an empty array", `{"execute":{"mboxes":[]}}`, false},
		{"a view", `{"prefetch":{"views":[{"name":"home"}]}}`, false},
		{"invalid UTF-8 in content", "{\"execute\":{\"mboxes\":[{\"options\":[{\"content\":\"\xff\"}]}]}}", false},
		{"a bad escape in content", `{"execute":{"mboxes":[{"options":[{"content":"\x"}]}]}}`, false},
		{"a bad number", `{"status":01}`, false},
		{"no answer member", `{}`, false},
		{"data after", `{"status":200}x`, false},
		{"truncated", `{"status":200,"execute":{"mboxes":[{"index":0`, false},
		{"deep content", `{"execute":{"mboxes":[{"options":[{"content":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}]}]}}`, false},
	} {
		if got := sameAsTheEngine(t, []byte(tt.data)); got != tt.quick {
			t.Errorf("%s: quick path %t, want %t", tt.name, got, tt.quick)
		}
	}
}

func FuzzQuickResponse(f *testing.F) {
	for _, seed := range []string{
		`{"status":200,"execute":{"mboxes":[{"index":0,"name":"a","options":[{"type":"html","content":"x\"y","responseTokens":{"a":1,"b":"c","d":true}}],"metrics":[{"type":"click","eventToken":"e"}]}]}}`,
		`{"prefetch":{"mboxes":[{"index":1,"state":"s","options":[{"content":[{"k":[1,{"u":"\u00e9"}]}]}]}]},"id":{"tntId":"t"}}`,
		`{"status":200,"client":"c","edgeHost":"h","requestId":"r","telemetryServerToken":"t"}`,
		`{"execute":{"mboxes":[{"analytics":{"payload":{"pe":"tnt","tnta":"1"}}}]}}`,
		`{"status":200,"notifications":[{"id":"n1"},{"id":"n2"}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if sameAsTheEngine(t, data) {
			sameWithSharedTokens(t, data)
		}
	})
}

// sameWithSharedTokens checks that data decodes to the same answer with
// shared response-token maps as without, the first time and again.
func sameWithSharedTokens(t *testing.T, data []byte) {
	t.Helper()
	alone, ok := quickResponse(data, nil)
	if !ok {
		t.Fatalf("%q: the quick path refused it", data)
	}
	want, _ := json.Marshal(alone)
	shared := NewSharedObjects(4, 1<<20)
	for i := range 2 {
		answer, ok := quickResponse(data, shared)
		if !ok {
			t.Fatalf("%q: with shared tokens (decoding %d), the quick path refused it", data, i+1)
		}
		if got, _ := json.Marshal(answer); !bytes.Equal(got, want) {
			t.Fatalf("%q: with shared tokens (decoding %d)\n%s\nalone\n%s", data, i+1, got, want)
		}
	}
}

// Answers decoded with the same SharedObjects share equal token objects'
// maps, and only those; the cache holds at most its size.
func TestSharedTokens(t *testing.T) {
	t.Parallel()
	answer := func(tokens string) []byte {
		return []byte(`{"status":200,"execute":{"mboxes":[{"index":0,"name":"a","options":[{"type":"html","content":"x","responseTokens":` +
			tokens + `}]}]}}`)
	}
	tokensOf := func(t *testing.T, data []byte, shared *SharedObjects) ResponseTokens {
		t.Helper()
		r, same, err := DecodeResponse(data, shared)
		if err != nil || !same {
			t.Fatalf("%s: same %v, %v", data, same, err)
		}
		return r.Execute.Mboxes[0].Options[0].ResponseTokens
	}
	sameMap := func(a, b ResponseTokens) bool { return reflect.ValueOf(a).Pointer() == reflect.ValueOf(b).Pointer() }

	shared := NewSharedObjects(2, 1<<20)
	first := tokensOf(t, answer(`{"offer.id":1,"experience.name":"A"}`), shared)
	again := tokensOf(t, answer(`{"offer.id":1,"experience.name":"A"}`), shared)
	if !sameMap(first, again) || again["experience.name"] != "A" || again["offer.id"] != 1.0 {
		t.Errorf("equal token objects: maps %v and %v, want the same map", first, again)
	}
	other := tokensOf(t, answer(`{"offer.id":2,"experience.name":"B"}`), shared)
	if sameMap(first, other) || other["experience.name"] != "B" {
		t.Errorf("another token object got %v", other)
	}
	if alone := tokensOf(t, answer(`{"offer.id":1,"experience.name":"A"}`), nil); sameMap(first, alone) {
		t.Error("an answer decoded without SharedObjects shares a map")
	}
	// A third object fills the cache of two: it starts afresh.
	tokensOf(t, answer(`{"offer.id":3}`), shared)
	if n := shared.Len(); n != 1 {
		t.Errorf("cache of 2 holds %d objects after a third", n)
	}
	if fresh := tokensOf(t, answer(`{"offer.id":1,"experience.name":"A"}`), shared); sameMap(first, fresh) {
		t.Error("an object forgotten when the cache started afresh was still shared")
	}
	// An object the quick path refuses is not remembered.
	refused := answer(`{"a":1,"a":2}`)
	if _, same, err := DecodeResponse(refused, shared); err != nil || same {
		t.Fatalf("a name twice: same %v, %v", same, err)
	}
	if shared.Lookup([]byte(`{"a":1,"a":2}`)) != nil {
		t.Error("a refused token object was remembered")
	}
}

// SharedObjects holds at most its bytes of JSON: more distinct objects than
// that start it afresh, and an object longer than the bound is not kept.
func TestSharedObjectsBounded(t *testing.T) {
	t.Parallel()
	const maxBytes = 64 << 10
	shared := NewSharedObjects(1<<20, maxBytes)
	filler := strings.Repeat("x", 1000)
	for i := range 3 * maxBytes / len(filler) {
		raw := []byte(fmt.Sprintf(`{"i":%d,"s":%q}`, i, filler))
		shared.Add(raw, map[string]any{"i": i})
		if shared.bytes > maxBytes {
			t.Fatalf("after %d objects %d bytes held, more than %d", i+1, shared.bytes, maxBytes)
		}
		if got := shared.Lookup(raw); got == nil || got["i"] != i {
			t.Fatalf("object %d just added: %v", i, got)
		}
	}
	huge := []byte(`{"s":"` + strings.Repeat("y", maxBytes) + `"}`)
	shared.Add(huge, map[string]any{})
	if shared.Lookup(huge) != nil {
		t.Error("an object longer than the bound was kept")
	}
}
