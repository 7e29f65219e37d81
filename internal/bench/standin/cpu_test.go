package standin_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"sync"
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

// Visit calls every visitor once, whatever the concurrency, and counts
// successes and failures, keeping a failure.
func TestVisit(t *testing.T) {
	for _, concurrency := range []int{0, 1, 7} {
		var mu sync.Mutex
		seen := map[int64]int{}
		res := standin.Visit(t.Context(), 100, concurrency, func(_ context.Context, n int64) error {
			mu.Lock()
			seen[n]++
			mu.Unlock()
			if n%2 == 0 {
				return errors.New("even")
			}
			return nil
		})
		if res.OK != 50 || res.Failed != 50 || res.FirstError == nil || len(seen) != 100 {
			t.Errorf("concurrency %d: %+v over %d visitors; want 50 ok, 50 failed, a first error, 100 visitors", concurrency, res, len(seen))
		}
		for n, calls := range seen {
			if calls != 1 || n < 1 || n > 100 {
				t.Errorf("concurrency %d: visitor %d called %d times", concurrency, n, calls)
			}
		}
	}
}

// A profile is written where asked, only then, and a path that cannot be
// created is an error.
func TestStartLoop(t *testing.T) {
	ctx, stop, err := standin.StartLoop("")
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Errorf("the loop's context ended at once: %v", ctx.Err())
	}
	stop()
	path := filepath.Join(t.TempDir(), "cpu.prof")
	if _, stop, err = standin.StartLoop(path); err != nil {
		t.Fatal(err)
	}
	stop()
	if info, err := os.Stat(path); err != nil || info.Size() == 0 {
		t.Errorf("profile at %s: %v, %v", path, info, err)
	}
	if _, _, err := standin.StartLoop(filepath.Join(t.TempDir(), "missing", "cpu.prof")); err == nil {
		t.Error("no error for a path in a missing directory")
	}
}
