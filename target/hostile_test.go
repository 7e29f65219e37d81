package target

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sourcegraph/conc"
)

// The peers of these tests are deliberately hostile Delivery API stand-ins
// (httptest servers on 127.0.0.1): what issue 12 tried against the client.

// hostile serves handler on loopback until the test ends and returns a
// client calling it over plain HTTP (no cluster routing: the requests carry
// no tntId and the answers no edgeHost), with opts appended.
func hostile(t *testing.T, handler http.HandlerFunc, opts ...Option) *Client {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	c, err := New(append([]Option{WithClient("acme"), WithOrganizationID("ACME@AdobeOrg"),
		WithSecure(false), WithServerDomain(srv.Listener.Addr().String()), WithTimeout(time.Minute)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// hugeAnswer writes the start of an answer whose one offer never ends:
// about size bytes of it, chunked (no Content-Length), until the client
// hangs up.
func hugeAnswer(size int) http.HandlerFunc {
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if _, err := io.WriteString(w, `{"status":200,"execute":{"mboxes":[{"index":0,"name":"hero","options":[{"type":"html","content":"`); err != nil {
			return
		}
		for written := 0; written < size; written += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return // the client hung up
			}
		}
	}
}

func TestHostileAnswersAreClassified(t *testing.T) {
	t.Parallel()
	answer := func(text string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, text)
		}
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		opts    []Option
		// op is the TransportError's Op; want is in its message.
		op, want  string
		retryable bool
		timeout   bool
	}{
		{name: "empty", handler: answer(""), op: "decode", want: "answer: empty"},
		{name: "null", handler: answer("null"), op: "decode", want: "answer: null, not a Delivery API response object"},
		{name: "HTML", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<!DOCTYPE html><html><body>Maintenance</body></html>")
		}, op: "decode", want: "answer: not JSON"},
		{name: "an object of no answer member", handler: answer(`{"message":"ok"}`), op: "decode", want: "no member of a Delivery API response"},
		{name: "JSON cut short in a complete body", handler: answer(`{"status":200,"execute":{"mboxes":[{"index":0,`), op: "decode", want: "unexpected EOF"},
		{name: "a connection cut inside the body", handler: func(w http.ResponseWriter, r *http.Request) {
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				panic(err)
			}
			defer conn.Close()
			_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"status\":200,")
			_ = buf.Flush()
		}, op: "read", want: "unexpected EOF", retryable: true},
		{name: "oversize, announced", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(100<<20))
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, `{"status":200`) // and hang up
		}, op: "decode", want: fmt.Sprintf("answer is larger than %d bytes", DefaultMaxResponseBytes)},
		{name: "oversize, chunked", handler: hugeAnswer(100 << 20), opts: []Option{WithMaxResponseBytes(256 << 10)},
			op: "decode", want: "answer is larger than 262144 bytes"},
		{name: "slow drip", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			for _, b := range []byte(`{"status":200,"client":"acme"}`) {
				if _, err := w.Write([]byte{b}); err != nil {
					return
				}
				http.NewResponseController(w).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		}, opts: []Option{WithTimeout(time.Second)}, op: "read", retryable: true, timeout: true}, // 3 s of drip
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := hostile(t, tt.handler, tt.opts...)
			resp, err := c.GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes("hero")})
			var te *TransportError
			if !errors.As(err, &te) || resp != nil {
				t.Fatalf("GetOffers = %v, %v; want a TransportError", resp, err)
			}
			if te.Op != tt.op || te.Timeout != tt.timeout || IsRetryable(err) != tt.retryable || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v (op %s, timeout %t, retryable %t); want op %s, timeout %t, retryable %t, saying %q",
					err, te.Op, te.Timeout, IsRetryable(err), tt.op, tt.timeout, tt.retryable, tt.want)
			}
		})
	}
}

