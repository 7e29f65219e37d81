package main

import (
	"context"
	"errors"
	"net"
	"time"

	"golang.org/x/net/netutil"
	"golang.org/x/sync/semaphore"

	"github.com/targetflow/targetflow/internal/rlimit"
	"github.com/targetflow/targetflow/target"
)

// Bounds of the app's resources. Every inbound connection is one file;
// every outbound connection to the embedded edge two (both ends are in this
// process). With the defaults the app needs at most
// maxConnections + 2×(maxCallsInFlight + notification sends + maxIdleOutbound)
// files, and the automatic connection limit keeps that within three
// quarters of the process's limit of open files.
const (
	// maxCallsInFlight bounds the Target calls the handlers make at once; a
	// handler that finds none free within callWait is answered 503 with
	// Retry-After.
	maxCallsInFlight = 64
	// callWait is how long a handler waits for a free call.
	callWait = time.Second
	// retryAfterSeconds is the Retry-After of the app's 503s.
	retryAfterSeconds = "1"
	// outboundConnections bounds the connections to the Target edge: the
	// handlers' calls and the client's background display notifications
	// (on-device decisions owe them).
	outboundConnections = maxCallsInFlight + target.DefaultNotificationConcurrency
	// maxIdleOutbound bounds the idle keep-alive connections to the edge,
	// over all its host names.
	maxIdleOutbound = 64
	// defaultOutboundIdleTimeout closes idle connections to the edge, so
	// that after a burst the app's files return to what they were.
	defaultOutboundIdleTimeout = 30 * time.Second
	// defaultMaxConnections bounds the inbound connections served at once;
	// more wait in the listen backlog.
	defaultMaxConnections = 512
	// minConnections is the least the automatic limit goes down to.
	minConnections = 16
)

// errOverloaded is the failure of a handler that found no free Target call
// within callWait: answered 503 with Retry-After.
var errOverloaded = errors.New("the server is busy: every Target call is in use")

// callSlots bounds the Target calls in flight.
type callSlots struct{ sem *semaphore.Weighted }

func newCallSlots(n int) callSlots { return callSlots{semaphore.NewWeighted(int64(n))} }

// acquire takes a call slot, waiting at most callWait; release gives it
// back. It fails with errOverloaded, or ctx's error.
func (c callSlots) acquire(ctx context.Context) (release func(), err error) {
	if !c.sem.TryAcquire(1) {
		wait, cancel := context.WithTimeout(ctx, callWait)
		err := c.sem.Acquire(wait, 1)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case err != nil:
			return nil, errOverloaded
		}
	}
	return c.release, nil
}

func (c callSlots) release() { c.sem.Release(1) }

// connectionLimit is the inbound connection limit: the configured one, else
// defaultMaxConnections, lowered so that the app's files fit within three
// quarters of its limit of open files.
func connectionLimit(configured int) int {
	if configured > 0 {
		return configured
	}
	soft, known := rlimit.OpenFiles()
	return automaticConnectionLimit(soft, known)
}

func automaticConnectionLimit(soft uint64, known bool) int {
	if !known {
		return defaultMaxConnections
	}
	outbound := uint64(2 * (outboundConnections + maxIdleOutbound))
	room := soft * 3 / 4
	if room < outbound+minConnections {
		return minConnections
	}
	return int(min(room-outbound, defaultMaxConnections))
}

// limitListener serves at most limit connections of ln at once; the others
// wait in the kernel's backlog, costing no file, until one closes (the
// server's timeouts bound how long a slow client holds one).
func limitListener(ln net.Listener, limit int) net.Listener {
	return netutil.LimitListener(ln, limit)
}
