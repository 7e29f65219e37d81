package standin_test

import (
	"crypto/sha256"
	"testing"

	"github.com/targetflow/targetflow/internal/bench/standin"
)

// ProcessCPU counts what the process spends: hashing a few megabytes
// makes it grow.
func TestProcessCPU(t *testing.T) {
	before := standin.ProcessCPU()
	sum := sha256.Sum256(nil)
	for range 100000 {
		sum = sha256.Sum256(sum[:])
	}
	if after := standin.ProcessCPU(); after <= before || before <= 0 {
		t.Fatalf("ProcessCPU went from %v to %v over 100,000 hashes (%x)", before, after, sum[:4])
	}
}
