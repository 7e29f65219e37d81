package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net"
)

// ErrorKind classifies an item's failure for output and statistics.
type ErrorKind string

// Error kinds.
const (
	// KindHTTP is an HTTP answer with an error status from the Delivery API.
	KindHTTP ErrorKind = "http"
	// KindTimeout is a call that ran out of time.
	KindTimeout ErrorKind = "timeout"
	// KindCanceled is work stopped because the run was cancelled.
	KindCanceled ErrorKind = "canceled"
	// KindInvalid is input that could not be decoded or turned into a request.
	KindInvalid ErrorKind = "invalid"
	// KindNetwork is a transport failure: refused or reset connection, EOF.
	KindNetwork ErrorKind = "network"
	// KindPanic is a panic in a stage function, recovered.
	KindPanic ErrorKind = "panic"
	// KindError is any other failure.
	KindError ErrorKind = "error"
)

// ItemError is the failure of one item: which stage failed it, how, and why.
// Stages store it in Item.Err; errors.As finds it there.
type ItemError struct {
	// Stage is the name of the component that failed the item.
	Stage string
	// Kind classifies the failure.
	Kind ErrorKind
	// Status is the HTTP status for KindHTTP, else 0.
	Status int
	// Line is the input line for failures of a source, else 0.
	Line int
	// Err is the underlying error.
	Err error
}

// Error implements error.
func (e *ItemError) Error() string {
	msg := "<nil>"
	if e.Err != nil {
		msg = e.Err.Error()
	}
	switch {
	case e.Line > 0 && e.Stage != "":
		return fmt.Sprintf("%s: line %d: %s", e.Stage, e.Line, msg)
	case e.Stage != "":
		return e.Stage + ": " + msg
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *ItemError) Unwrap() error { return e.Err }

// StatusCoder is implemented by errors that carry an HTTP status, such as the
// Target client's HTTP errors; Classify reports them as KindHTTP.
type StatusCoder interface {
	StatusCode() int
}

// Classify returns the kind of err and, for HTTP failures, the status.
// An *ItemError in the chain keeps its own kind.
func Classify(err error) (ErrorKind, int) {
	if err == nil {
		return "", 0
	}
	var ie *ItemError
	if errors.As(err, &ie) && ie.Kind != "" {
		return ie.Kind, ie.Status
	}
	var pe *PanicError
	if errors.As(err, &pe) {
		return KindPanic, 0
	}
	var sc StatusCoder
	if errors.As(err, &sc) {
		return KindHTTP, sc.StatusCode()
	}
	switch {
	case errors.Is(err, context.Canceled):
		return KindCanceled, 0
	case errors.Is(err, context.DeadlineExceeded):
		return KindTimeout, 0
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return KindTimeout, 0
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return KindNetwork, 0
	}
	return KindError, 0
}

// Fail returns err as an *ItemError of the given stage, classifying it when
// it is not one already. An *ItemError keeps its fields; a missing Stage is
// filled in.
func Fail(stage string, err error) *ItemError {
	var ie *ItemError
	if errors.As(err, &ie) {
		if ie.Stage == "" {
			ie.Stage = stage
		}
		if ie.Kind == "" {
			ie.Kind, ie.Status = Classify(ie.Err)
		}
		return ie
	}
	kind, status := Classify(err)
	return &ItemError{Stage: stage, Kind: kind, Status: status, Err: err}
}

// ErrDrop, returned by a stage function, removes the item from the stream.
// The item is counted as dropped and never reaches the sink.
var ErrDrop = errors.New("pipeline: drop item")

// ErrAlreadyRun is returned by Run on a pipeline that has run before:
// components are single-use, like the channels they own.
var ErrAlreadyRun = errors.New("pipeline: already run")

// PanicError is a panic recovered from a stage or sink function.
type PanicError struct {
	// Value is what was passed to panic.
	Value any
	// Stack is the goroutine's stack at the panic.
	Stack []byte
}

// Error implements error.
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }
