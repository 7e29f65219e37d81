//go:build unix

package rlimit_test

import (
	"syscall"
	"testing"

	"github.com/targetflow/targetflow/internal/rlimit"
)

// OpenFiles reads the soft limit that getrlimit reports.
func TestOpenFiles(t *testing.T) {
	var want syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		t.Skipf("getrlimit: %v", err)
	}
	got, ok := rlimit.OpenFiles()
	if !ok || got != uint64(want.Cur) || got == 0 {
		t.Fatalf("OpenFiles() = %d, %v; want %d, true", got, ok, want.Cur)
	}
}
