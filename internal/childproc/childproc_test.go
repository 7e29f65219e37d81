//go:build linux

package childproc_test

import (
	"net"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/targetflow/targetflow/internal/childproc"
	"github.com/targetflow/targetflow/internal/rlimit"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const childVar = "CHILDPROC_TEST_CHILD"

// TestChildUnderALimit re-runs itself with 64 open files at most: the child
// listens, serves its address, and stops when told; from outside, its files
// and memory are read.
func TestChildUnderALimit(t *testing.T) {
	if os.Getenv(childVar) != "" {
		if err := childproc.LimitOpenFilesFromEnv(childVar); err != nil {
			t.Fatal(err)
		}
		if n, ok := rlimit.OpenFiles(); !ok || n != 64 {
			t.Fatalf("limit %d (read: %v); want 64", n, ok)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		childproc.AnnounceAndWait(ln.Addr().String())
		return
	}
	child := childproc.Start(t, "TestChildUnderALimit", childVar, "64")
	conn, err := net.Dial("tcp", child.Addr)
	if err != nil {
		t.Fatalf("the child's address %s: %v", child.Addr, err)
	}
	conn.Close()
	if files, err := childproc.OpenFiles(child.Pid); err != nil || files < 4 {
		t.Errorf("the child has %d files open (%v): want its standard files and listener at least", files, err)
	}
	if rss, err := childproc.ResidentKB(child.Pid); err != nil || rss <= 0 {
		t.Errorf("the child's RSS %d kB, %v", rss, err)
	}
	if err := child.Stop(); err != nil {
		t.Fatal(err)
	}
}
