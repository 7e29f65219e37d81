package ondevice

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/internal/stalled"
)

// TestNewWithStalledArtifactURL: an engine whose artifact URL accepts and
// never answers is made at once, is not ready (Decide and WaitReady say
// ErrNotReady), and Close ends its download; goleak (TestMain) shows
// nothing outlives it.
func TestNewWithStalledArtifactURL(t *testing.T) {
	t.Parallel()
	url := stalled.URL(t)
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"default", nil},
		{"polling and retries", []Option{WithPollingInterval(time.Hour), WithRetry(5, time.Millisecond)}},
		{"maximum wait", []Option{WithMaximumWaitReady(time.Hour)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var readies atomic.Int32
			e, err := New(append([]Option{WithClient("acme"), WithArtifactURL(url + "/rules.json"),
				WithEvents(Events{ClientReady: func(ClientReadyEvent) { readies.Add(1) }})}, tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			if e.Ready() {
				t.Error("Ready before any artifact arrived")
			}
			_, err = e.Decide(t.Context(), &delivery.DeliveryRequest{Context: &delivery.Context{Channel: delivery.ChannelWeb}})
			if !errors.Is(err, ErrNotReady) {
				t.Errorf("Decide = %v; want ErrNotReady", err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
			defer cancel()
			err = e.WaitReady(ctx)
			if !errors.Is(err, ErrNotReady) || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("WaitReady = %v; want ErrNotReady and the context's deadline", err)
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			if err := e.WaitReady(t.Context()); !errors.Is(err, ErrNotReady) || !errors.Is(err, ErrClosed) {
				t.Errorf("WaitReady after Close = %v; want ErrNotReady and ErrClosed", err)
			}
			if n := readies.Load(); n != 0 {
				t.Errorf("ClientReady fired %d times without an artifact", n)
			}
		})
	}
}
