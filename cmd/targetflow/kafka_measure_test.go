package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/internal/kafkatest"
)

// TestMeasureKafkaWorkers measures, side by side, what the README reports
// in "Scale out": one worker from and to a local kfake cluster against a
// local edge answering after 20 ms, at --concurrency 256, against the same
// run from a JSON lines file to a JSON lines file, and with --exactly-once;
// the RSS of a worker facing a backlog of 1,000,000 records; and two
// workers sharing a topic. It runs the real binary, built here, and only
// when TARGETFLOW_MEASURE_KAFKA=1 (it takes minutes and wants the machine
// to itself).
func TestMeasureKafkaWorkers(t *testing.T) {
	if os.Getenv("TARGETFLOW_MEASURE_KAFKA") != "1" {
		t.Skip("set TARGETFLOW_MEASURE_KAFKA=1 to measure (minutes, a quiet machine)")
	}
	n := envInt("TARGETFLOW_MEASURE_RECORDS", 100000)
	rounds := envInt("TARGETFLOW_MEASURE_ROUNDS", 3)
	dir := t.TempDir()
	bin := filepath.Join(dir, "targetflow")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	srv, err := edge.New(demo.Artifact(), edge.WithLatency(edge.Latency{Fixed: 20 * time.Millisecond}), edge.WithLogger(zap.NewNop()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer func() { stop(); _ = srv.Wait() }()
	edgeAddr, err := srv.Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, brokers := kafkaCluster(t, 12, "visitors", "results", "backlog", "shared")
	lines := make([]string, n)
	for i := range n {
		lines[i] = fmt.Sprintf(`{"id":{"tntId":"%032x"}}`, i+1)
	}
	input := filepath.Join(dir, "visitors.jsonl")
	if err := os.WriteFile(input, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	produceLines(t, brokers, "visitors", lines)
	common := []string{"--server-domain", edgeAddr, "--insecure", "--client", "targetflow-demo",
		"--organization-id", "7A1B2C3D4E5F60718293A4B5@AdobeOrg", "--execute", "hero,cart", "--concurrency", "256"}

	type variant struct {
		name string
		args func(round int) []string
	}
	if os.Getenv("TARGETFLOW_MEASURE_ONLY_BACKLOG") != "" {
		rounds = 0
	}
	variants := []variant{
		{"jsonl → jsonl", func(int) []string {
			return []string{"--input", input, "--output", filepath.Join(dir, "out.jsonl")}
		}},
		{"kafka → kafka", func(round int) []string {
			return []string{"--input", fmt.Sprintf("kafka://%s/visitors?group=alo-%d", brokers, round),
				"--output", "kafka://" + brokers + "/results", "--until-caught-up"}
		}},
		{"kafka → kafka --exactly-once", func(round int) []string {
			return []string{"--input", fmt.Sprintf("kafka://%s/visitors?group=eos-%d", brokers, round),
				"--output", "kafka://" + brokers + "/results", "--until-caught-up", "--exactly-once"}
		}},
	}
	rates := map[string][]float64{}
	for round := range rounds {
		for _, v := range variants {
			m := measure(t, bin, append(v.args(round), common...), 0)
			rates[v.name] = append(rates[v.name], m.rate)
			t.Logf("round %d  %-30s %6.0f visitors/s  %5.1f s  %3.0f MB RSS  %.0f µs CPU per visitor", round+1, v.name, m.rate, m.wall.Seconds(), m.rssMB, m.cpuPerVisitor)
		}
	}
	for _, v := range variants {
		t.Logf("%-30s %v  median %.0f", v.name, rates[v.name], median(rates[v.name]))
	}
	t.Logf("kafka/jsonl %.3f, exactly-once/kafka %.3f", median(rates["kafka → kafka"])/median(rates["jsonl → jsonl"]),
		median(rates["kafka → kafka --exactly-once"])/median(rates["kafka → kafka"]))

	if os.Getenv("TARGETFLOW_MEASURE_ONLY_RATES") != "" {
		return
	}
	// A backlog of 1,000,000 records: the worker's memory is bounded by its
	// concurrency and batch sizes, not by the lag.
	backlog := envInt("TARGETFLOW_MEASURE_BACKLOG", 1000000)
	big := make([]string, backlog)
	for i := range backlog {
		big[i] = fmt.Sprintf(`{"id":{"tntId":"%032x"}}`, i+1)
	}
	produceLines(t, brokers, "backlog", big)
	m := measure(t, bin, append([]string{"--input", "kafka://" + brokers + "/backlog?group=backlog", "--output", "kafka://" + brokers + "/results"}, common...), 30*time.Second)
	if os.Getenv("TARGETFLOW_MEASURE_GODEBUG") != "" {
		t.Log(m.stderr)
	}
	t.Logf("backlog of %d records: %.0f visitors/s for %.0f s (%d done), max RSS %.1f MB", backlog, m.rate, m.wall.Seconds(), m.written, m.rssMB)

	// Two workers of one group sharing the 12 partitions of a topic, at once.
	produceLines(t, brokers, "shared", lines)
	type started struct {
		cmd *exec.Cmd
		out *strings.Builder
		t0  time.Time
		rss func() float64
	}
	var workers []started
	for range 2 {
		cmd := exec.Command(bin, append([]string{"run", "--input", "kafka://" + brokers + "/shared?group=shared", "--output", "kafka://" + brokers + "/results", "--until-caught-up"}, common...)...)
		var b strings.Builder
		cmd.Stderr = &b
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		workers = append(workers, started{cmd, &b, time.Now(), watchPeakRSS(cmd.Process.Pid)})
	}
	var total float64
	for i, w := range workers {
		if err := w.cmd.Wait(); err != nil {
			t.Fatalf("worker %d: %v\n%s", i, err, w.out)
		}
		m := parseMeasure(t, w.cmd, w.out.String(), time.Since(w.t0))
		m.rssMB = w.rss()
		total += m.rate
		t.Logf("shared topic, worker %d of 2: %d visitors, %.0f visitors/s, %.0f µs CPU per visitor, %.0f MB RSS", i+1, m.written, m.rate, m.cpuPerVisitor, m.rssMB)
	}
	t.Logf("two workers on 2 cores: %.0f visitors/s together", total)
}

type measurement struct {
	rate          float64
	written       int64
	wall          time.Duration
	rssMB         float64
	cpuPerVisitor float64
	stderr        string
}

// measure runs the binary's "run" with args to its end (or, with stopAfter,
// SIGTERMs it then) and returns its figures.
func measure(t *testing.T, bin string, args []string, stopAfter time.Duration) measurement {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"run"}, args...)...)
	if v := os.Getenv("TARGETFLOW_MEASURE_GODEBUG"); v != "" {
		cmd.Env = append(os.Environ(), "GODEBUG="+v)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if stopAfter > 0 {
		time.AfterFunc(stopAfter, func() { _ = cmd.Process.Signal(syscall.SIGTERM) })
	}
	hwm := watchPeakRSS(cmd.Process.Pid)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, stderr.String())
	}
	m := parseMeasure(t, cmd, stderr.String(), time.Since(start))
	m.rssMB = hwm()
	return m
}