// heapPeak samples the heap every few milliseconds while work runs and
// returns the largest HeapAlloc seen above the heap before it.
func heapPeak(work func()) (peak, before uint64) {
	runtime.GC()
	var stats runtime.MemStats
	runtime.ReadMemStats(&stats)
	before = stats.HeapAlloc
	var (
		max  atomic.Uint64
		done = make(chan struct{})
		wg   conc.WaitGroup
	)
	wg.Go(func() {
		ticker := time.NewTicker(2 * time.Millisecond)
		defer ticker.Stop()
		var s runtime.MemStats
		for {
			runtime.ReadMemStats(&s)
			if s.HeapAlloc > max.Load() {
				max.Store(s.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-ticker.C:
			}
		}
	})
	work()
	close(done)
	wg.Wait()
	if m := max.Load(); m > before {
		return m - before, before
	}
	return 0, before
}

// 256 calls in flight answered 100 MB each: every one fails as too large,
// and the client's heap stays within what its bounds allow, far from the
// gigabytes that answer size × calls would take. Not parallel: it measures
// the process's heap.
func TestHundredMegabyteAnswersKeepTheHeapBounded(t *testing.T) {
	const (
		calls = 256
		// A lower limit than the default keeps the test short; the budget,
		// which bounds the memory, is the default.
		limit  = 256 << 10
		budget = DefaultResponseBudget
	)
	var served atomic.Int64
	huge := hugeAnswer(100 << 20)
	c := hostile(t, func(w http.ResponseWriter, r *http.Request) { served.Add(1); huge(w, r) },
		WithMaxResponseBytes(limit), WithTelemetry(false))
	var (
		mu     sync.Mutex
		failed = map[string]int{}
	)
	peak, before := heapPeak(func() {
		var wg conc.WaitGroup
		for range calls {
			wg.Go(func() {
				_, err := c.GetOffers(context.Background(), GetOffersOptions{Request: executeMboxes("hero")})
				var te *TransportError
				kind := "other"
				if errors.As(err, &te) && strings.Contains(err.Error(), "larger than") {
					kind = te.Op
				}
				mu.Lock()
				failed[kind]++
				mu.Unlock()
			})
		}
		wg.Wait()
	})
	if failed["decode"] != calls || served.Load() != calls {
		t.Errorf("outcomes %v of %d calls served; want every call a decode TransportError", failed, served.Load())
	}
	// What the bounds allow: each call's free bytes and the budget, a few
	// times over for the decoder's buffer (which doubles as a value grows)
	// and the garbage a collection has not yet taken.
	bound := uint64(6 * (calls*FreeResponseBytes + budget))
	t.Logf("heap before %.1f MB, peak %.1f MB above it (bound %.0f MB; %d calls × 100 MB answers would be %d GB)",
		float64(before)/1e6, float64(peak)/1e6, float64(bound)/1e6, calls, calls/10)
	if peak > bound {
		t.Errorf("heap peaked %d bytes above its start, over the bound %d", peak, bound)
	}
}

// Answers over the free bytes that the budget cannot hold at once are read
// one after the other, not refused: two calls of answers of 300 KB each
// with a budget of one answer both succeed.
func TestLargeAnswersShareTheBudget(t *testing.T) {
	t.Parallel()
	content := strings.Repeat("y", 300<<10)
	answer := `{"status":200,"execute":{"mboxes":[{"index":0,"name":"hero","options":[{"type":"html","content":"` + content + `"}]}]}}`
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked %t", chunked), func(t *testing.T) {
			t.Parallel()
			c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				if !chunked {
					w.Header().Set("Content-Length", fmt.Sprint(len(answer)))
				}
				_, _ = io.WriteString(w, answer)
			}, WithMaxResponseBytes(1<<20), WithResponseBudget(1<<20))
			var (
				wg   conc.WaitGroup
				errs [4]error
			)
			for i := range errs {
				wg.Go(func() {
					resp, err := c.GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes("hero")})
					if err == nil && len(resp.Response.Execute.Mboxes[0].Options[0].Content) != len(content)+2 {
						err = errors.New("content cut")
					}
					errs[i] = err
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("call %d: %v", i, err)
				}
			}
			if n := c.answerBudget.TryAcquire(1 << 20); !n {
				t.Error("the budget was not given back")
			}
		})
	}
}

