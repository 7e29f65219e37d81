package target

import (
	"context"
	"errors"
	"io"
	"time"

	"golang.org/x/sync/semaphore"
)

// Bounds of the answers the client reads.
const (
	// DefaultMaxResponseBytes bounds one Delivery API answer
	// (WithMaxResponseBytes): 4 MiB, a hundred times a large answer (many
	// mboxes with HTML offers) and sixteen times the largest offer Target
	// stores. A larger answer is a *TransportError with Op "decode", found
	// while reading (at once when its Content-Length says so), not
	// retried: it would be as large again.
	DefaultMaxResponseBytes = 4 << 20
	// DefaultResponseBudget bounds the answer bytes the client's calls
	// read at once beyond the first FreeResponseBytes of each
	// (WithResponseBudget): 16 MiB, four answers of the default maximum.
	DefaultResponseBudget = 16 << 20
	// FreeResponseBytes is what a call reads of its answer before it needs
	// the client's budget: 32 KiB, more than nearly every answer (a 2-mbox
	// answer is about 1 KB), so that the budget costs them nothing.
	FreeResponseBytes = 32 << 10
)

// answerBody reads a Delivery API answer within the client's bounds: at
// most limit bytes, and, past the first FreeResponseBytes, only with a
// reservation from the client's budget, taken at once for the rest of the
// answer (its Content-Length when known, else up to limit) and released by
// release. As no call ever holds part of what it needs while waiting for
// more, calls cannot starve each other: a call that waits holds nothing but
// its free bytes, and a reservation never exceeds the budget. Memory for
// answers being read is so bounded whatever the answers' sizes: the bytes
// read are at most calls × FreeResponseBytes + budget, and the decoder,
// which holds the value it reads (a long offer) whole in a buffer that
// doubles as it grows, takes two to four times that.
//
// It records why reading stopped, so that the caller can tell the answer's
// fault (too large) from the connection's (err) whatever the decoder made
// of it, and how long reading took (waiting for the network, as opposed to
// decoding what arrived).
type answerBody struct {
	body   io.Reader
	ctx    context.Context // the call's: bounds a wait for the budget
	budget *semaphore.Weighted
	limit  int64
	// length is the answer's Content-Length, -1 when unknown.
	length int64

	read     int64 // bytes read so far
	allowed  int64 // bytes that may be read: free bytes, plus reserved
	reserved int64 // held from budget

	// tooLarge is set when the answer turned out larger than limit.
	tooLarge bool
	// err is the first error of body or of the wait for the budget (not
	// io.EOF).
	err error
	// reading is the time spent in body.Read.
	reading time.Duration
}

// init readies a for reading body.
func (a *answerBody) init(ctx context.Context, body io.Reader, length int64, limit int64, budget *semaphore.Weighted) {
	*a = answerBody{
		body: body, ctx: ctx, budget: budget, limit: limit, length: length,
		// One byte past the limit may be read: reading it tells an answer
		// of exactly limit bytes from a larger one.
		allowed:  min(FreeResponseBytes, limit+1),
		tooLarge: length > limit,
	}
}

// errAnswerTooLarge is what the decoder sees when the answer passed the
// limit; the caller reports it from tooLarge.
var errAnswerTooLarge = errors.New("target: answer too large")

func (a *answerBody) Read(p []byte) (int, error) {
	switch {
	case a.tooLarge:
		return 0, errAnswerTooLarge
	case a.err != nil:
		return 0, a.err
	case a.read >= a.allowed:
		if err := a.reserve(); err != nil {
			a.err = err
			return 0, err
		}
	}
	if room := a.allowed - a.read; int64(len(p)) > room {
		p = p[:room]
	}
	start := time.Now()
	n, err := a.body.Read(p)
	a.reading += time.Since(start)
	a.read += int64(n)
	if a.read > a.limit {
		a.tooLarge = true
		return 0, errAnswerTooLarge
	}
	if err != nil && err != io.EOF {
		a.err = err
	}
	return n, err
}

// reserve takes from the budget what the rest of the answer may need.
func (a *answerBody) reserve() error {
	end := a.limit + 1
	if a.length >= 0 {
		end = a.length + 1 // the extra byte reads the end of the body
	}
	need := max(end-a.allowed, 1)
	if err := a.budget.Acquire(a.ctx, need); err != nil {
		return err
	}
	a.reserved += need
	a.allowed += need
	return nil
}

// release returns the reservation to the budget.
func (a *answerBody) release() {
	if a.reserved > 0 {
		a.budget.Release(a.reserved)
		a.reserved = 0
	}
}
