package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/internal/edgetest"
	"github.com/targetflow/targetflow/pipeline"
)

// cliCommand returns the targetflow command as a child process.
func cliCommand(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$", "--", "run"}, args...)...)
	cmd.Env = append(os.Environ(), "TARGETFLOW_TEST_CLI=1")
	return cmd
}

// faultyEdge serves a local edge with latency and faults until the test ends.
func faultyEdge(t *testing.T) string {
	t.Helper()
	_, addr := edgetest.Start(t, edge.WithSeed(5), edge.WithLatency(edge.Latency{Fixed: 2 * time.Millisecond}),
		edge.WithFaults(edge.Faults{ErrorRate: 0.005, ResetRate: 0.01, StallRate: 0.003, Stall: 300 * time.Millisecond}))
	return addr
}

// readResults parses an output file, failing on a partial or bad line, and
// returns how many times each seq appears and the results.
func readResults(t *testing.T, path string) (map[int64]int, []result) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatalf("%s ends with a partial line: %q", path, data[max(len(data)-80, 0):])
	}
	rs := parseResults(t, string(data))
	count := map[int64]int{}
	for _, r := range rs {
		count[r.Seq]++
	}
	return count, rs
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestKillNineThenResume SIGKILLs a real "targetflow run --checkpoint" at
// random moments several times, against a local edge that fails, resets and
// stalls calls, then reruns it to the end: the output holds every record
// exactly once and no partial line, ordered or not.
func TestKillNineThenResume(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child processes: not in -short")
	}
	addr := faultyEdge(t)
	const n = 4000
	input := writeFile(t, "v.jsonl", visitorLines(n, func(i int) string { return fmt.Sprintf(`{"id":{"thirdPartyId":"k%d"}}`, i+1) }))
	for _, ordered := range []bool{false, true} {
		t.Run(fmt.Sprint("ordered=", ordered), func(t *testing.T) {
			dir := t.TempDir()
			out, dead, ckpt := filepath.Join(dir, "out.jsonl"), filepath.Join(dir, "dead.jsonl"), filepath.Join(dir, "run.checkpoint")
			args := []string{"--input", input, "--output", out, "--dead-letter", dead, "--checkpoint", ckpt,
				"--execute", "hero,cart", "--server-domain", addr, "--insecure", "--client", demo.Client,
				"--organization-id", demo.OrganizationID, "--concurrency", "32", "--timeout", "1s", "--retries", "4"}
			if ordered {
				args = append(args, "--ordered")
			}
			rng := rand.New(rand.NewPCG(uint64(len(args)), 7))
			var kills int
			for attempt := 0; attempt < 30 && kills < 5; attempt++ {
				cmd := cliCommand(t, args...)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Duration(20+rng.IntN(400)) * time.Millisecond)
				_ = cmd.Process.Signal(syscall.SIGKILL)
				err := cmd.Wait()
				if code := exitCode(err); code == 128+int(syscall.SIGKILL) {
					kills++
				} else if code != exitOK && code != exitFailed {
					t.Fatalf("run %d exited %d before the kill:\n%s", attempt+1, code, stderr.String())
				} else {
					break // it finished before the kill
				}
			}
			if kills == 0 {
				t.Fatal("no run was killed: the test proves nothing")
			}
			cmd := cliCommand(t, args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if code := exitCode(cmd.Run()); code != exitOK && code != exitFailed {
				t.Fatalf("final run exited %d:\n%s", code, stderr.String())
			}
			count, rs := readResults(t, out)
			for seq := int64(1); seq <= n; seq++ {
				if count[seq] != 1 {
					t.Fatalf("after %d kills: seq %d is in the output %d times", kills, seq, count[seq])
				}
			}
			if len(rs) != n {
				t.Fatalf("%d results for %d records", len(rs), n)
			}
			var lastSeq int64
			for _, r := range rs {
				if r.Error != nil && r.Error.Kind == "canceled" {
					t.Errorf("seq %d left as canceled", r.Seq)
				}
				if ordered && r.Seq < lastSeq {
					t.Fatalf("ordered output: seq %d after %d", r.Seq, lastSeq)
				}
				lastSeq = r.Seq
			}
			c, err := pipeline.ReadCheckpoint(ckpt)
			if err != nil || !c.Complete || c.Input.Through.Seq != n {
				t.Errorf("checkpoint after the final run: %+v, %v; want complete through %d", c, err, n)
			}
			t.Logf("%d kills, then a complete run: %d records exactly once", kills, n)
		})
	}
}

