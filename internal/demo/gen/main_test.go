package main

import (
	"bytes"
	"os"
	"testing"
)

// TestGeneratedArtifactIsCurrent fails when artifact.json was edited by hand
// or the generator changed without regenerating it.
func TestGeneratedArtifactIsCurrent(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := write(&out); err != nil {
		t.Fatalf("write: %v", err)
	}
	committed, err := os.ReadFile("../artifact.json")
	if err != nil {
		t.Fatalf("read ../artifact.json: %v", err)
	}
	if !bytes.Equal(out.Bytes(), committed) {
		t.Fatal("internal/demo/artifact.json is stale: run go generate ./internal/demo")
	}
}
