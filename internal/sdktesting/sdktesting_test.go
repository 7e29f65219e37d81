package sdktesting

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestLocateFromEnv(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "models"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvVar, root)
	got, err := Locate(".")
	if err != nil || got != root {
		t.Fatalf("Locate = %q, %v; want %q", got, err, root)
	}
}

func TestLocateEnvWithoutModels(t *testing.T) {
	t.Setenv(EnvVar, t.TempDir())
	if _, err := Locate("."); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Locate error = %v; want ErrNotFound", err)
	}
}

func TestLocateNextToModuleRoot(t *testing.T) {
	t.Setenv(EnvVar, "")
	base := t.TempDir()
	module := filepath.Join(base, "repo")
	deep := filepath.Join(module, "a", "b")
	for _, d := range []string{deep, filepath.Join(base, "shared", "target-sdk-testing", "models")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(module, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Locate(deep)
	want := filepath.Join(base, "shared", "target-sdk-testing")
	if err != nil || got != want {
		t.Fatalf("Locate = %q, %v; want %q", got, err, want)
	}
}

func TestArtifactName(t *testing.T) {
	if got := ArtifactName("/x/artifacts/TEST_ARTIFACT_AB_SIMPLE.json"); got != "TEST_ARTIFACT_AB_SIMPLE" {
		t.Fatalf("ArtifactName = %q", got)
	}
}

func ExampleArtifactName() {
	fmt.Println(ArtifactName("artifacts/TEST_ARTIFACT_VIEWS.json"))
	// Output: TEST_ARTIFACT_VIEWS
}