// TestInterruptWithCheckpoint: SIGINT, then the same command again: every
// record exactly once and no canceled line.
func TestInterruptWithCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("signals child processes: not in -short")
	}
	addr := faultyEdge(t)
	const n = 3000
	input := writeFile(t, "v.jsonl", visitorLines(n, func(i int) string { return fmt.Sprintf(`{"id":{"thirdPartyId":"s%d"}}`, i+1) }))
	for _, ordered := range []bool{false, true} {
		t.Run(fmt.Sprint("ordered=", ordered), func(t *testing.T) {
			dir := t.TempDir()
			out, ckpt := filepath.Join(dir, "out.jsonl"), filepath.Join(dir, "run.checkpoint")
			args := []string{"--input", input, "--output", out, "--checkpoint", ckpt, "--execute", "hero",
				"--server-domain", addr, "--insecure", "--client", demo.Client, "--organization-id", demo.OrganizationID,
				"--concurrency", "32", "--timeout", "1s"}
			if ordered {
				args = append(args, "--ordered")
			}
			cmd := cliCommand(t, args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond)
			_ = cmd.Process.Signal(syscall.SIGINT)
			code := exitCode(cmd.Wait())
			if code != exitInterrupted && code != exitOK && code != exitFailed {
				t.Fatalf("interrupted run exited %d:\n%s", code, stderr.String())
			}
			if code == exitInterrupted && !strings.Contains(stderr.String(), "resume with the same command:\n  targetflow run --input") {
				t.Errorf("no resume instruction:\n%s", stderr.String())
			}
			_, first := readResults(t, out)
			for _, r := range first {
				if r.Error != nil && r.Error.Kind == "canceled" {
					t.Fatalf("seq %d left as canceled after the interrupt", r.Seq)
				}
			}
			cmd = cliCommand(t, args...)
			cmd.Stderr = &stderr
			if code := exitCode(cmd.Run()); code != exitOK && code != exitFailed {
				t.Fatalf("resumed run exited %d:\n%s", code, stderr.String())
			}
			count, rs := readResults(t, out)
			if len(rs) != n {
				t.Fatalf("%d results for %d records (%d after the interrupt)", len(rs), n, len(first))
			}
			for seq := int64(1); seq <= n; seq++ {
				if count[seq] != 1 {
					t.Fatalf("seq %d is in the output %d times", seq, count[seq])
				}
			}
		})
	}
}

