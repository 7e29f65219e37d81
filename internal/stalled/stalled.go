package stalled

import (
	"net"
	"sync"
	"testing"
)

// URL starts a listener on 127.0.0.1 that accepts every connection, reads
// nothing and answers nothing, and returns http://host:port. The listener
// and its connections are closed, and its goroutine ended, when the test
// ends.
func URL(t testing.TB) string {
	t.Helper()
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	t.Cleanup(func() { // runs after serve's cleanup: no connection comes any more
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return serve(t, func(conn net.Conn) {
		mu.Lock()
		conns = append(conns, conn)
		mu.Unlock()
	})
}

// HangUpURL starts a listener on 127.0.0.1 that closes every connection as
// soon as it accepts it, and returns http://host:port. A request to it
// fails at once with a reset or an EOF. The listener is closed, and its
// goroutine ended, when the test ends.
func HangUpURL(t testing.TB) string {
	t.Helper()
	return serve(t, func(conn net.Conn) { _ = conn.Close() })
}

// serve listens on 127.0.0.1 and hands every connection it accepts to
// accepted, in its one goroutine, until the test ends: then it closes the
// listener and waits for that goroutine. It returns http://host:port.
func serve(t testing.TB, accepted func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("stalled: listen: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return // closed at the end of the test
			}
			accepted(conn)
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
	})
	return "http://" + ln.Addr().String()
}
