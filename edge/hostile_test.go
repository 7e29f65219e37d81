package edge_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/race"
)

// safetyNet bounds every read of these tests, so that a server that never
// closes fails the test instead of hanging it; no test measures time.
const safetyNet = 30 * time.Second

// rawConn dials addr ("http://host:port") for hand-written HTTP.
func rawConn(t *testing.T, base string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SetDeadline(time.Now().Add(safetyNet)); err != nil {
		t.Fatal(err)
	}
	return c
}

// closedByServer reads r until the server closes the connection, and
// fails the test when the safety net ends the read instead. It may run on
// any goroutine.
func closedByServer(t *testing.T, r io.Reader) {
	t.Helper()
	_, err := io.Copy(io.Discard, r)
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		t.Errorf("the server kept the connection open for %s", safetyNet)
	}
}

// TestSlowClientsAreClosedByTheTimeouts: a body that does not arrive within
// the body timeout is answered 408 and its connection closed; headers that
// do not arrive within the header timeout, and a keep-alive connection idle
// past the idle timeout, are closed.
func TestSlowClientsAreClosedByTheTimeouts(t *testing.T) {
	t.Parallel()
	s := newEdge(t, edge.WithHeaderTimeout(100*time.Millisecond), edge.WithBodyTimeout(100*time.Millisecond),
		edge.WithIdleTimeout(100*time.Millisecond))
	base := startEdge(t, s)

	t.Run("slow bodies", func(t *testing.T) {
		t.Parallel()
		slowBodiesAnswered408(t, base)
	})
	t.Run("slow headers", func(t *testing.T) {
		t.Parallel()
		c := rawConn(t, base)
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: edge\r\n", deliveryPath)
		data, _ := io.ReadAll(c)
		if len(data) != 0 {
			t.Errorf("slow headers answered %q, want the connection closed", data)
		}
		closedByServer(t, c)
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		t.Parallel()
		c := rawConn(t, base)
		fmt.Fprint(c, "GET /healthz HTTP/1.1\r\nHost: edge\r\n\r\n")
		r := bufio.NewReader(c)
		resp, err := http.ReadResponse(r, nil)
		if err != nil || resp.StatusCode != http.StatusOK || resp.Close {
			t.Fatalf("healthz: %v, %+v; want a 200 kept alive", err, resp)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		closedByServer(t, r)
	})
}

// slowBodiesAnswered408 sends five requests whose bodies never arrive and
// checks that each is answered 408 and its connection closed.
func slowBodiesAnswered408(t *testing.T, base string) {
	t.Helper()
	var wg sync.WaitGroup
	statuses := make([]int, 5)
	for i := range statuses {
		c := rawConn(t, base)
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", deliveryPath)
		wg.Go(func() {
			r := bufio.NewReader(c)
			resp, err := http.ReadResponse(r, nil)
			if err != nil {
				t.Errorf("slow body %d: %v", i, err)
				return
			}
			statuses[i] = resp.StatusCode
			closedByServer(t, r)
		})
	}
	wg.Wait()
	for i, status := range statuses {
		if status != http.StatusRequestTimeout {
			t.Errorf("slow body %d answered %d, want 408", i, status)
		}
	}
}

// plainWriter is a middleware's ResponseWriter that does not unwrap, as
// most hand-written access logs' do.
type plainWriter struct{ http.ResponseWriter }

// TestTimeoutsHoldUnderAMiddleware: behind a middleware whose writer does
// not unwrap, a slow body still meets the body timeout, and a delay on
// purpose still outlives the write timeout.
func TestTimeoutsHoldUnderAMiddleware(t *testing.T) {
	t.Parallel()
	plain := edge.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { next.ServeHTTP(plainWriter{w}, r) })
	})
	s := newEdge(t, plain, edge.WithBodyTimeout(100*time.Millisecond), edge.WithWriteTimeout(300*time.Millisecond),
		edge.WithFaults(edge.Faults{StallRate: 1, Stall: 600 * time.Millisecond}))
	base := startEdge(t, s)
	slowBodiesAnswered408(t, base)
	got := do(t, httpClient(t), http.MethodPost, base+deliveryPath, validRequest, nil)
	if got.status != http.StatusOK || !strings.Contains(string(got.body), `"name":"hero"`) {
		t.Fatalf("stalled delivery behind a middleware: %d %s", got.status, got.body)
	}
}

