package pipeline

import (
	"errors"
	"fmt"
)

// ErrDrop, returned by a stage function, removes the item from the stream.
// The item is counted as dropped, never reaches a sink, and is acknowledged
// to its source as done.
var ErrDrop = errors.New("pipeline: drop item")

// ErrAlreadyRun is returned by Run on a pipeline that has run before:
// components are single-use, like the channels they own.
var ErrAlreadyRun = errors.New("pipeline: already run")

// ErrStopped matches (errors.Is) the error of every item the run did not
// finish because it was stopping: see StoppedError.
var ErrStopped = errors.New("pipeline: the run stopped before the item was done")

// StoppedError is the error of an item whose work the stopping of the run
// prevented. Such an item is not done: by default a sink does not write it
// and it is given back to its source unacknowledged (a nack), so a resumed
// run processes it again. With WriteCut(true), items whose work was cut
// are written instead, as failures (see WriteCut).
type StoppedError struct {
	// Stage is the stage that stopped the item.
	Stage string
	// Cut is true when the stage had started the item's work and the end of
	// the grace period cut it; false when the stage never started it.
	Cut bool
	// Err is what the cut work returned (Cut only).
	Err error
}

// Error implements error.
func (e *StoppedError) Error() string {
	if e.Cut {
		return fmt.Sprintf("%s: cut by the run's stop: %v", e.Stage, e.Err)
	}
	return e.Stage + ": not started: the run was stopping"
}

// Unwrap returns the error the cut work returned.
func (e *StoppedError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrStopped) true.
func (e *StoppedError) Is(target error) bool { return target == ErrStopped }

// PanicError is a panic recovered from a stage or sink function.
type PanicError struct {
	// Value is what was passed to panic.
	Value any
	// Stack is the goroutine's stack at the panic.
	Stack []byte
}

// Error implements error.
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// StageError is a failure of one item in one stage: a stage function's
// error is stored in Item.Err wrapped in it, unless it already is a
// *StageError or the payload's own error type reports the stage
// (see Staged).
type StageError struct {
	// Stage is the name of the stage.
	Stage string
	// Err is the stage function's error.
	Err error
}

// Error implements error.
func (e *StageError) Error() string { return e.Stage + ": " + e.Err.Error() }

// Unwrap returns the stage function's error.
func (e *StageError) Unwrap() error { return e.Err }

// Staged is implemented by errors that record the stage that failed an
// item themselves; a stage stores them as they are, after SetStage.
type Staged interface {
	error
	// SetStage records the stage's name when the error has none.
	SetStage(name string)
}

// CheckpointError is a checkpoint that cannot be used: it does not match the
// input or the outputs, cannot be read or cannot be written.
type CheckpointError struct {
	// Path is the checkpoint file.
	Path string
	// What names the part at fault: "input", an output's name, or "file".
	What string
	// Reason says what is wrong.
	Reason string
	// Err is the underlying error, if any.
	Err error
}

// Error implements error.
func (e *CheckpointError) Error() string {
	msg := fmt.Sprintf("checkpoint %s: %s: %s", e.Path, e.What, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *CheckpointError) Unwrap() error { return e.Err }
