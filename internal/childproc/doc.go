// Package childproc re-runs a test binary as a child process, for tests
// that need a process of their own: one with a lowered limit of open files
// (RLIMIT_NOFILE), whose files and memory the test watches from outside
// (/proc on Linux), attacked by more connections than it may open.
//
// The test starts the child with Start, naming itself and a variable; run
// again in the child, it finds the variable set, serves, and calls
// AnnounceAndWait with its address, which blocks until the test calls
// Stop:
//
//	func TestUnderALimit(t *testing.T) {
//		if os.Getenv("MY_CHILD") != "" {
//			_ = childproc.LimitOpenFilesFromEnv("MY_CHILD")
//			addr := startServer()           // on loopback
//			childproc.AnnounceAndWait(addr) // until the parent stops us
//			return
//		}
//		child := childproc.Start(t, "TestUnderALimit", "MY_CHILD", "256")
//		… attack child.Addr, watch childproc.OpenFiles(child.Pid) …
//		if err := child.Stop(); err != nil { t.Fatal(err) }
//	}
package childproc
