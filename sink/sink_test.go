package sink_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/sink"
	"github.com/targetflow/targetflow/source"
	"github.com/targetflow/targetflow/visitor"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// items emits the given items in order.
func items(its ...*visitor.Item) *pipeline.Source[visitor.Envelope] {
	return pipeline.NewSource("items", func(_ context.Context, emit pipeline.Emit[visitor.Envelope]) error {
		for _, it := range its {
			if !emit(it) {
				return nil
			}
		}
		return nil
	})
}

func sample() []*visitor.Item {
	return []*visitor.Item{
		{Value: visitor.Envelope{
			Record:        &visitor.Record{ID: &delivery.VisitorID{TntID: "sent"}},
			Response:      &delivery.DeliveryResponse{Status: 200, ID: &delivery.VisitorID{TntID: "answered.28_0"}},
			TargetCookie:  &visitor.Cookie{Name: "mbox", Value: "session#abc", MaxAge: 1860},
			Attempts:      1,
			Notifications: 2,
			Delivery:      12345 * time.Microsecond,
		}},
		{
			Value: visitor.Envelope{Record: &visitor.Record{ID: &delivery.VisitorID{TntID: "b"}}, Attempts: 4},
			Err:   &visitor.Error{Stage: "deliver", Kind: visitor.KindHTTP, Status: 503, Err: errors.New("service unavailable")},
		},
		{
			Pos: pipeline.Position{Line: 3}, Value: visitor.Envelope{Raw: []byte(`{"id":`)},
			Err: &visitor.Error{Stage: "jsonl", Kind: visitor.KindInvalid, Line: 3, Err: errors.New("unexpected end of JSON input")},
		},
	}
}

