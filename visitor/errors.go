package visitor

import (
	"errors"
	"fmt"
	"net"

	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/target"
)

// Kind classifies an item's failure for output and statistics.
type Kind string

// Error kinds.
const (
	// KindHTTP is an HTTP answer with an error status from the Delivery API.
	KindHTTP = Kind(target.ErrorKindHTTP)
	// KindTimeout is a call that ran out of time.
	KindTimeout = Kind(target.ErrorKindTimeout)
	// KindCanceled is work stopped because the run was stopping.
	KindCanceled = Kind(target.ErrorKindCanceled)
	// KindInvalid is input that could not be decoded or turned into a request.
	KindInvalid = Kind(target.ErrorKindInvalid)
	// KindNetwork is a transport failure: refused or reset connection, EOF.
	KindNetwork = Kind(target.ErrorKindNetwork)
	// KindDecode is a 2xx answer that is no Delivery API answer: empty,
	// null, not JSON, cut short or over the client's size limit.
	KindDecode = Kind(target.ErrorKindDecode)
	// KindEncode is a request the client could not encode.
	KindEncode = Kind(target.ErrorKindEncode)
	// KindNotReady is an on-device call before the artifact was loaded.
	KindNotReady = Kind(target.ErrorKindNotReady)
	// KindPanic is a panic in a stage function, recovered.
	KindPanic Kind = "panic"
	// KindError is any other failure.
	KindError Kind = "error"
)

// Error is the failure of one visitor: which stage failed it, how, and why.
// Stages store it in Item.Err; errors.As finds it there.
type Error struct {
	// Stage is the name of the component that failed the item.
	Stage string
	// Kind classifies the failure.
	Kind Kind
	// Status is the HTTP status for KindHTTP, else 0.
	Status int
	// Line is the input line for failures of a source, else 0.
	Line int
	// Err is the underlying error.
	Err error
}

var _ pipeline.Staged = (*Error)(nil)

// Error implements error.
func (e *Error) Error() string {
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
func (e *Error) Unwrap() error { return e.Err }

// SetStage records the stage that failed the item, unless one is set; it
// fills in a missing Kind too (pipeline.Staged).
func (e *Error) SetStage(name string) {
	if e.Stage == "" {
		e.Stage = name
	}
	if e.Kind == "" {
		e.Kind, e.Status = Classify(e.Err)
	}
}

// Classify returns the kind of err and, for HTTP failures, the status. An
// *Error in the chain keeps its own kind; the Target client's errors are
// read for their status and timeout; an item the stopping run did not
// finish is canceled.
func Classify(err error) (Kind, int) {
	if err == nil {
		return "", 0
	}
	var (
		ve      *Error
		pe      *pipeline.PanicError
		httpErr *target.HTTPError
		ne      net.Error
		oe      *net.OpError
	)
	switch {
	case errors.As(err, &ve) && ve.Kind != "":
		return ve.Kind, ve.Status
	case errors.Is(err, pipeline.ErrStopped):
		return KindCanceled, 0
	case errors.As(err, &pe):
		return KindPanic, 0
	case errors.As(err, &httpErr):
		return KindHTTP, httpErr.Status
	}
	// The client's errors mean for a run what they mean for its hooks.
	if kind := target.KindOf(err); kind != target.ErrorKindOther {
		return Kind(kind), 0
	}
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return KindTimeout, 0
	case errors.As(err, &oe):
		return KindNetwork, 0
	}
	return KindError, 0
}

// Fail returns err as an *Error of the given stage, classifying it when it
// is not one already. An *Error keeps its fields; a missing Stage is filled
// in.
func Fail(stage string, err error) *Error {
	var ve *Error
	if errors.As(err, &ve) {
		ve.SetStage(stage)
		return ve
	}
	kind, status := Classify(err)
	return &Error{Stage: stage, Kind: kind, Status: status, Err: err}
}

// Invalid returns the error of input that cannot be used, naming its line.
func Invalid(stage string, line int, err error) *Error {
	return &Error{Stage: stage, Kind: KindInvalid, Line: line, Err: err}
}

// Retryable reports whether a call that failed with err may succeed if made
// again: what the Target client says is retryable (5xx, 429, 408, failed
// connections, its own timeouts) and calls cut by a stage's per-call
// timeout. Invalid input, cancellation and HTTP 4xx are not.
func Retryable(err error) bool {
	var ve *Error
	if errors.As(err, &ve) && ve.Kind == KindTimeout {
		return true
	}
	return target.IsRetryable(err)
}

// StageOf returns the stage an item's error names: the stage of an *Error,
// a *pipeline.StageError or a *pipeline.StoppedError; "" for none.
func StageOf(err error) string {
	var (
		ve *Error
		se *pipeline.StageError
		st *pipeline.StoppedError
	)
	switch {
	case errors.As(err, &st):
		return st.Stage
	case errors.As(err, &ve) && ve.Stage != "":
		return ve.Stage
	case errors.As(err, &se):
		return se.Stage
	}
	return ""
}

// Message returns an item error's message without the stage and line that
// the output records carry in fields of their own.
func Message(err error) string {
	var (
		ve *Error
		se *pipeline.StageError
		st *pipeline.StoppedError
	)
	switch {
	case errors.As(err, &st) && st.Cut:
		return "the run's stop cut the call: " + Message(st.Err)
	case errors.As(err, &st):
		return "not started: the run was stopping"
	case errors.As(err, &ve) && ve.Err != nil:
		return ve.Err.Error()
	case errors.As(err, &se) && se.Err != nil:
		var inner *Error
		if errors.As(se.Err, &inner) && inner.Err != nil {
			return inner.Err.Error()
		}
		return se.Err.Error()
	}
	return err.Error()
}
