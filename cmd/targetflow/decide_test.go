package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/internal/sdktesting"
	"github.com/targetflow/targetflow/ondevice"
)

func runDecide(t testing.TB, args []string, input string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = decideCommand(context.Background(), args, stdio{In: strings.NewReader(input), Out: &out, Err: &errOut})
	return code, out.String(), errOut.String()
}

func demoRequestLine(requestID, mbox string) string {
	return fmt.Sprintf(`{"requestId":%q,"id":{"tntId":"visitor-%s"},"context":{"channel":"web","userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"},"execute":{"mboxes":[{"index":1,"name":%q}]}}`, requestID, requestID, mbox)
}

func TestDecideLinesInOrderWithErrors(t *testing.T) {
	defer goleak.VerifyNone(t)
	input := strings.Join([]string{
		demoRequestLine("r1", demo.MboxHero),
		`not json`,
		demoRequestLine("r3", demo.MboxCart),
		`{"execute":{"mboxes":[{"index":1,"name":"hero"}]}}`,
		`{"context":{"channel":"web"},"execute":{"mboxes":[{"index":"one"}]}}`,
		`[]`,
		demoRequestLine("r7", demo.MboxFeatureFlags),
	}, "\n") + "\n"
	code, stdout, stderr := runDecide(t, []string{"--artifact", "demo"}, input)
	if code != exitFailed {
		t.Errorf("exit code %d; want %d (some lines failed); stderr: %s", code, exitFailed, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != 7 {
		t.Fatalf("got %d output lines; want 7:\n%s", len(lines), stdout)
	}
	wantErrors := map[int]string{2: "invalid request: the body is not valid JSON", 4: "context is required",
		5: `execute.mboxes[0].index "one" must be an integer, not a string`, 6: "invalid request: the body is an array"}
	for i, line := range lines {
		n := i + 1
		var out struct {
			RequestID string `json:"requestId"`
			Error     *struct {
				Line    int    `json:"line"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(line), &out); err != nil {
			t.Fatalf("line %d is not JSON: %s", n, line)
		}
		if want, isErr := wantErrors[n]; isErr {
			if out.Error == nil || out.Error.Line != n || !strings.Contains(out.Error.Message, want) {
				t.Errorf("line %d = %s; want an error for line %d containing %q", n, line, n, want)
			}
			continue
		}
		if out.Error != nil || out.RequestID != fmt.Sprintf("r%d", n) {
			t.Errorf("line %d = %s; want the response to request r%d", n, line, n)
		}
	}
	if !strings.Contains(stderr, "4 line(s) failed") {
		t.Errorf("stderr = %q", stderr)
	}
}

func TestDecideMatchesTheEngine(t *testing.T) {
	defer goleak.VerifyNone(t)
	var requests bytes.Buffer
	engine, err := ondevice.New(ondevice.WithClient(demo.Client), ondevice.WithArtifactPayload(demo.Artifact()), ondevice.WithTelemetry(false))
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	if err := writeSampleRequests(&requests, engine.Artifact(), 3000, 7); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runDecide(t, []string{"--artifact", "demo", "--workers", "3"}, requests.String())
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	in := bufio.NewScanner(strings.NewReader(requests.String()))
	in.Buffer(nil, 1<<20)
	out := bufio.NewScanner(strings.NewReader(stdout))
	out.Buffer(nil, 1<<20)
	n := 0
	for in.Scan() {
		n++
		if !out.Scan() {
			t.Fatalf("output ends at line %d", n)
		}
		req, err := delivery.DecodeRequest(in.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		d, err := engine.Decide(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(d.Response)
		var got, exp any
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		_ = json.Unmarshal(want, &exp)
		if fmt.Sprint(got) != fmt.Sprint(exp) {
			t.Fatalf("line %d differs:\n got  %s\n want %s", n, out.Bytes(), want)
		}
	}
	if out.Scan() || n != 3000 {
		t.Errorf("line counts differ: %d inputs", n)
	}
}

func TestDecideUsageAndArtifactErrors(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := t.TempDir()
	unsupported := filepath.Join(dir, "v99.json")
	if err := os.WriteFile(unsupported, []byte(`{"version":"99.0.0","rules":{"mboxes":{},"views":{}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := httptest.NewServer(http.NotFoundHandler())
	defer missing.Close()
	defer missing.CloseClientConnections()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"artifact URL not found", []string{"--artifact", missing.URL + "/rules.json", "--client", "c"}, "HTTP 404"},
		{"no artifact", []string{"--client", "c"}, "--artifact is required"},
		{"no client", []string{"--artifact", unsupported}, "--client is required"},
		{"unknown flag", []string{"--nope"}, "flag provided but not defined"},
		{"extra argument", []string{"--artifact", "demo", "x"}, `unexpected argument "x"`},
		{"unsupported version", []string{"--artifact", unsupported, "--client", "c"}, "unsupported artifact version"},
		{"missing file", []string{"--artifact", filepath.Join(dir, "none.json"), "--client", "c"}, "no such file"},
		{"missing input", []string{"--artifact", "demo", "--input", filepath.Join(dir, "none.jsonl")}, "--input"},
		{"bad workers", []string{"--artifact", "demo", "--workers", "0"}, "--workers"},
	}
	for _, tt := range tests {
		code, _, stderr := runDecide(t, tt.args, "")
		if code != exitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", tt.name, code, stderr, exitUsage, tt.want)
		}
	}
}

func TestDecideFilesURLAndObfuscatedArtifact(t *testing.T) {
	defer goleak.VerifyNone(t)
	root := sdktesting.Dir(t)
	dir := t.TempDir()
	artifact, err := os.ReadFile(filepath.Join(root, "artifacts", "TEST_ARTIFACT_AB_SIMPLE.json"))
	if err != nil {
		t.Fatal(err)
	}
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(artifact) }))
	defer server.Close()
	defer server.CloseClientConnections()
	const visitor = `"id":{"tntId":"338e3c1e51f7416a8e1ccba4f81acea0.28_0"},"context":{"channel":"web","address":{"url":"http://local-target-test/"}}`
	tests := []struct {
		name  string
		args  []string
		line  string
		check func(*delivery.DeliveryResponse) bool
	}{
		{
			"obfuscated rules.bin file",
			[]string{"--artifact", filepath.Join(root, "obfuscation", "rules.bin"), "--client", "targettesting", "--organization-id", "74F652E95F1B16FE0A495C92@AdobeOrg"},
			`{"requestId":"x",` + visitor + `,"execute":{"pageLoad":{}}}`,
			func(r *delivery.DeliveryResponse) bool {
				return r.Status == 200 && r.Execute != nil && r.Execute.PageLoad != nil
			},
		},
		{
			"rules.json URL",
			[]string{"--artifact", server.URL + "/rules.json", "--client", "targettesting"},
			`{"requestId":"x",` + visitor + `,"execute":{"mboxes":[{"index":1,"name":"mbox-magician"}]}}`,
			func(r *delivery.DeliveryResponse) bool {
				return r.Status == 200 && r.Execute != nil && len(r.Execute.Mboxes) == 1 && len(r.Execute.Mboxes[0].Options) == 1
			},
		},
	}
	for i, tt := range tests {
		input := filepath.Join(dir, fmt.Sprintf("in%d.jsonl", i))
		output := filepath.Join(dir, fmt.Sprintf("out%d.jsonl", i))
		if err := os.WriteFile(input, []byte(tt.line+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := runDecide(t, append(tt.args, "--input", input, "--output", output), "")
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", tt.name, code, stderr)
		}
		data, err := os.ReadFile(output)
		if err != nil {
			t.Fatal(err)
		}
		var resp delivery.DeliveryResponse
		if err := json.Unmarshal(data, &resp); err != nil || !tt.check(&resp) {
			t.Errorf("%s: response %s (%v)", tt.name, data, err)
		}
	}
	code, _, stderr := runDecide(t, []string{"--artifact", filepath.Join(root, "obfuscation", "rules.bin"), "--client", "targettesting", "--organization-id", "WRONG"}, "")
	if code != exitUsage || !strings.Contains(stderr, "wrong organization id") {
		t.Errorf("wrong organization id: exit %d, stderr %q", code, stderr)
	}
}

func TestDecideGenerate(t *testing.T) {
	defer goleak.VerifyNone(t)
	code, stdout, stderr := runDecide(t, []string{"--artifact", "demo", "--generate", "50"}, "")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 50 {
		t.Fatalf("%d lines; want 50", len(lines))
	}
	for i, l := range lines {
		if _, err := delivery.DecodeRequest([]byte(l)); err != nil {
			t.Errorf("line %d: %v", i+1, err)
		}
	}
	code, stdout, _ = runDecide(t, []string{"--artifact", "demo"}, strings.Join(lines, "\n"))
	if code != exitOK || strings.Count(stdout, "\n") != 50 {
		t.Errorf("deciding the generated requests: exit %d, %d lines", code, strings.Count(stdout, "\n"))
	}
}

// TestDecideBlankLinesAndBOM: blank lines (at the start too) are skipped,
// as "targetflow run" skips them, and a byte-order mark is ignored; errors
// name the input line.
func TestDecideBlankLinesAndBOM(t *testing.T) {
	defer goleak.VerifyNone(t)
	input := "\ufeff\n\n" + demoRequestLine("r3", demo.MboxHero) + "\n   \n" + "nope\n\n"
	code, stdout, stderr := runDecide(t, []string{"--artifact", "demo"}, input)
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if code != exitFailed || len(lines) != 2 || !strings.Contains(lines[0], `"requestId":"r3"`) ||
		!strings.Contains(lines[1], `"line":5`) || strings.Contains(stdout, "longer than") {
		t.Errorf("exit %d, output:\n%s\nstderr: %s", code, stdout, stderr)
	}
}

func TestDecideReadLine(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", decideMaxLine+10)
	r := bufio.NewReaderSize(strings.NewReader("a\r\n\n"+long+"\nlast"), 16)
	var got []string
	for {
		line, tooLong, err := decideReadLine(r)
		if err != nil && line == nil && !tooLong {
			break
		}
		switch {
		case tooLong:
			got = append(got, "<long>")
		case len(line) > 100:
			got = append(got, fmt.Sprintf("<%d bytes>", len(line)))
		default:
			got = append(got, string(line))
		}
		if err != nil {
			break
		}
	}
	if fmt.Sprint(got) != "[a  <long> last]" {
		t.Errorf("lines = %q", got)
	}
}

// BenchmarkDecideCommand measures "targetflow decide" end to end (JSON lines
// in, decisions, JSON lines out, in order, on every core) over 100,000
// generated requests against the demo artifact. Target: ≥ 60,000 req/s on
// 2 cores.
func BenchmarkDecideCommand(b *testing.B) {
	engine, err := ondevice.New(ondevice.WithClient(demo.Client),
		ondevice.WithArtifactPayload(demo.Artifact()), ondevice.WithTelemetry(false))
	if err != nil {
		b.Fatal(err)
	}
	defer engine.Close()
	const requests = 100_000
	var input bytes.Buffer
	if err := writeSampleRequests(&input, engine.Artifact(), requests, 1); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(input.Len()))
	b.ResetTimer()
	for b.Loop() {
		var out countingWriter
		failed, err := decideLines(context.Background(), engine, bytes.NewReader(input.Bytes()), &out, 2, noTelemetry())
		if err != nil || failed != 0 {
			b.Fatalf("failed %d, err %v", failed, err)
		}
		if out.lines != requests {
			b.Fatalf("%d output lines", out.lines)
		}
	}
	b.ReportMetric(float64(requests*b.N)/b.Elapsed().Seconds(), "req/s")
}

type countingWriter struct{ lines int }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.lines += bytes.Count(p, []byte("\n"))
	return len(p), nil
}
