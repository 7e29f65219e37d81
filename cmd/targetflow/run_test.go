package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
)

// syncBuffer is an io.Writer safe to read while the command writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// result is the part of an output line the tests look at.
type result struct {
	Seq   int64 `json:"seq"`
	Line  int   `json:"line"`
	OK    bool  `json:"ok"`
	Error *struct {
		Kind    string `json:"kind"`
		Status  int    `json:"status"`
		Message string `json:"message"`
	} `json:"error"`
	Attempts int `json:"attempts"`
	Response *struct {
		Execute *struct {
			Mboxes []struct {
				Name string `json:"name"`
			} `json:"mboxes"`
		} `json:"execute"`
	} `json:"response"`
}

func parseResults(t *testing.T, out string) []result {
	t.Helper()
	var rs []result
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("output line %d is not a result: %v: %s", len(rs)+1, err, sc.Text())
		}
		rs = append(rs, r)
	}
	return rs
}

func runCLI(t *testing.T, ctx context.Context, args []string, in io.Reader, outIsTerminal bool) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut syncBuffer
	if in == nil {
		in = strings.NewReader("")
	}
	code = runCommand(ctx, args, stdio{In: in, Out: &out, Err: &errOut, OutIsTerminal: outIsTerminal})
	return code, out.String(), errOut.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func visitorLines(n int, line func(i int) string) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(line(i))
		b.WriteByte('\n')
	}
	return b.String()
}

func TestRunDemo(t *testing.T) {
	t.Parallel()
	code, out, stderr := runCLI(t, context.Background(), nil, nil, false)
	if code != exitOK {
		t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr)
	}
	rs := parseResults(t, out)
	if len(rs) != demo.VisitorCount {
		t.Fatalf("%d output lines, want %d", len(rs), demo.VisitorCount)
	}
	seen := map[int64]bool{}
	for _, r := range rs {
		if !r.OK || r.Attempts != 1 || seen[r.Seq] {
			t.Fatalf("result %+v: want ok, one attempt, seen once", r)
		}
		seen[r.Seq] = true
	}
	for _, want := range []string{fmt.Sprintf("%d visitors in", demo.VisitorCount), "visitors/s", "experiences served", demo.MboxHero, "p99", "last record complete: 3000"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("summary lacks %q:\n%s", want, stderr)
		}
	}
}

func TestRunOnTerminalPrintsSummaryInsteadOfJSON(t *testing.T) {
	t.Parallel()
	input := writeFile(t, "v.jsonl", visitorLines(20, func(i int) string { return fmt.Sprintf(`{"id":{"tntId":"t%d"}}`, i) }))
	code, out, _ := runCLI(t, context.Background(), []string{"--input", input, "--execute", demo.MboxHero}, nil, true)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if strings.Contains(out, `"seq"`) || !strings.Contains(out, "20 visitors in") {
		t.Errorf("terminal output should be the summary only:\n%s", out)
	}
}

func TestRunUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--format", "xml"}, `--format "xml"`},
		{[]string{"--decisioning", "psychic"}, `--decisioning "psychic"`},
		{[]string{"--concurrency", "0"}, "--concurrency 0"},
		{[]string{"--timeout", "-1s"}, "--timeout -1s"},
		{[]string{"--retries", "-2"}, "--retries -2"},
		{[]string{"--skip", "-1"}, "--skip -1"},
		{[]string{"--server-domain", "example.com"}, "--server-domain needs --client and --organization-id"},
		{[]string{"--input", "/nonexistent/visitors.jsonl"}, "--input"},
		{[]string{"--artifact", "/nonexistent/rules.json"}, "embedded edge"},
		{[]string{"--output", "x", "--dead-letter", "x"}, `--dead-letter and --output are the same file "x"`},
		{[]string{"--no-such-flag"}, "flag provided but not defined"},
		{[]string{"stray"}, `unexpected argument "stray"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runCLI(t, context.Background(), tt.args, nil, false)
			if code != exitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 mentioning %q", code, stderr, tt.want)
			}
		})
	}
	if code, _, _ := runCLI(t, context.Background(), []string{"-h"}, nil, false); code != exitOK {
		t.Errorf("-h exits %d, want 0", code)
	}
}

func TestRunBadLines(t *testing.T) {
	t.Parallel()
	input := writeFile(t, "v.jsonl", `{"id":{"tntId":"a"}}
{"id":{"tntId":"b"},"execute":"hero"}
{"id":{"tntId":"c"}}
not json
{"id":{"tntId":"e"}}
`)
	t.Run("to the dead-letter file", func(t *testing.T) {
		t.Parallel()
		dead := filepath.Join(t.TempDir(), "dead.jsonl")
		code, out, stderr := runCLI(t, context.Background(), []string{"--input", input, "--execute", demo.MboxHero, "--dead-letter", dead, "--ordered"}, nil, false)
		if code != exitFailed {
			t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
		}
		rs := parseResults(t, out)
		if len(rs) != 3 || rs[0].Seq != 1 || rs[1].Seq != 3 || rs[2].Seq != 5 {
			t.Fatalf("output %+v, want the 3 good records in order", rs)
		}
		raw, err := os.ReadFile(dead)
		if err != nil {
			t.Fatal(err)
		}
		var deadLines []struct {
			Seq   int64  `json:"seq"`
			Line  int    `json:"line"`
			Error string `json:"error"`
			Raw   string `json:"raw"`
		}
		for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
			var d struct {
				Seq   int64  `json:"seq"`
				Line  int    `json:"line"`
				Error string `json:"error"`
				Raw   string `json:"raw"`
			}
			if err := json.Unmarshal([]byte(l), &d); err != nil {
				t.Fatalf("dead-letter line %q: %v", l, err)
			}
			deadLines = append(deadLines, d)
		}
		if len(deadLines) != 2 || deadLines[0].Line != 2 || deadLines[1].Line != 4 || deadLines[1].Raw != "not json" ||
			!strings.Contains(deadLines[0].Error, "line 2") {
			t.Errorf("dead letters %+v, want lines 2 and 4 with their text", deadLines)
		}
		if !strings.Contains(stderr, "dead-lettered 2") {
			t.Errorf("summary does not count the dead letters:\n%s", stderr)
		}
	})
	t.Run("to the output as failures", func(t *testing.T) {
		t.Parallel()
		code, out, _ := runCLI(t, context.Background(), []string{"--input", input, "--execute", demo.MboxHero, "--ordered"}, nil, false)
		rs := parseResults(t, out)
		if code != exitFailed || len(rs) != 5 {
			t.Fatalf("exit %d with %d lines, want 1 with 5", code, len(rs))
		}
		if rs[3].OK || rs[3].Error == nil || rs[3].Error.Kind != "invalid" || rs[3].Line != 4 {
			t.Errorf("line 4 result %+v, want an invalid failure naming line 4", rs[3])
		}
	})
}

func TestRunOrderedSkipAndCSV(t *testing.T) {
	t.Parallel()
	jsonl := writeFile(t, "v.jsonl", visitorLines(60, func(i int) string { return fmt.Sprintf(`{"id":{"thirdPartyId":"p%d"}}`, i+1) }))
	csv := writeFile(t, "v.csv", "thirdPartyId,loyaltyTier\n"+visitorLines(60, func(i int) string { return fmt.Sprintf("p%d,gold", i+1) }))
	for _, input := range []string{jsonl, csv} {
		t.Run(filepath.Ext(input), func(t *testing.T) {
			t.Parallel()
			code, out, stderr := runCLI(t, context.Background(), []string{"--input", input, "--execute", "hero,cart", "--ordered", "--skip", "10", "--concurrency", "8"}, nil, false)
			if code != exitOK {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			rs := parseResults(t, out)
			if len(rs) != 50 {
				t.Fatalf("%d lines, want 50", len(rs))
			}
			for i, r := range rs {
				if r.Seq != int64(i+11) || r.Response == nil || r.Response.Execute == nil || len(r.Response.Execute.Mboxes) != 2 {
					t.Fatalf("line %d: %+v, want seq %d with two mboxes", i+1, r, i+11)
				}
			}
		})
	}
}

func TestRunInterruptedReportsResumePoint(t *testing.T) {
	t.Parallel()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- runCommand(ctx, []string{"--input", "-", "--execute", demo.MboxHero}, stdio{In: pr, Out: &out, Err: &errOut})
	}()
	for i := range 200 {
		fmt.Fprintf(pw, `{"id":{"tntId":"t%d"}}`+"\n", i)
	}
	// The input stays open, as a person typing or a producer still running.
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(out.String(), "\n") < 200 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d results after 10s", strings.Count(out.String(), "\n"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	got := <-code
	pw.Close()
	if got != exitInterrupted {
		t.Fatalf("exit %d, want 130; stderr:\n%s", got, errOut.String())
	}
	if !strings.Contains(errOut.String(), "records up to 200 are complete; resume with:\n  targetflow run --input - --execute hero --skip 200\n") {
		t.Errorf("stderr does not give the resume point 200:\n%s", errOut.String())
	}
	if rs := parseResults(t, out.String()); len(rs) != 200 {
		t.Errorf("%d results, want the 200 read", len(rs))
	}
}

// TestRunFaults is the faults scenario at a small size: an edge that fails,
// resets and stalls requests; the run still writes exactly one record per
// visitor, nearly all ok after retries, none twice.
func TestRunFaults(t *testing.T) {
	// Not parallel: goleak checks that nothing of the run survives it.
	defer goleak.VerifyNone(t)
	srv, err := edge.New(demo.Artifact(), edge.WithSeed(11), edge.WithShutdownTimeout(time.Second), edge.WithFaults(edge.Faults{
		ErrorRate: 0.1, ResetRate: 0.02, StallRate: 0.01, Stall: 3 * time.Second,
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	addr, err := srv.Start(ctx, "127.0.0.1:0")
	if err != nil {
		stop()
		t.Fatal(err)
	}
	defer func() {
		stop()
		_ = srv.Wait()
	}()
	const n = 2000
	input := writeFile(t, "v.jsonl", visitorLines(n, func(i int) string { return fmt.Sprintf(`{"id":{"thirdPartyId":"f%d"}}`, i) }))
	code, out, stderr := runCLI(t, context.Background(), []string{
		"--input", input, "--execute", "hero,cart", "--server-domain", addr, "--insecure",
		"--client", demo.Client, "--organization-id", demo.OrganizationID,
		"--concurrency", "128", "--timeout", "1s", "--retries", "5",
	}, nil, false)
	rs := parseResults(t, out)
	if len(rs) != n {
		t.Fatalf("%d output records, want exactly %d; stderr:\n%s", len(rs), n, stderr)
	}
	seen := make(map[int64]bool, n)
	var ok, retried int
	for _, r := range rs {
		if seen[r.Seq] {
			t.Fatalf("seq %d written twice", r.Seq)
		}
		seen[r.Seq] = true
		if r.OK {
			ok++
		} else if r.Error == nil || r.Error.Kind == "" {
			t.Errorf("failed record %+v has no reason", r)
		}
		if r.Attempts > 1 {
			retried++
		}
	}
	if float64(ok) < 0.999*n {
		t.Errorf("%d of %d ok, want at least 99.9%%; stderr:\n%s", ok, n, stderr)
	}
	if retried == 0 {
		t.Error("no record needed a retry: the faults were not injected")
	}
	if want := exitOK; ok < n {
		want = exitFailed
		if code != want {
			t.Errorf("exit %d with failures, want %d", code, want)
		}
	} else if code != exitOK {
		t.Errorf("exit %d, want 0; stderr:\n%s", code, stderr)
	}
}

func TestRunServesMetrics(t *testing.T) {
	t.Parallel()
	pr, pw := io.Pipe()
	var out, errOut syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- runCommand(context.Background(), []string{"--input", "-", "--execute", demo.MboxHero, "--metrics-addr", "127.0.0.1:0"},
			stdio{In: pr, Out: &out, Err: &errOut})
	}()
	fmt.Fprintln(pw, `{"id":{"tntId":"m1"}}`)
	var url string
	deadline := time.Now().Add(10 * time.Second)
	for url == "" || !strings.Contains(out.String(), "\n") {
		if time.Now().After(deadline) {
			t.Fatalf("no metrics address or result after 10s; stderr:\n%s", errOut.String())
		}
		if i := strings.Index(errOut.String(), "metrics on "); i >= 0 {
			url = strings.Fields(errOut.String()[i+len("metrics on "):])[0]
		}
		time.Sleep(5 * time.Millisecond)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	pw.Close()
	if c := <-code; c != exitOK {
		t.Errorf("exit %d; stderr:\n%s", c, errOut.String())
	}
	want := `targetflow_pipeline_items_total{component="deliver",kind="stage",outcome="ok"} 1`
	if !strings.Contains(string(body), want) {
		t.Errorf("metrics lack %s:\n%s", want, body)
	}
}

func TestRunProgressBar(t *testing.T) {
	t.Parallel()
	input := writeFile(t, "v.jsonl", visitorLines(300, func(i int) string { return fmt.Sprintf(`{"id":{"tntId":"t%d"}}`, i) }))
	tests := []struct {
		name    string
		args    []string
		wantBar bool
	}{
		{"forced", []string{"--progress"}, true},
		{"not a terminal", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"--input", input, "--execute", demo.MboxHero, "--output", filepath.Join(t.TempDir(), "out.jsonl")}, tt.args...)
			code, _, stderr := runCLI(t, context.Background(), args, nil, false)
			if code != exitOK {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			// The bar redraws its line with carriage returns.
			if gotBar := strings.Contains(stderr, "\r"); gotBar != tt.wantBar {
				t.Errorf("progress bar drawn: %t, want %t; stderr:\n%q", gotBar, tt.wantBar, stderr)
			}
		})
	}
}