func TestJSONLRecords(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if _, err := pipeline.From(items(sample()...)).To(sink.JSONL(&out)).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"seq":1,"id":{"tntId":"answered.28_0"},"ok":true,"response":{"status":200,"id":{"tntId":"answered.28_0"}},"targetCookie":{"name":"mbox","value":"session#abc","maxAge":1860},"attempts":1,"latencyMs":12.35,"notifications":2}`,
		`{"seq":2,"id":{"tntId":"b"},"ok":false,"error":{"kind":"http","status":503,"stage":"deliver","message":"service unavailable"},"attempts":4}`,
		`{"seq":3,"line":3,"ok":false,"error":{"kind":"invalid","stage":"jsonl","message":"unexpected end of JSON input"},"attempts":0}`,
	}
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(got), len(want), out.String())
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, got[i], want[i])
		}
	}
}

func TestRouterSplitsFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		predicate    sink.Predicate
		wantMain     []int64
		wantDead     []int64
		deadLettered int64
	}{
		{"failed", sink.Failed, []int64{1}, []int64{2, 3}, 2},
		{"invalid input only", sink.InvalidInput, []int64{1, 2}, []int64{3}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var main, dead bytes.Buffer
			router := sink.Router(sink.JSONL(&main), sink.DeadLetter(&dead), tt.predicate)
			stats, err := pipeline.From(items(sample()...)).To(router).Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := seqs(t, main.String()); !equal(got, tt.wantMain) {
				t.Errorf("main got seqs %v, want %v", got, tt.wantMain)
			}
			if got := seqs(t, dead.String()); !equal(got, tt.wantDead) {
				t.Errorf("dead letter got seqs %v, want %v", got, tt.wantDead)
			}
			if stats.DeadLettered != tt.deadLettered || stats.Written != 3 {
				t.Errorf("dead-lettered %d written %d, want %d and 3", stats.DeadLettered, stats.Written, tt.deadLettered)
			}
		})
	}
}

func TestDeadLetterKeepsRawLine(t *testing.T) {
	t.Parallel()
	var dead bytes.Buffer
	input := "{\"id\":{\"tntId\":\"a\"}}\n{broken\n"
	router := sink.Router(sink.Discard(), sink.DeadLetter(&dead), sink.InvalidInput)
	if _, err := pipeline.From(source.JSONL(strings.NewReader(input))).To(router).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	var rec visitor.DeadLetterRecord
	if err := json.Unmarshal(dead.Bytes(), &rec); err != nil {
		t.Fatalf("dead letter %q: %v", dead.String(), err)
	}
	if rec.Seq != 2 || rec.Line != 2 || rec.Raw != "{broken" || rec.Kind != visitor.KindInvalid || !strings.Contains(rec.Error, "line 2") {
		t.Errorf("dead-letter record %+v", rec)
	}
}

// failingWriter fails every write after the first n bytes.
type failingWriter struct {
	mu      sync.Mutex
	n       int
	written int
}

var errDiskFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.written+len(p) > w.n {
		return 0, errDiskFull
	}
	w.written += len(p)
	return len(p), nil
}

func TestJSONLWriteFailureIsFatal(t *testing.T) {
	t.Parallel()
	infinite := pipeline.NewSource("infinite", func(_ context.Context, emit pipeline.Emit[visitor.Envelope]) error {
		for emit(&visitor.Item{Value: visitor.Envelope{Attempts: 1}}) {
		}
		return nil
	})
	_, err := pipeline.From(infinite).To(sink.JSONL(&failingWriter{n: 1 << 20})).Run(context.Background())
	if !errors.Is(err, errDiskFull) || !strings.Contains(err.Error(), "sink jsonl") {
		t.Fatalf("Run error = %v, want the writer's error naming the sink", err)
	}
}

// lockedBuffer is a bytes.Buffer safe to read while the sink writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestJSONLFlushesOnCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var out lockedBuffer
	emitted := 0
	src := pipeline.NewSource("until-cancel", func(_ context.Context, emit pipeline.Emit[visitor.Envelope]) error {
		for {
			emitted++
			if emitted == 10 {
				cancel()
			}
			if !emit(&visitor.Item{Value: visitor.Envelope{Attempts: 1}}) {
				return nil
			}
		}
	})
	stats, err := pipeline.From(src).To(sink.JSONL(&out, sink.WithFlushInterval(time.Hour))).Run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run error = %v, want context.Canceled", err)
	}
	if lines := strings.Count(out.String(), "\n"); int64(lines) != stats.Written || lines < 9 {
		t.Errorf("%d lines flushed, %d items written (want equal, at least 9)", lines, stats.Written)
	}
}

func TestChanSink(t *testing.T) {
	t.Parallel()
	ch := make(chan *visitor.Item, 3)
	if _, err := pipeline.From(items(sample()...)).To(sink.Chan(ch)).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	close(ch)
	var n int64
	for it := range ch {
		n++
		if it.Pos.Seq != n {
			t.Errorf("got seq %d, want %d", it.Pos.Seq, n)
		}
	}
	if n != 3 {
		t.Errorf("got %d items, want 3", n)
	}
}

func TestFuncSinkErrorIsFatal(t *testing.T) {
	t.Parallel()
	errBroken := errors.New("broken")
	_, err := pipeline.From(items(sample()...)).To(sink.Func(func(context.Context, *visitor.Item) error { return errBroken })).Run(context.Background())
	if !errors.Is(err, errBroken) {
		t.Fatalf("Run error = %v, want %v", err, errBroken)
	}
}

func seqs(t *testing.T, jsonl string) []int64 {
	t.Helper()
	var out []int64
	for _, line := range strings.Split(strings.TrimSpace(jsonl), "\n") {
		if line == "" {
			continue
		}
		var r struct {
			Seq int64 `json:"seq"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		out = append(out, r.Seq)
	}
	return out
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestJSONLFlushesWhenInputIsIdle(t *testing.T) {
	t.Parallel()
	in := make(chan visitor.Record)
	var out lockedBuffer
	done := make(chan error, 1)
	go func() {
		_, err := pipeline.From(source.Chan(in)).To(sink.JSONL(&out, sink.WithFlushInterval(10*time.Millisecond))).Run(context.Background())
		done <- err
	}()
	in <- visitor.Record{}
	// The record must reach the writer while the input stays open.
	for !strings.Contains(out.String(), `"seq":1`) {
		select {
		case err := <-done:
			t.Fatalf("run ended early: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	close(in)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