// TestDeliberateDelaysOutliveTheTimeouts: injected stalls and a control
// function's Delay far longer than the write and body timeouts are still
// answered in full.
func TestDeliberateDelaysOutliveTheTimeouts(t *testing.T) {
	t.Parallel()
	s := newEdge(t, edge.WithWriteTimeout(100*time.Millisecond), edge.WithBodyTimeout(100*time.Millisecond),
		edge.WithFaults(edge.Faults{StallRate: 1, Stall: 600 * time.Millisecond}))
	base := startEdge(t, s)
	client := httpClient(t)
	got := do(t, client, http.MethodPost, base+deliveryPath, validRequest, nil)
	if got.status != http.StatusOK || !strings.Contains(string(got.body), `"name":"hero"`) {
		t.Fatalf("stalled delivery: %d %s", got.status, got.body)
	}
	s.Control(func(r *edge.Request) (edge.Answer, bool) {
		return edge.Answer{Delay: 600 * time.Millisecond}, r.Endpoint == edge.EndpointRulesJSON
	})
	rules := do(t, client, http.MethodGet, base+"/"+s.Client()+"/production/rules/v1/rules.json", "", nil)
	if rules.status != http.StatusOK || len(rules.body) != len(edge.DemoArtifact()) {
		t.Fatalf("delayed rules.json: %d, %d bytes", rules.status, len(rules.body))
	}
}

// TestWriteTimeoutDropsAClientThatDoesNotRead: an answer larger than the
// socket buffers, to a client that reads none of it, ends at the write
// timeout with the connection closed.
func TestWriteTimeoutDropsAClientThatDoesNotRead(t *testing.T) {
	t.Parallel()
	s := newEdge(t, edge.WithWriteTimeout(2*time.Second))
	base := startEdge(t, s)
	client := httpClient(t)
	id := strings.Repeat("w", 64<<10)
	for i := range 200 { // 12.8 MB of notifications, more than loopback buffers hold
		postNotification(t, client, base, fmt.Sprintf("%d-%s", i, id))
	}
	c := rawConn(t, base)
	if tcp, ok := c.(*net.TCPConn); ok {
		_ = tcp.SetReadBuffer(4096)
	}
	fmt.Fprint(c, "GET /notifications HTTP/1.1\r\nHost: edge\r\n\r\n")
	// The listing is counted once its handler has given up writing, and
	// the connection closed: only the one of client remains.
	waitForMetric(t, client, base, `targetflow_edge_requests_total{endpoint="notifications",status="200"} 1`)
	waitForMetric(t, client, base, `targetflow_edge_connections{slot="regular"} 1`+"\n")
}

// TestBodyLimitIsExact: a body of exactly the limit is decided, one byte
// more is 413, with a Content-Length or chunked; a Content-Length over the
// limit is answered 413 without waiting for the body.
func TestBodyLimitIsExact(t *testing.T) {
	t.Parallel()
	const limit = 4096
	s := newEdge(t, edge.WithMaxBodyBytes(limit))
	base := startEdge(t, s)
	client := httpClient(t)
	padded := func(n int) string { return validRequest + strings.Repeat(" ", n-len(validRequest)) }
	for _, tc := range []struct {
		name    string
		size    int
		chunked bool
		status  int
	}{
		{"Content-Length at the limit", limit, false, http.StatusOK},
		{"Content-Length one over", limit + 1, false, http.StatusRequestEntityTooLarge},
		{"chunked at the limit", limit, true, http.StatusOK},
		{"chunked one over", limit + 1, true, http.StatusRequestEntityTooLarge},
		{"Content-Length far over", 10 * limit, false, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(padded(tc.size))
			req, err := http.NewRequest(http.MethodPost, base+deliveryPath, body)
			if err != nil {
				t.Fatal(err)
			}
			if tc.chunked {
				req.ContentLength = -1 // no length known: sent chunked
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tc.chunked != (req.ContentLength == -1) || resp.StatusCode != tc.status {
				t.Fatalf("%d bytes (chunked %v): %d %s; want %d", tc.size, req.ContentLength == -1, resp.StatusCode, data, tc.status)
			}
			if tc.status == http.StatusRequestEntityTooLarge && !strings.Contains(string(data), "larger than 4096 bytes") {
				t.Errorf("413 body %s", data)
			}
		})
	}
	t.Run("answered before the body", func(t *testing.T) {
		c := rawConn(t, base)
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", deliveryPath, int64(1)<<40)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !resp.Close {
			t.Fatalf("a terabyte announced: %d (close %v), want 413 and the connection closed", resp.StatusCode, resp.Close)
		}
	})
}

