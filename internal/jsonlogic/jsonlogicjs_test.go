package jsonlogic

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// nodeShow is show, in JavaScript, for the results of json-logic-js.
const nodeShow = `
const jsonLogic = require(process.argv[2]);
console.log = () => {}; // "log" prints; only the results are wanted
const fmt = (v) => {
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return "[" + v.map(fmt).join(",") + "]";
  if (v !== null && typeof v === "object") return "{object}";
  return String(v);
};
const lines = require("fs").readFileSync(process.argv[3], "utf8").split("\n").filter(Boolean);
const data = JSON.parse(lines.shift());
const out = lines.map((line) => {
  try { return fmt(jsonLogic.apply(JSON.parse(line), data)); } catch (e) { return "throws"; }
});
process.stdout.write(out.join("\n") + "\n");
`

// TestAgainstJSONLogicJS evaluates 20,000 generated rules, the operator
// table's and FuzzCompile's kind, with json-logic-js itself and compares.
// It runs when TARGETFLOW_JSONLOGIC_JS names json-logic-js's logic.js
// (npm install json-logic-js@2.0.2, the version the Target Node.js SDK
// bundles) and node is installed.
func TestAgainstJSONLogicJS(t *testing.T) {
	logicJS := os.Getenv("TARGETFLOW_JSONLOGIC_JS")
	if logicJS == "" {
		t.Skip("TARGETFLOW_JSONLOGIC_JS is not set (path to json-logic-js 2.0.2's logic.js)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	if logicJS, err = filepath.Abs(logicJS); err != nil {
		t.Fatal(err)
	}
	var rules []any
	for _, tt := range operatorTests {
		rules = append(rules, decodeJSON(t, tt.rule))
	}
	r := rand.New(rand.NewPCG(15, 6))
	for len(rules) < 20000 {
		seed := make([]byte, 96)
		for i := range seed {
			seed[i] = byte(r.Uint32())
		}
		rules = append(rules, (&ruleGenerator{data: seed}).rule(4))
	}
	var input bytes.Buffer
	input.WriteString(compactJSON(t, testData) + "\n")
	for _, rule := range rules {
		b, err := json.Marshal(rule)
		if err != nil {
			t.Fatal(err)
		}
		input.Write(append(b, '\n'))
	}
	dir := t.TempDir()
	script, cases := filepath.Join(dir, "show.js"), filepath.Join(dir, "rules.jsonl")
	if err := os.WriteFile(script, []byte(nodeShow), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cases, input.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(node, script, logicJS, cases).Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	data := ValueOf(decodeJSON(t, testData))
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	compared, failures := 0, 0
	for i := 0; sc.Scan(); i++ {
		want := sc.Text()
		text, _ := json.Marshal(rules[i])
		e, err := CompileExpr(rules[i], nil)
		switch {
		case err != nil && want != "throws" && !refRefuses(rules[i]):
			t.Errorf("%s: %v; json-logic-js %s", text, err, want)
		case err == nil && want == "throws":
			t.Errorf("%s compiled; json-logic-js throws", text)
		case err == nil:
			compared++
			if got := show(e(data)); got != want {
				t.Errorf("%s = %s; json-logic-js %s", text, got, want)
			}
		}
		if t.Failed() {
			if failures++; failures > 20 {
				t.Fatal("too many differences")
			}
		}
	}
	if compared < len(rules)/2 {
		t.Fatalf("compared %d of %d rules", compared, len(rules))
	}
	t.Logf("%d rules compared with json-logic-js", compared)
}

func compactJSON(t *testing.T, s string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
