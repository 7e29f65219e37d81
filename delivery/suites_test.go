package delivery_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// sharedDir locates a folder of ../shared: the env var wins, else the folder
// beside the repository. The test is skipped when it is absent.
func sharedDir(t *testing.T, env, name string) string {
	t.Helper()
	dir := sharedPath(env, name)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("%s not found (%v); set %s to its location to run this test", name, err, env)
	}
	return dir
}

// sharedPath is where a folder of ../shared is: the env var, else beside
// the repository.
func sharedPath(env, name string) string {
	if dir := os.Getenv(env); dir != "" {
		return dir
	}
	return filepath.Join("..", "..", "shared", name)
}

// conformanceCase is one test of Adobe's conformance suites.
type conformanceCase struct {
	Name    string          // "TEST_SUITE_….json/test name"
	Request json.RawMessage // input.request
	// Output is the expected answer, or a pattern for the suites' matcher
	// ("expect.any(…)" in place of a value).
	Output json.RawMessage
}

// conformanceCases returns the tests of the conformance suites in file and
// name order, or nil when the suites are not on this machine.
func conformanceCases(tb testing.TB) []conformanceCase {
	tb.Helper()
	dir := filepath.Join(sharedPath("TARGETFLOW_SDK_TESTING", "target-sdk-testing"), "models")
	files, _ := filepath.Glob(filepath.Join(dir, "TEST_SUITE_*.json"))
	var cases []conformanceCase
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		var suite struct {
			Test map[string]struct {
				Input struct {
					Request json.RawMessage `json:"request"`
				} `json:"input"`
				Output json.RawMessage `json:"output"`
			} `json:"test"`
		}
		if err := json.Unmarshal(raw, &suite); err != nil {
			tb.Fatalf("%s: %v", file, err)
		}
		names := make([]string, 0, len(suite.Test))
		for name := range suite.Test {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			tc := suite.Test[name]
			cases = append(cases, conformanceCase{filepath.Base(file) + "/" + name, tc.Input.Request, tc.Output})
		}
	}
	return cases
}
