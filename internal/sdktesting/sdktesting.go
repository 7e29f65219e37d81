package sdktesting

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// EnvVar names the environment variable that points at the suites' root
// directory (the one holding models/, artifacts/ and obfuscation/).
const EnvVar = "TARGETFLOW_SDK_TESTING"

// ErrNotFound is returned by Locate when the conformance data is absent.
var ErrNotFound = errors.New("target-sdk-testing conformance data not found")

// Locate returns the root directory of the conformance data, starting the
// search for the module root at dir (usually the test's working directory).
func Locate(dir string) (string, error) {
	if env := os.Getenv(EnvVar); env != "" {
		if isSuiteRoot(env) {
			return env, nil
		}
		return "", fmt.Errorf("%w: %s=%q has no models/ directory", ErrNotFound, EnvVar, env)
	}
	root, err := moduleRoot(dir)
	if err != nil {
		return "", err
	}
	candidate := filepath.Join(root, "..", "shared", "target-sdk-testing")
	if isSuiteRoot(candidate) {
		return filepath.Clean(candidate), nil
	}
	return "", fmt.Errorf("%w: %s is unset and %s has no models/ directory", ErrNotFound, EnvVar, filepath.Clean(candidate))
}

// Dir returns the root directory of the conformance data, or skips t with
// a message naming where it looked.
func Dir(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Skipf("conformance data: cannot get working directory: %v", err)
	}
	dir, err := Locate(wd)
	if err != nil {
		t.Skipf("skipping: %v (set %s to the target-sdk-testing checkout)", err, EnvVar)
	}
	return dir
}

// SuiteFiles returns the paths of every models/TEST_SUITE_*.json, sorted,
// or skips t when the data is absent.
func SuiteFiles(t testing.TB) []string {
	t.Helper()
	dir := Dir(t)
	files, err := filepath.Glob(filepath.Join(dir, "models", "TEST_SUITE_*.json"))
	if err != nil {
		t.Fatalf("listing suites: %v", err)
	}
	sort.Strings(files)
	return files
}

// ArtifactFiles returns the paths of every artifacts/TEST_ARTIFACT_*.json,
// sorted, or skips t when the data is absent.
func ArtifactFiles(t testing.TB) []string {
	t.Helper()
	dir := Dir(t)
	files, err := filepath.Glob(filepath.Join(dir, "artifacts", "TEST_ARTIFACT_*.json"))
	if err != nil {
		t.Fatalf("listing artifacts: %v", err)
	}
	sort.Strings(files)
	return files
}

// ArtifactName returns the suite-style name of an artifact file:
// ".../TEST_ARTIFACT_AB_SIMPLE.json" gives "TEST_ARTIFACT_AB_SIMPLE".
func ArtifactName(path string) string {
	return strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
}

func isSuiteRoot(dir string) bool {
	info, err := os.Stat(filepath.Join(dir, "models"))
	return err == nil && info.IsDir()
}

func moduleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w: no go.mod above the working directory", ErrNotFound)
		}
		dir = parent
	}
}