// TestInterruptSkipResumeIsExact: without a checkpoint, the printed resume
// point is exact, ordered or not: the output holds exactly the records up to
// it, so resuming with --skip N (which appends) gives every record once.
func TestInterruptSkipResumeIsExact(t *testing.T) {
	t.Parallel()
	// Calls take 5 ms, and 2% stall for 2 s: past the 100 ms grace, cut.
	_, addr := edgetest.Start(t, edge.WithSeed(3), edge.WithLatency(edge.Latency{Fixed: 5 * time.Millisecond}),
		edge.WithFaults(edge.Faults{StallRate: 0.02, Stall: 2 * time.Second}))
	const n = 2000
	input := writeFile(t, "v.jsonl", visitorLines(n, func(i int) string { return fmt.Sprintf(`{"id":{"thirdPartyId":"x%d"}}`, i+1) }))
	for _, ordered := range []bool{false, true} {
		t.Run(fmt.Sprint("ordered=", ordered), func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out.jsonl")
			args := []string{"--input", input, "--output", out, "--execute", "hero", "--server-domain", addr, "--insecure",
				"--client", demo.Client, "--organization-id", demo.OrganizationID, "--concurrency", "64", "--timeout", "100ms"}
			if ordered {
				args = append(args, "--ordered")
			}
			ctx, cancel := context.WithCancel(context.Background())
			var stderr syncBuffer
			done := make(chan int, 1)
			go func() { done <- runCommand(ctx, args, stdio{In: strings.NewReader(""), Out: io.Discard, Err: &stderr}) }()
			time.Sleep(150 * time.Millisecond)
			cancel()
			if code := <-done; code != exitInterrupted {
				t.Fatalf("exit %d, want 130:\n%s", code, stderr.String())
			}
			var resume int64
			if _, err := fmt.Sscanf(stderr.String()[strings.Index(stderr.String(), "records up to "):], "records up to %d are complete", &resume); err != nil {
				t.Fatalf("no resume point:\n%s", stderr.String())
			}
			_, rs := readResults(t, out)
			for _, r := range rs {
				// Calls the stop cut are written as failures (canceled) and
				// are done: they are below the resume point like the rest.
				if r.Seq > resume {
					t.Fatalf("seq %d (%+v) written above the resume point %d", r.Seq, r.Error, resume)
				}
			}
			if int64(len(rs)) != resume {
				t.Fatalf("%d records written, resume point %d", len(rs), resume)
			}
			code, _, errOut := runCLI(t, context.Background(), append(args, "--skip", fmt.Sprint(resume)), nil, false)
			if code != exitOK && code != exitFailed {
				t.Fatalf("resumed run exited %d:\n%s", code, errOut)
			}
			count, rs := readResults(t, out)
			if len(rs) != n {
				t.Fatalf("%d results after resuming at %d, want %d", len(rs), resume, n)
			}
			for seq := int64(1); seq <= n; seq++ {
				if count[seq] != 1 {
					t.Fatalf("seq %d is in the output %d times", seq, count[seq])
				}
			}
		})
	}
}

// TestFullDisk writes the output to a size-limited tmpfs: the run fails
// with exit 3, counts only what is in the file, the file holds no partial
// line, and the resume point printed is true.
func TestFullDisk(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=256k"); err != nil {
		t.Skipf("cannot mount a size-limited tmpfs here (%v): the full-disk test needs root and mount(2)", err)
	}
	defer func() { _ = syscall.Unmount(dir, 0) }()
	const n = 3000 // ~1 MB of results: four times the room
	input := writeFile(t, "v.jsonl", visitorLines(n, func(i int) string { return fmt.Sprintf(`{"id":{"thirdPartyId":"d%d"}}`, i+1) }))
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"plain", nil},
		{"checkpoint", []string{"--checkpoint", filepath.Join(t.TempDir(), "run.checkpoint")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, tt.name+".jsonl")
			args := append([]string{"--input", input, "--output", out, "--execute", "hero,cart", "--concurrency", "16"}, tt.args...)
			code, _, stderr := runCLI(t, context.Background(), args, nil, false)
			if code != exitOutput || !strings.Contains(stderr, "no space left on device") {
				t.Fatalf("exit %d, want %d naming the full disk:\n%s", code, exitOutput, stderr)
			}
			count, rs := readResults(t, out)
			var okLine string
			fmt.Sscanf(stderr[strings.Index(stderr, "  ok "):], "  ok %s", &okLine)
			if fmt.Sprint(len(rs)) != okLine {
				t.Errorf("summary says ok %s, the file holds %d results:\n%s", okLine, len(rs), stderr)
			}
			if served := servedTotal(stderr, "hero"); served != len(rs) {
				t.Errorf("summary counts %d hero experiences served, the file holds %d results:\n%s", served, len(rs), stderr)
			}
			if strings.Contains(stderr, "failures:") {
				t.Errorf("summary lists failures of records it did not write:\n%s", stderr)
			}
			var resume int64
			fmt.Sscanf(stderr[strings.Index(stderr, "records up to "):], "records up to %d are complete", &resume)
			for seq := int64(1); seq <= resume; seq++ {
				if count[seq] != 1 {
					t.Fatalf("seq %d below the resume point %d is in the output %d times", seq, resume, count[seq])
				}
			}
			_ = os.Remove(out)
		})
	}
}

