package standin

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"
)

// ProcessCPU is the process's user and system CPU time so far, all
// threads, the garbage collector's included: what the loops report per
// visitor.
func ProcessCPU() time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

// Measure runs loop, the loop of the command name (bareloop, clientloop),
// and writes its line to stdout: the visitors done, the rate, and the
// process CPU per visitor while loop ran; the first failure, if any, goes
// to stderr. It returns loop's error, else an error counting the visitors
// that failed.
func Measure(stdout, stderr io.Writer, name string, loop func() (LoopResult, error)) error {
	cpuStart := ProcessCPU()
	start := time.Now()
	res, err := loop()
	wall := time.Since(start)
	cpu := ProcessCPU() - cpuStart
	done := res.OK + res.Failed
	fmt.Fprintf(stdout, "%s: %d visitors (%d ok, %d failed) in %s: %.0f visitors/s, %.1f µs CPU per visitor\n",
		name, done, res.OK, res.Failed, wall.Round(time.Millisecond), float64(done)/wall.Seconds(),
		float64(cpu.Microseconds())/float64(max(done, 1)))
	if res.FirstError != nil {
		fmt.Fprintf(stderr, "%s: first failure: %v\n", name, res.FirstError)
	}
	switch {
	case err != nil:
		return err
	case res.Failed > 0:
		return fmt.Errorf("%d of %d visitors failed", res.Failed, done)
	}
	return nil
}

// StartLoop starts what a loop command's loop runs under: the CPU profile
// asked for (--cpuprofile; none for ""), and a context that SIGINT and
// SIGTERM end. stop ends both.
func StartLoop(cpuProfile string) (ctx context.Context, stop func(), err error) {
	stopProfile, err := startCPUProfile(cpuProfile)
	if err != nil {
		return nil, nil, err
	}
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	return ctx, func() {
		stopSignals()
		stopProfile()
	}, nil
}

// startCPUProfile profiles the process's CPU into the file at path until
// stop is called; with no path it does nothing.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	file, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(file); err != nil {
		file.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		file.Close()
	}, nil
}