// A call that waits for the budget waits within its own time: with the
// budget held by a slow answer, a second large answer ends with its
// caller's deadline, and the first still completes.
func TestBudgetWaitEndsWithTheCall(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var calls atomic.Int64
	large := `{"status":200,"client":"` + strings.Repeat("z", 128<<10) + `"}`
	c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		rest := large
		if calls.Add(1) == 1 {
			// Chunked: the first answer's reservation is the rest of the
			// limit, nearly all the budget, held until the test lets go.
			_, _ = io.WriteString(w, large[:100<<10])
			http.NewResponseController(w).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
			rest = large[100<<10:]
		}
		_, _ = io.WriteString(w, rest)
	}, WithMaxResponseBytes(1<<20), WithResponseBudget(1<<20))
	first := make(chan error, 1)
	var wg conc.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		_, err := c.GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes("hero")})
		first <- err
	})
	for tries := 0; c.answerBudget.TryAcquire(128 << 10); tries++ {
		c.answerBudget.Release(128 << 10)
		if tries > 60_000 {
			t.Fatal("the first call never took the budget")
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.GetOffers(ctx, GetOffersOptions{Request: executeMboxes("hero")}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second call: %v, want the caller's deadline", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Errorf("first call: %v", err)
	}
}

// Redirects are never followed to another host: whether the client sends
// through its own transport or through the caller's *http.Client, a
// redirect elsewhere is the 3xx's HTTPError and the other host hears
// nothing. The caller's client still follows one to the same host.
func TestRedirectsToAnotherHostAreNotFollowed(t *testing.T) {
	t.Parallel()
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		_, _ = io.WriteString(w, `{"status":200}`)
	}))
	t.Cleanup(other.Close)
	redirect := func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/moved" {
			_, _ = io.WriteString(w, `{"status":200,"client":"moved"}`)
			return
		}
		target := other.URL + r.URL.RequestURI()
		if r.URL.Query().Get("imsOrgId") == "SAME@AdobeOrg" {
			target = "/moved"
		}
		http.Redirect(w, r, target, http.StatusTemporaryRedirect)
	}
	for _, tt := range []struct {
		name string
		opts []Option
	}{
		{"own transport", nil},
		{"caller's http.Client", []Option{WithHTTPClient(&http.Client{})}},
		{"caller's http.Client with its own policy", []Option{WithHTTPClient(&http.Client{
			CheckRedirect: func(*http.Request, []*http.Request) error { return nil }})}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := hostile(t, redirect, tt.opts...)
			_, err := c.GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes("hero")})
			var he *HTTPError
			if !errors.As(err, &he) || he.Status != http.StatusTemporaryRedirect {
				t.Errorf("error %v, want the redirect's HTTPError", err)
			}
		})
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the other host received %d calls", n)
	}
	t.Run("same host, caller's http.Client", func(t *testing.T) {
		t.Parallel()
		c := hostile(t, redirect, WithHTTPClient(&http.Client{}), WithOrganizationID("SAME@AdobeOrg"))
		resp, err := c.GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes("hero")})
		if err != nil || resp.Response.Client != "moved" {
			t.Errorf("GetOffers = %v, %v; want the answer of the same host's redirect", resp, err)
		}
	})
}

// A non-2xx answer is read only as far as its message needs.
func TestErrorBodyIsReadWithinItsBound(t *testing.T) {
	t.Parallel()
	var wrote atomic.Int64
	c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		bw := bufio.NewWriter(w)
		for range 100 << 10 { // 100 MB, until the client hangs up
			n, err := bw.WriteString(strings.Repeat("e", 1<<10))
			wrote.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	_, err := c.GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes("hero")})
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 500 || len(he.Message) != maxErrorMessage || !he.Retryable() {
		t.Errorf("error %v, want a retryable 500 with the start of the body", err)
	}
}

// The telemetry of a call sees its answer's size, and the time it took
// split into waiting for it and decoding it.
func TestTelemetryOfAStreamedAnswer(t *testing.T) {
	t.Parallel()
	const answer = `{"status":200,"client":"acme"}`
	c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, answer)
	})
	if _, err := c.GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes("hero")}); err != nil {
		t.Fatal(err)
	}
	entries := c.telemetry.takeAll() // what the next call would carry
	if len(entries) != 1 {
		t.Fatalf("%d telemetry entries, want 1", len(entries))
	}
	for _, e := range entries {
		if e.Request == nil || e.Request.ResponseSize != int64(len(answer)) || e.Parsing <= 0 || e.Execution < e.Parsing {
			t.Errorf("entry %+v (request %+v): want the answer's size and a parsing time within the execution", e, e.Request)
		}
	}
}