// TestOutputsThatCannotBeWritten: /dev/full as the output or dead letters:
// exit 3, nothing counted as written.
func TestOutputsThatCannotBeWritten(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full here")
	}
	input := writeFile(t, "v.jsonl", visitorLines(50, func(i int) string { return fmt.Sprintf(`{"id":{"tntId":"f%d"}}`, i) })+"not json\n")
	for _, args := range [][]string{
		{"--output", "/dev/full"},
		{"--output", filepath.Join(t.TempDir(), "out.jsonl"), "--dead-letter", "/dev/full"},
	} {
		code, _, stderr := runCLI(t, context.Background(), append([]string{"--input", input, "--execute", "hero"}, args...), nil, false)
		if code != exitOutput || !strings.Contains(stderr, "no space left on device") || !strings.Contains(stderr, "records up to") {
			t.Errorf("%v: exit %d, want %d with a resume point:\n%s", args, code, exitOutput, stderr)
		}
		if args[1] == "/dev/full" && !strings.Contains(stderr, "ok 0 ") {
			t.Errorf("%v: records counted as ok that were never written:\n%s", args, stderr)
		}
	}
}

// TestClosedPipe: a reader that closes standard output early makes the run
// exit 3 (not 141, SIGPIPE), saying so.
func TestClosedPipe(t *testing.T) {
	t.Parallel()
	cmd := cliCommand(t, "--execute", "hero")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.Contains(line, `"seq"`) {
		t.Fatalf("first line %q: %v", line, err)
	}
	stdout.Close()
	if code := exitCode(cmd.Wait()); code != exitOutput || !strings.Contains(stderr.String(), "output pipe was closed") {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, exitOutput, stderr.String())
	}
}

// TestSameFileRefused: an output, dead-letter or checkpoint path that is the
// input (by another name too) is refused, and the input is untouched.
func TestSameFileRefused(t *testing.T) {
	t.Parallel()
	content := visitorLines(5, func(i int) string { return fmt.Sprintf(`{"id":{"tntId":"s%d"}}`, i) })
	input := writeFile(t, "v.jsonl", content)
	link := filepath.Join(t.TempDir(), "link.jsonl")
	if err := os.Symlink(input, link); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--output", input},
		{"--output", link},
		{"--dead-letter", input, "--output", filepath.Join(t.TempDir(), "o.jsonl")},
		{"--checkpoint", input, "--output", filepath.Join(t.TempDir(), "o.jsonl")},
	} {
		code, _, stderr := runCLI(t, context.Background(), append([]string{"--input", input, "--execute", "hero"}, args...), nil, false)
		if code != exitUsage || !strings.Contains(stderr, "same file") {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming the same file", args, code, stderr)
		}
	}
	var out, errOut bytes.Buffer
	if code := decideCommand(context.Background(), []string{"--artifact", "demo", "--input", input, "--output", link}, stdio{In: strings.NewReader(""), Out: &out, Err: &errOut}); code != exitUsage || !strings.Contains(errOut.String(), "same file") {
		t.Errorf("decide --input X --output X: exit %d, %s", code, errOut.String())
	}
	if data, _ := os.ReadFile(input); string(data) != content {
		t.Errorf("the input was changed: %q", data)
	}
}

