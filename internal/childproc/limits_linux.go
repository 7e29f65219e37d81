package childproc

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// LimitOpenFiles sets this process's limit of open files (RLIMIT_NOFILE),
// soft and hard, to n.
func LimitOpenFiles(n uint64) error {
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
		return fmt.Errorf("lowering RLIMIT_NOFILE to %d: %w", n, err)
	}
	return nil
}

// LimitOpenFilesFromEnv, in a child, sets its limit of open files to the
// number its variable env holds (the value given Start).
func LimitOpenFilesFromEnv(env string) error {
	n, err := strconv.ParseUint(os.Getenv(env), 10, 64)
	if err != nil {
		return fmt.Errorf("variable %s: %w", env, err)
	}
	return LimitOpenFiles(n)
}

// OpenFiles counts the files process pid has open (/proc/PID/fd).
func OpenFiles(pid int) (int, error) {
	entries, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return 0, fmt.Errorf("reading the files of process %d: %w", pid, err)
	}
	return len(entries), nil
}

// ResidentKB is process pid's resident memory in kB (VmRSS of
// /proc/PID/status).
func ResidentKB(pid int) (int, error) {
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("reading the status of process %d: %w", pid, err)
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				return 0, fmt.Errorf("process %d: VmRSS %q: %w", pid, v, err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("process %d: no VmRSS in its status", pid)
}