// postNotification records one notification of id through the delivery
// endpoint.
func postNotification(t *testing.T, client *http.Client, base, id string) {
	t.Helper()
	body := `{"context":{"channel":"web"},"notifications":[{"id":"` + id + `","type":"display","timestamp":1,"mbox":{"name":"hero"}}]}`
	if got := do(t, client, http.MethodPost, base+deliveryPath, body, nil); got.status != http.StatusOK {
		t.Fatalf("posting notification: %d %.200s", got.status, got.body)
	}
}

// postNotificationOK is postNotification for another goroutine than the
// test's: it reports whether the edge recorded the notification.
func postNotificationOK(client *http.Client, base, id string) bool {
	body := `{"context":{"channel":"web"},"notifications":[{"id":"` + id + `","type":"display","timestamp":1,"mbox":{"name":"hero"}}]}`
	resp, err := client.Post(base+deliveryPath, "application/json", strings.NewReader(body))
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK
}

// heapAfterGC is the live heap once the garbage, sync.Pools included, is
// collected.
func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC() // a second cycle empties the pools' victim caches
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestNotificationBytesAreBounded sends 500 notifications whose ids are
// 1 MB each (the attack: RSS went from 13 MB to 752 MB, and a GET
// /notifications of 500 MB to 2.25 GB): the edge keeps the newest within
// its byte budget, counts the others dropped, and the heap stays within the
// budget. Not parallel: it measures the heap. Under the race detector the
// ids and the budget are a sixteenth of that (500 ids of 64 KB).
func TestNotificationBytesAreBounded(t *testing.T) {
	budget, idBytes := 8<<20, 1<<20
	if race.Enabled {
		budget, idBytes = budget/16, idBytes/16
		t.Logf("race detector: ids of %d bytes, a budget of %d", idBytes, budget)
	}
	s := newEdge(t, edge.WithNotificationBytes(int64(budget)))
	base := startEdge(t, s)
	client := httpClient(t)
	before := heapAfterGC()
	id := strings.Repeat("i", idBytes-200) // 1 MB: the largest that fits in a 1 MiB body
	var wg sync.WaitGroup
	next := make(chan int, 500)
	for i := range 500 {
		next <- i
	}
	close(next)
	for range 4 {
		wg.Go(func() {
			for i := range next {
				if !postNotificationOK(client, base, fmt.Sprintf("%03d-%s", i, id)) {
					t.Errorf("posting notification %d failed", i)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	grown := int64(heapAfterGC()) - int64(before)

	kept := s.Notifications()
	var keptBytes int
	for _, rec := range kept {
		keptBytes += len(rec.ID)
	}
	if len(kept) == 0 || keptBytes > budget {
		t.Fatalf("kept %d notifications of %d bytes, want some within %d bytes", len(kept), keptBytes, budget)
	}
	for i, rec := range kept { // the newest, oldest dropped first
		if want := uint64(500 - len(kept) + i + 1); rec.Seq != want {
			t.Errorf("kept record %d is number %d, want %d", i, rec.Seq, want)
		}
	}
	if limit := int64(budget + 16<<20); grown > limit {
		t.Errorf("the heap grew by %d bytes for a budget of %d (want at most %d)", grown, budget, limit)
	}
	dropped := fmt.Sprintf(`targetflow_edge_notifications_dropped_total{reason="bytes"} %d`, 500-len(kept))
	metrics := string(do(t, client, http.MethodGet, base+"/metrics", "", nil).body)
	if !strings.Contains(metrics, dropped) {
		t.Errorf("metrics lack %s", dropped)
	}
	listed := do(t, client, http.MethodGet, base+"/notifications", "", nil)
	var list struct {
		Notifications []edge.NotificationRecord `json:"notifications"`
		Forgotten     int                       `json:"forgotten"`
	}
	decodeJSON(t, listed.body, &list)
	if len(list.Notifications) != len(kept) || list.Forgotten != 500-len(kept) || len(listed.body) > budget+1<<20 {
		t.Errorf("GET /notifications: %d records, forgotten %d, %d bytes", len(list.Notifications), list.Forgotten, len(listed.body))
	}
}

// TestNotificationsArePaged lists the log a page at a time, with filters,
// and across records forgotten between two pages.
func TestNotificationsArePaged(t *testing.T) {
	t.Parallel()
	s := newEdge(t, edge.WithNotificationLimit(700))
	base := startEdge(t, s)
	client := httpClient(t)
	for batch := range 3 {
		var b strings.Builder
		b.WriteString(`{"context":{"channel":"web"},"notifications":[`)
		for i := range 200 {
			if i > 0 {
				b.WriteByte(',')
			}
			typ := "display"
			if i%4 == 0 {
				typ = "click"
			}
			fmt.Fprintf(&b, `{"id":"n%d","type":"%s","timestamp":1}`, batch*200+i+1, typ)
		}
		b.WriteString(`]}`)
		if got := do(t, client, http.MethodPost, base+deliveryPath, b.String(), nil); got.status != http.StatusOK {
			t.Fatalf("posting: %d %s", got.status, got.body)
		}
	}
	type page struct {
		Notifications []edge.NotificationRecord `json:"notifications"`
		Forgotten     int                       `json:"forgotten"`
		Next          uint64                    `json:"next"`
		More          bool                      `json:"more"`
	}
	list := func(query string) page {
		t.Helper()
		got := do(t, client, http.MethodGet, base+"/notifications"+query, "", nil)
		if got.status != http.StatusOK {
			t.Fatalf("GET /notifications%s: %d %s", query, got.status, got.body)
		}
		var p page
		decodeJSON(t, got.body, &p)
		return p
	}
	check := func(p page, first, count int, next uint64, more bool) {
		t.Helper()
		if len(p.Notifications) != count || p.Next != next || p.More != more {
			t.Fatalf("page of %d records, next %d, more %v; want %d, %d, %v", len(p.Notifications), p.Next, p.More, count, next, more)
		}
		for i, rec := range p.Notifications {
			if rec.ID != "n"+strconv.Itoa(first+i) || rec.Seq != uint64(first+i) {
				t.Fatalf("record %d is %s (seq %d), want n%d", i, rec.ID, rec.Seq, first+i)
			}
		}
	}
	check(list(""), 1, 600, 600, false) // three pages inside, one answer
	check(list("?limit=250"), 1, 250, 250, true)
	check(list("?after=250&limit=250"), 251, 250, 500, true)
	check(list("?after=500&limit=250"), 501, 100, 600, false)
	check(list("?after=600"), 0, 0, 600, false)

	clicks := list("?type=click&limit=100")
	if len(clicks.Notifications) != 100 || clicks.Next != 397 || !clicks.More {
		t.Fatalf("clicks: %d, next %d, more %v", len(clicks.Notifications), clicks.Next, clicks.More)
	}
	rest := list("?type=click&after=" + strconv.FormatUint(clicks.Next, 10))
	if len(rest.Notifications) != 50 || rest.More || rest.Notifications[0].ID != "n401" {
		t.Fatalf("the clicks after: %d, more %v", len(rest.Notifications), rest.More)
	}

	// 200 more push out the 100 oldest: a cursor into them resumes at the
	// oldest kept.
	var b strings.Builder
	b.WriteString(`{"context":{"channel":"web"},"notifications":[`)
	for i := range 200 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"extra%d","type":"display","timestamp":1}`, i)
	}
	b.WriteString(`]}`)
	if got := do(t, client, http.MethodPost, base+deliveryPath, b.String(), nil); got.status != http.StatusOK {
		t.Fatalf("posting: %d %s", got.status, got.body)
	}
	resumed := list("?after=50&limit=1")
	if len(resumed.Notifications) != 1 || resumed.Notifications[0].Seq != 101 || resumed.Forgotten != 100 {
		t.Fatalf("after forgetting: %+v", resumed)
	}

	for _, query := range []string{"?after=-1", "?after=x", "?limit=0", "?limit=-5", "?limit=many"} {
		got := do(t, client, http.MethodGet, base+"/notifications"+query, "", nil)
		if got.status != http.StatusBadRequest {
			t.Errorf("GET /notifications%s: %d, want 400", query, got.status)
		}
	}
}
