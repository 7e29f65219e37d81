package retry_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/targetflow/targetflow/internal/retry"
)

type retryAfterErr time.Duration

func (e retryAfterErr) Error() string             { return "slow down" }
func (e retryAfterErr) RetryAfter() time.Duration { return time.Duration(e) }

func TestDelays(t *testing.T) {
	t.Parallel()
	p := retry.Policy{MaxRetries: 10, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, MaxRetryAfter: 10 * time.Second}
	tests := []struct {
		name     string
		retry    int
		err      error
		low, top time.Duration
	}{
		{"first retry", 1, errors.New("x"), 50 * time.Millisecond, 150 * time.Millisecond},
		{"doubles", 3, errors.New("x"), 200 * time.Millisecond, 600 * time.Millisecond},
		{"capped", 10, errors.New("x"), 500 * time.Millisecond, time.Second},
		{"retry-after wins", 1, retryAfterErr(3 * time.Second), 3 * time.Second, 3 * time.Second},
		{"retry-after capped", 1, retryAfterErr(time.Minute), 10 * time.Second, 10 * time.Second},
		{"backoff above retry-after", 4, retryAfterErr(time.Millisecond), 400 * time.Millisecond, time.Second},
	}
	for _, tt := range tests {
		for range 50 { // jitter: every draw within bounds
			b := p.Backoff()
			var d time.Duration
			for range tt.retry {
				d = p.Delay(b, tt.err)
			}
			if d < tt.low || d > tt.top {
				t.Fatalf("%s: delay %v, want within [%v, %v]", tt.name, d, tt.low, tt.top)
			}
		}
	}
}

func TestDo(t *testing.T) {
	t.Parallel()
	errTransient, errFatal := errors.New("transient"), errors.New("fatal")
	retryable := func(err error) bool { return errors.Is(err, errTransient) }
	p := retry.Policy{MaxRetries: 3, BaseDelay: time.Microsecond, MaxDelay: time.Microsecond}
	tests := []struct {
		name         string
		failures     []error
		wantAttempts int
		wantErr      error
	}{
		{"first try", nil, 1, nil},
		{"after two failures", []error{errTransient, errTransient}, 3, nil},
		{"retries run out", []error{errTransient, errTransient, errTransient, errTransient, errTransient}, 4, errTransient},
		{"not retryable", []error{errFatal}, 1, errFatal},
	}
	for _, tt := range tests {
		calls := 0
		var retries int
		attempts, err := p.Do(context.Background(), func(context.Context) error {
			calls++
			if calls <= len(tt.failures) {
				return tt.failures[calls-1]
			}
			return nil
		}, retryable, func(error, time.Duration) { retries++ })
		if attempts != tt.wantAttempts || !errors.Is(err, tt.wantErr) || retries != attempts-1 {
			t.Errorf("%s: %d attempts (%d retries), %v; want %d, %v", tt.name, attempts, retries, err, tt.wantAttempts, tt.wantErr)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if attempts, err := p.Do(ctx, func(context.Context) error { return errTransient }, retryable, nil); attempts != 1 || !errors.Is(err, errTransient) {
		t.Errorf("cancelled: %d attempts, %v; want 1 and the call's error", attempts, err)
	}
}

// A call retried after transient failures, with the delays the policy draws.
func ExamplePolicy_Do() {
	p := retry.Policy{MaxRetries: 5, BaseDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond}
	calls := 0
	attempts, err := p.Do(context.Background(), func(context.Context) error {
		if calls++; calls < 3 {
			return fmt.Errorf("attempt %d: 503", calls)
		}
		return nil
	}, func(error) bool { return true }, func(err error, delay time.Duration) {
		fmt.Printf("retrying after %v (delay within the policy: %t)\n", err, delay > 0 && delay <= 4*time.Millisecond)
	})
	fmt.Println("attempts:", attempts, "error:", err)
	// Output:
	// retrying after attempt 1: 503 (delay within the policy: true)
	// retrying after attempt 2: 503 (delay within the policy: true)
	// attempts: 3 error: <nil>
}

func TestDoPausesOnTheGivenClock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		base       time.Duration
		wantPauses int
	}{
		{"backoff on the clock", 100 * time.Millisecond, 2},
		{"no base delay: no pause", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var pauses []time.Duration
			p := retry.Policy{MaxRetries: 2, BaseDelay: tt.base, MaxDelay: time.Second,
				After: func(d time.Duration) <-chan time.Time {
					pauses = append(pauses, d)
					ch := make(chan time.Time, 1)
					ch <- time.Time{} // the test's clock moves at once
					return ch
				}}
			errTransient := errors.New("transient")
			attempts, err := p.Do(t.Context(), func(context.Context) error { return errTransient },
				func(error) bool { return true }, nil)
			if attempts != 3 || !errors.Is(err, errTransient) {
				t.Fatalf("Do = %d, %v; want 3 attempts and the last error", attempts, err)
			}
			if len(pauses) != tt.wantPauses {
				t.Fatalf("paused %v; want %d pauses on the given clock", pauses, tt.wantPauses)
			}
			for _, d := range pauses {
				if d < tt.base/2 || d > time.Second {
					t.Errorf("pause %v outside [%v, 1s]", d, tt.base/2)
				}
			}
		})
	}
}
