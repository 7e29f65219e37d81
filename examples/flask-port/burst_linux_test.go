//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/targetflow/targetflow/internal/childproc"
	"github.com/targetflow/targetflow/internal/race"
	"github.com/targetflow/targetflow/internal/rlimit"
)

// burstChild names the variable that makes the test binary the app of
// TestBurstUnderAFileLimit, with that many open files at most.
const burstChild = "FLASKPORT_TEST_BURST_FD_LIMIT"

// childFileLimit is the open-file limit of the app under the burst: the
// issue's ulimit -n 1024.
const childFileLimit = 1024

// TestBurstUnderAFileLimit re-runs the test binary as the app (offline,
// with its embedded edge) limited to 1,024 open files, and sends it a burst
// of concurrent POST /sendNotifications, each on its own connection, more
// than it has files (the issue: 10,000 of them got 1,366 answers of 500,
// "socket: too many open files"). Every request is answered 200, or 503
// with Retry-After; none 500. Afterwards the app's open files return to
// what they were before the burst.
func TestBurstUnderAFileLimit(t *testing.T) {
	if os.Getenv(burstChild) != "" {
		serveUnderFileLimit(t)
		return
	}
	t.Parallel()
	burst := 3000
	if race.Enabled {
		burst = 1500 // the race detector's app is ten times slower: still more than its files
	}
	if own, ok := rlimit.OpenFiles(); !ok || own < uint64(burst)+256 {
		t.Skipf("this process may open %d files (read: %v), too few for a burst of %d connections (raise ulimit -n)", own, ok, burst)
	}
	child := childproc.Start(t, "TestBurstUnderAFileLimit", burstChild, strconv.Itoa(childFileLimit))
	addr, pid := child.Addr, child.Pid
	baseFiles := openFiles(t, pid)

	transport := &http.Transport{DisableKeepAlives: true, MaxConnsPerHost: 0}
	client := &http.Client{Transport: transport, Timeout: 2 * time.Minute} // a safety net, not a measure
	post := func(i int) (int, string, error) {
		body := `{"mboxes":[{"name":"cart","event_tokens":["t` + strconv.Itoa(i) + `"]}]}`
		resp, err := client.Post("http://"+addr+"/sendNotifications?tntId=burst-"+strconv.Itoa(i), "application/json", strings.NewReader(body))
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
			return resp.StatusCode, "503 without Retry-After: " + string(data), nil
		}
		return resp.StatusCode, string(data), nil
	}
	if status, body, err := post(-1); err != nil || status != http.StatusOK {
		t.Fatalf("warm-up: %d %s %v", status, body, err)
	}
	baseRSS := residentKB(t, pid)

	var mu sync.Mutex
	codes := map[int]int{}
	var failures []string
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range burst {
		wg.Go(func() {
			<-start
			status, body, err := post(i)
			mu.Lock()
			defer mu.Unlock()
			codes[status]++
			switch {
			case err != nil:
				failures = append(failures, err.Error())
			case status != http.StatusOK && status != http.StatusServiceUnavailable, strings.HasPrefix(body, "503 without"):
				failures = append(failures, fmt.Sprintf("%d %s", status, body))
			}
		})
	}
	peakFiles, peakRSS := baseFiles, baseRSS
	burstDone, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-time.After(20 * time.Millisecond):
				peakFiles, peakRSS = max(peakFiles, openFiles(t, pid)), max(peakRSS, residentKB(t, pid))
			case <-burstDone:
				return
			}
		}
	}()
	close(start)
	wg.Wait()
	close(burstDone)
	<-sampled
	t.Logf("burst of %d: codes %v; files %d before, peak %d; RSS %d kB before, peak %d kB", burst, codes, baseFiles, peakFiles, baseRSS, peakRSS)
	if len(failures) > 0 {
		t.Errorf("%d of %d requests failed, for instance: %q", len(failures), burst, failures[:min(5, len(failures))])
	}
	if codes[http.StatusOK] == 0 {
		t.Error("no request of the burst was answered 200")
	}
	if peakFiles > childFileLimit {
		t.Errorf("the app had %d files open, more than its limit of %d", peakFiles, childFileLimit)
	}

	// The app's files come back (its idle connections time out), and so
	// does its memory (returned once the burst is over), to what they were
	// after one request; memory within a margin for what the burst left
	// behind on purpose (the embedded edge's notifications, at most 1 MiB)
	// or cannot give back (the Go runtime's metadata, fragmentation)
	// and the pages of code it ran for the first time. The race detector's
	// shadow memory is not returned: its figures are only logged.
	margin := 24 << 10 // kB
	files, rss := openFiles(t, pid), residentKB(t, pid)
	for range 200 {
		if files <= baseFiles && (race.Enabled || rss <= baseRSS+margin) {
			break
		}
		time.Sleep(50 * time.Millisecond)
		files, rss = openFiles(t, pid), residentKB(t, pid)
	}
	t.Logf("after: %d files, RSS %d kB", files, rss)
	if files > baseFiles {
		t.Errorf("the app still has %d files open after the burst, %d before", files, baseFiles)
	}
	if !race.Enabled && rss > baseRSS+margin {
		t.Errorf("the app's RSS is %d kB after the burst, %d kB before it (peak %d kB)", rss, baseRSS, peakRSS)
	}
	if err := child.Stop(); err != nil {
		t.Fatalf("the child app: %v", err)
	}
}

// serveUnderFileLimit is the child of TestBurstUnderAFileLimit: the app,
// offline, with the open files of its variable, its keep-alive connections
// closed after 200 ms idle and a burst's memory returned after 200 ms of
// quiet (so that the test sees its files and memory come back soon),
// serving until its standard input closes.
func serveUnderFileLimit(t *testing.T) {
	if err := childproc.LimitOpenFilesFromEnv(burstChild); err != nil {
		t.Fatal(err)
	}
	cfg := offlineConfig()
	cfg.IdleTimeout = 200 * time.Millisecond
	cfg.OutboundIdleTimeout = 200 * time.Millisecond
	cfg.QuietPeriod = 200 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	listening := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- runServer(ctx, cfg, zap.NewNop(), func(a net.Addr) { listening <- a }) }()
	select {
	case a := <-listening:
		childproc.AnnounceAndWait(a.String())
	case err := <-done:
		t.Fatalf("runServer: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("runServer: %v", err)
	}
}

// openFiles counts the files process pid has open.
func openFiles(t *testing.T, pid int) int {
	t.Helper()
	n, err := childproc.OpenFiles(pid)
	if err != nil {
		t.Error(err)
	}
	return n
}

// residentKB is process pid's resident memory in kB.
func residentKB(t *testing.T, pid int) int {
	t.Helper()
	n, err := childproc.ResidentKB(pid)
	if err != nil {
		t.Error(err)
	}
	return n
}