// TestSkipAppends: resuming with --skip N adds to the existing output
// instead of erasing it; an output with a partial last line is refused.
func TestSkipAppends(t *testing.T) {
	t.Parallel()
	input := writeFile(t, "v.jsonl", visitorLines(40, func(i int) string { return fmt.Sprintf(`{"id":{"tntId":"a%d"}}`, i) }))
	out := filepath.Join(t.TempDir(), "out.jsonl")
	args := []string{"--input", input, "--output", out, "--execute", "hero", "--ordered"}
	if code, _, stderr := runCLI(t, context.Background(), args, nil, false); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// Keep the first 25 results, as a run stopped after record 25 would.
	data, _ := os.ReadFile(out)
	lines := strings.SplitAfter(string(data), "\n")
	if err := os.WriteFile(out, []byte(strings.Join(lines[:25], "")), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, context.Background(), append(args, "--skip", "25"), nil, false); code != exitOK {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	count, rs := readResults(t, out)
	if len(rs) != 40 || len(count) != 40 {
		t.Fatalf("%d results, %d distinct after resuming: want 40", len(rs), len(count))
	}
	if err := os.WriteFile(out, []byte(strings.Join(lines[:25], "")+`{"seq":26,"ok`), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, context.Background(), append(args, "--skip", "25"), nil, false); code != exitUsage || !strings.Contains(stderr, "partial") {
		t.Errorf("partial last line: exit %d, %s; want 2", code, stderr)
	}
}

// TestBadInputsAreRecords: the inputs an operator found fatal or garbled
// are each one dead-lettered record with their exact bytes, and the records
// after them are read.
func TestBadInputsAreRecords(t *testing.T) {
	// Not parallel: its 50 MB lines would slow the parallel tests' calls
	// past their timeouts.
	long := `{"id":{"tntId":"` + strings.Repeat("y", 50<<20) + `"}}`
	badUTF8 := "{\"id\":{\"tntId\":\"caf\xe9\"}}"
	tests := []struct {
		name, input, format string
		wantGood            int
		wantDead            map[int]string // line -> error substring
		rawOf               map[int]string // line -> exact raw bytes
	}{
		{"jsonl with a BOM, a 50 MB line and invalid UTF-8", "\ufeff" + `{"id":{"tntId":"a"}}` + "\n\n\n" + long + "\n" + badUTF8 + "\n" + `{"id":{"tntId":"b"}}` + "\n",
			"jsonl", 2, map[int]string{4: "longer than the limit", 5: "not UTF-8"}, map[int]string{5: badUTF8}},
		{"csv with bare and unterminated quotes, ragged and binary rows", "tntId,page\n" +
			"a,home\n" + `b,ca"rt` + "\n" + "c,x\x00y\n" + "d\n" + `e,"never closed` + "\n" + "f,last\n",
			"csv", 2, map[int]string{3: "bare quote", 4: "NUL", 5: "wrong number of fields", 6: "not terminated"}, map[int]string{3: `b,ca"rt`, 6: `e,"never closed`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := writeFile(t, "v."+tt.format, tt.input)
			dead := filepath.Join(t.TempDir(), "dead.jsonl")
			out := filepath.Join(t.TempDir(), "out.jsonl")
			code, _, stderr := runCLI(t, context.Background(), []string{"--input", input, "--output", out, "--dead-letter", dead, "--execute", "hero"}, nil, false)
			if code != exitFailed {
				t.Fatalf("exit %d, want 1:\n%s", code, stderr)
			}
			if _, rs := readResults(t, out); len(rs) != tt.wantGood {
				t.Errorf("%d results, want %d", len(rs), tt.wantGood)
			}
			data, _ := os.ReadFile(dead)
			var got int
			for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
				var d struct {
					Line      int    `json:"line"`
					Error     string `json:"error"`
					Raw       string `json:"raw"`
					RawBase64 string `json:"rawBase64"`
					RawLength int    `json:"rawLength"`
				}
				if err := json.Unmarshal([]byte(l), &d); err != nil {
					t.Fatalf("dead letter %q: %v", l, err)
				}
				want, ok := tt.wantDead[d.Line]
				if !ok || !strings.Contains(d.Error, want) || !strings.Contains(d.Error, fmt.Sprintf("line %d", d.Line)) {
					t.Errorf("dead letter of line %d: %q, want one naming the line and %q", d.Line, d.Error, want)
				}
				raw := []byte(d.Raw)
				if d.RawBase64 != "" {
					raw, _ = base64.StdEncoding.DecodeString(d.RawBase64)
				}
				if exact, ok := tt.rawOf[d.Line]; ok && string(raw) != exact {
					t.Errorf("line %d: raw %q, want the input bytes %q", d.Line, raw, exact)
				}
				if strings.Contains(want, "longer") && (d.RawLength != len(long) || !strings.HasPrefix(long, string(raw))) {
					t.Errorf("long line: raw %d bytes, length %d; want its start and %d", len(raw), d.RawLength, len(long))
				}
				got++
			}
			if got != len(tt.wantDead) {
				t.Errorf("%d dead letters, want %d:\n%s", got, len(tt.wantDead), data)
			}
		})
	}
}

