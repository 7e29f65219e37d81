package childproc

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// addrPrefix starts the line on which AnnounceAndWait tells the parent its address.
const addrPrefix = "childproc: listening on "

// Child is the test binary re-run as a child process.
type Child struct {
	// Pid is the child's process id.
	Pid int
	// Addr is the address the child served on (what it gave AnnounceAndWait).
	Addr string

	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stopped bool
}

// childTimeout ends a child that hangs, with its goroutines on the test's
// standard error, before the test's own timeout would end the test.
const childTimeout = "3m"

// Start re-runs the test binary for the test named test alone, with the
// variable env set to value, and returns once the child has called AnnounceAndWait.
// The child's standard error is the test's. A child not stopped with Stop
// is killed when the test ends; one that hangs ends after three minutes.
func Start(t testing.TB, test, env, value string) *Child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.timeout="+childTimeout)
	cmd.Env = append(os.Environ(), env+"="+value)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the test binary as a child: %v", err)
	}
	c := &Child{Pid: cmd.Process.Pid, cmd: cmd, stdin: stdin}
	t.Cleanup(func() {
		if !c.stopped {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if addr, ok := strings.CutPrefix(lines.Text(), addrPrefix); ok {
			c.Addr = addr
			break
		}
	}
	if c.Addr == "" {
		t.Fatalf("the child (%s with %s=%s) exited or closed its output without serving", test, env, value)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }() // the rest of its output, until it exits
	return c
}

// Stop closes the child's standard input, which ends its AnnounceAndWait, and waits
// for it to exit: the error says how it did when not cleanly.
func (c *Child) Stop() error {
	c.stopped = true
	_ = c.stdin.Close()
	if err := c.cmd.Wait(); err != nil {
		return fmt.Errorf("the child test process: %w", err)
	}
	return nil
}

// AnnounceAndWait, in the child, tells the parent the address it serves
// on and blocks until the parent calls Stop.
func AnnounceAndWait(addr string) {
	fmt.Println(addrPrefix + addr)
	_, _ = io.Copy(io.Discard, os.Stdin)
}
