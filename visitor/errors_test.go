package visitor_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/target"
	"github.com/targetflow/targetflow/visitor"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		err       error
		kind      visitor.Kind
		status    int
		retryable bool
	}{
		{"canceled", context.Canceled, visitor.KindCanceled, 0, false},
		{"deadline", fmt.Errorf("call: %w", context.DeadlineExceeded), visitor.KindTimeout, 0, false},
		{"http 503", &target.HTTPError{Status: 503}, visitor.KindHTTP, 503, true},
		{"http 400", &target.HTTPError{Status: 400}, visitor.KindHTTP, 400, false},
		{"client timeout", &target.TransportError{Op: "send", Timeout: true, Err: errors.New("i/o timeout")}, visitor.KindTimeout, 0, true},
		{"reset", &target.TransportError{Op: "read", Err: errors.New("connection reset")}, visitor.KindNetwork, 0, true},
		{"not a delivery answer", &target.TransportError{Op: "decode", Err: errors.New("empty answer")}, visitor.KindDecode, 0, false},
		{"request not encodable", &target.TransportError{Op: "encode", Err: errors.New("NaN")}, visitor.KindEncode, 0, false},
		{"not ready", fmt.Errorf("GetOffers: %w", target.ErrNotReady), visitor.KindNotReady, 0, false},
		{"validation", &target.ValidationError{Method: "GetOffers", Field: "request", Reason: "required"}, visitor.KindInvalid, 0, false},
		{"invalid input", visitor.Invalid("jsonl", 3, errors.New("bad json")), visitor.KindInvalid, 0, false},
		{"per-call timeout", &visitor.Error{Kind: visitor.KindTimeout, Err: errors.New("call timed out")}, visitor.KindTimeout, 0, true},
		{"panic", &pipeline.StageError{Stage: "map", Err: &pipeline.PanicError{Value: 1}}, visitor.KindPanic, 0, false},
		{"stopped", &pipeline.StoppedError{Stage: "deliver"}, visitor.KindCanceled, 0, false},
		{"net op", &net.OpError{Op: "dial", Err: errors.New("refused")}, visitor.KindNetwork, 0, false},
		{"other", errors.New("other"), visitor.KindError, 0, false},
	}
	for _, tt := range tests {
		kind, status := visitor.Classify(tt.err)
		if kind != tt.kind || status != tt.status || visitor.Retryable(tt.err) != tt.retryable {
			t.Errorf("%s: Classify = %q, %d, retryable %t; want %q, %d, %t", tt.name, kind, status, visitor.Retryable(tt.err), tt.kind, tt.status, tt.retryable)
		}
	}
}

func TestErrorRecordNamesStageAndMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err            error
		stage, message string
	}{
		{&visitor.Error{Stage: "deliver", Kind: visitor.KindHTTP, Status: 503, Err: errors.New("unavailable")}, "deliver", "unavailable"},
		{&pipeline.StageError{Stage: "map", Err: errors.New("boom")}, "map", "boom"},
		{&pipeline.StoppedError{Stage: "deliver", Cut: true, Err: visitor.Fail("deliver", context.Canceled)}, "deliver", "the run's stop cut the call: context canceled"},
	}
	for _, tt := range tests {
		r := visitor.NewErrorRecord(tt.err)
		if r.Stage != tt.stage || r.Message != tt.message {
			t.Errorf("%v: stage %q message %q; want %q, %q", tt.err, r.Stage, r.Message, tt.stage, tt.message)
		}
	}
}
