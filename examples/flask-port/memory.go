package main

import (
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// A burst of requests leaves the Go runtime holding the memory it needed
// (the heap goal of the last collection, goroutine stacks) long after the
// burst is over: RSS would stay at the burst's. burstMemory hands it back to
// the operating system once a burst is over: when the requests in flight
// reached burstThreshold and then no request has started for a quiet period
// (config.QuietPeriod, defaultQuietPeriod).
const (
	burstThreshold     = 32
	defaultQuietPeriod = 5 * time.Second
)

// burstMemory counts the requests in flight (as middleware) and, on its own
// goroutine, returns the memory of a finished burst. stop ends it.
type burstMemory struct {
	logger   *zap.Logger
	quiet    time.Duration
	inFlight atomic.Int64
	peak     atomic.Int64 // most in flight since the memory was last returned
	started  atomic.Int64 // requests started, ever

	stopOnce sync.Once
	stopped  chan struct{}
	done     chan struct{}
}

func newBurstMemory(logger *zap.Logger, quiet time.Duration) *burstMemory {
	b := &burstMemory{logger: logger, quiet: quiet, stopped: make(chan struct{}), done: make(chan struct{})}
	go b.watch()
	return b
}

// wrap counts the requests of next.
func (b *burstMemory) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.started.Add(1)
		n := b.inFlight.Add(1)
		defer b.inFlight.Add(-1)
		for peak := b.peak.Load(); n > peak && !b.peak.CompareAndSwap(peak, n); peak = b.peak.Load() {
		}
		next.ServeHTTP(w, r)
	})
}

func (b *burstMemory) watch() {
	defer close(b.done)
	ticker := time.NewTicker(b.quiet)
	defer ticker.Stop()
	last := b.started.Load()
	for {
		select {
		case <-b.stopped:
			return
		case <-ticker.C:
		}
		started := b.started.Load()
		quiet := started == last && b.inFlight.Load() == 0
		last = started
		if quiet && b.peak.Load() >= burstThreshold {
			peak := b.peak.Swap(0)
			debug.FreeOSMemory()
			b.logger.Debug("a burst is over: its memory is returned to the system", zap.Int64("peakInFlight", peak))
		}
	}
}

// stop ends the watch and waits for it.
func (b *burstMemory) stop() {
	b.stopOnce.Do(func() { close(b.stopped) })
	<-b.done
}
