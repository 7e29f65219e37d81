package delivery

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// sameAsTheEngine checks that when the quick path takes data, ReadResponse
// through the engine's streaming decoder gives the same answer.
func sameAsTheEngine(t *testing.T, data []byte) (quick bool) {
	t.Helper()
	fast, ok := quickResponse(data)
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
		sameAsTheEngine(t, data)
	})
}