// TestArtifactDemo: --artifact demo means the demo artifact in run too.
func TestArtifactDemo(t *testing.T) {
	t.Parallel()
	input := writeFile(t, "v.jsonl", visitorLines(10, func(i int) string { return fmt.Sprintf(`{"id":{"tntId":"o%d"}}`, i) }))
	code, out, stderr := runCLI(t, context.Background(), []string{"--input", input, "--decisioning", "on-device", "--artifact", "demo", "--prefetch", "hero"}, nil, false)
	if code != exitOK || len(parseResults(t, out)) != 10 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
}

// TestCheckpointMismatchRefused: a checkpoint is refused (exit 2, naming
// what does not match) when the input is another file, or an output is
// shorter than recorded or has other bytes; the output is not truncated.
func TestCheckpointMismatchRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	input := writeFile(t, "v.jsonl", visitorLines(30, func(i int) string { return fmt.Sprintf(`{"id":{"tntId":"c%d"}}`, i) }))
	other := writeFile(t, "w.jsonl", visitorLines(31, func(i int) string { return fmt.Sprintf(`{"id":{"tntId":"c%d"}}`, i) }))
	out, ckpt := filepath.Join(dir, "out.jsonl"), filepath.Join(dir, "run.checkpoint")
	args := func(in string) []string {
		return []string{"--input", in, "--output", out, "--checkpoint", ckpt, "--execute", "hero"}
	}
	if code, _, stderr := runCLI(t, context.Background(), args(input), nil, false); code != exitOK {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	good, _ := os.ReadFile(out)
	// The input replaced by another file of the same name.
	if err := os.Rename(other, input+".other"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		break_ func()
		in     string
		want   string
	}{
		{"another input", func() {}, input + ".other", "the checkpoint is of input"},
		{"input changed", func() {
			data, _ := os.ReadFile(input)
			_ = os.WriteFile(input, append(data, []byte(`{"id":{"tntId":"new"}}`+"\n")...), 0o644)
		}, input, "another file, or changed"},
		{"output shorter", func() { _ = os.WriteFile(out, good[:len(good)/2], 0o644) }, input, "shorter than the"},
		{"output changed", func() {
			changed := bytes.Clone(good)
			changed[len(changed)-10] = 'X'
			_ = os.WriteFile(out, changed, 0o644)
		}, input, "not those the checkpoint recorded"},
	}
	inputData, _ := os.ReadFile(input)
	for _, tt := range tests {
		_ = os.WriteFile(input, inputData, 0o644)
		_ = os.WriteFile(out, good, 0o644)
		tt.break_()
		before, _ := os.ReadFile(out)
		code, _, stderr := runCLI(t, context.Background(), args(tt.in), nil, false)
		if code != exitUsage || !strings.Contains(stderr, tt.want) || !strings.Contains(stderr, ckpt) {
			t.Errorf("%s: exit %d, stderr %q; want 2 naming the checkpoint and %q", tt.name, code, stderr, tt.want)
		}
		if after, _ := os.ReadFile(out); !bytes.Equal(before, after) {
			t.Errorf("%s: the output was changed by a refused run", tt.name)
		}
	}
}

// servedTotal adds up the summary's counts of the experiences served at
// location ("    hero   Control ×12 · Free shipping ×9").
func servedTotal(summary, location string) int {
	total := 0
	for _, line := range strings.Split(summary, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != location {
			continue
		}
		for _, part := range strings.Split(line, "×")[1:] {
			var n int
			fmt.Sscanf(part, "%d", &n)
			total += n
		}
	}
	return total
}
