package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/visitor"
)

// JSONL emits one visitor per line of r (see the package documentation for
// the record format). Blank lines are skipped, a byte-order mark at the
// start is ignored. A line that is not a valid record (not JSON, not UTF-8,
// longer than MaxLineBytes) becomes a failed item naming its line, with the
// line's bytes for a dead-letter output, and the lines after it are read.
func JSONL(r io.Reader, opts ...Option) *pipeline.Source[visitor.Envelope] {
	cfg := newConfig("jsonl", opts)
	sk := &skipper{through: cfg.skip}
	return pipeline.NewSource(cfg.name, func(ctx context.Context, emit pipeline.Emit[visitor.Envelope]) error {
		return readJSONL(ctx, r, cfg, sk, nil, emit)
	}, pipeline.Buffer(cfg.buffer))
}

// JSONLFile is JSONL over the file at path, opened when the run starts and
// closed when the source ends. The path "-" reads standard input. A run
// with a checkpoint (pipeline.WithCheckpoint) records the file and resumes
// it exactly.
func JSONLFile(path string, opts ...Option) *pipeline.Source[visitor.Envelope] {
	cfg := newConfig(path, opts)
	in := newFileInput(path, cfg.skip)
	return pipeline.NewSource(cfg.name, func(ctx context.Context, emit pipeline.Emit[visitor.Envelope]) error {
		return in.read(func(r io.Reader) error { return readJSONL(ctx, r, cfg, &in.skipper, in.verify, emit) })
	}, pipeline.Buffer(cfg.buffer), pipeline.WithInput(in))
}

// readJSONL emits the records of r; verify, when set, checks each record's
// position against a checkpoint.
func readJSONL(ctx context.Context, r io.Reader, cfg config, sk *skipper, verify func(pipeline.Position) error, emit pipeline.Emit[visitor.Envelope]) error {
	defer interruptible(ctx, r)()
	lr := newLineReader(r, MaxLineBytes)
	var seq int64
	for {
		text, line, offset, length, err := lr.readLine(visitor.MaxRawBytes)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil // the read was interrupted by the cancellation
			}
			return fmt.Errorf("after line %d: %w", lr.line, err)
		}
		if length == 0 && len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		seq++
		pos := pipeline.Position{Seq: seq, Line: line, Offset: offset}
		if verify != nil {
			if err := verify(pos); err != nil {
				return err
			}
		}
		if sk.skip(seq) {
			continue
		}
		it := &visitor.Item{Pos: pos}
		switch {
		case length > 0:
			it.Value.Raw, it.Value.RawLength = bytes.Clone(text), length
			it.Err = visitor.Invalid(cfg.name, line, fmt.Errorf("line is %d bytes, longer than the limit of %d", length, MaxLineBytes))
		case !utf8.Valid(text):
			it.Value.Raw = bytes.Clone(text)
			it.Err = visitor.Invalid(cfg.name, line, fmt.Errorf("not UTF-8 text (first bad byte at column %d)", invalidUTF8At(text)+1))
		default:
			rec, err := visitor.DecodeRecord(text)
			if err != nil {
				it.Value.KeepRaw(text)
				it.Err = visitor.Invalid(cfg.name, line, err)
			} else {
				it.Value.Record = rec
			}
		}
		if !emit(it) {
			return nil
		}
	}
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}