// watchPeakRSS samples the peak resident set of a process (VmHWM, which
// exec resets) until the returned function is called, which returns it in
// MB. The child's rusage is no good here: its maxrss counts the parent's
// resident set (this test's in-process cluster) from before the exec.
func watchPeakRSS(pid int) func() float64 {
	var peak atomicMax
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
				for _, line := range strings.Split(string(b), "\n") {
					if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
						kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
						peak.set(kb / 1024)
					}
				}
			}
			select {
			case <-tick.C:
			case <-done:
				return
			}
		}
	}()
	return func() float64 {
		close(done)
		<-finished
		return peak.get()
	}
}

type atomicMax struct {
	mu sync.Mutex
	v  float64
}

func (a *atomicMax) set(v float64) {
	a.mu.Lock()
	a.v = max(a.v, v)
	a.mu.Unlock()
}

func (a *atomicMax) get() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.v
}

var summaryRate = regexp.MustCompile(`targetflow run: (\d+) visitors in [^:]+: (\d+) visitors/s`)

func parseMeasure(t *testing.T, cmd *exec.Cmd, stderr string, wall time.Duration) measurement {
	t.Helper()
	m := summaryRate.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no summary in:\n%s", stderr)
	}
	written, _ := strconv.ParseInt(m[1], 10, 64)
	rate, _ := strconv.ParseFloat(m[2], 64)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return measurement{rate: rate, written: written, wall: wall,
		cpuPerVisitor: float64(cpu.Microseconds()) / float64(max(written, 1)), stderr: stderr}
}

func produceLines(t *testing.T, brokers, topic string, lines []string) {
	t.Helper()
	recs := make([]*kgo.Record, 0, len(lines))
	for _, l := range lines {
		key := l[strings.Index(l, `"tntId":"`)+9 : len(l)-3]
		recs = append(recs, &kgo.Record{Key: []byte(key), Value: []byte(l)})
	}
	kafkatest.Produce(t, strings.Split(brokers, ","), topic, recs)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
