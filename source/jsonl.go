package source

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/targetflow/targetflow/pipeline"
)

// JSONL emits one visitor per line of r (see the package documentation for
// the record format). Blank lines are ignored. A line that is not a valid
// record becomes a failed item naming its line.
func JSONL(r io.Reader, opts ...Option) *pipeline.Source {
	cfg := newConfig("jsonl", opts)
	return pipeline.NewSource(cfg.name, func(ctx context.Context, emit pipeline.EmitFunc) error {
		return readJSONL(ctx, r, cfg, emit)
	}, cfg.pipelineOptions()...)
}

// JSONLFile is JSONL over the file at path, opened when the run starts and
// closed when the source ends. The path "-" reads standard input.
func JSONLFile(path string, opts ...Option) *pipeline.Source {
	cfg := newConfig("jsonl "+path, opts)
	return pipeline.NewSource(cfg.name, func(ctx context.Context, emit pipeline.EmitFunc) error {
		return withFile(path, func(r io.Reader) error { return readJSONL(ctx, r, cfg, emit) })
	}, cfg.pipelineOptions()...)
}

func withFile(path string, read func(io.Reader) error) error {
	if path == "-" {
		return read(os.Stdin)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return read(f)
}

func readJSONL(ctx context.Context, r io.Reader, cfg config, emit pipeline.EmitFunc) error {
	defer interruptible(ctx, r)()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes)
	var line int
	var seq int64
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		seq++
		if seq <= cfg.skip {
			continue
		}
		it := &pipeline.Item{Seq: seq, Line: line}
		v, err := DecodeVisitor(text)
		if err != nil {
			it.Err = &pipeline.ItemError{Stage: cfg.name, Kind: pipeline.KindInvalid, Line: line, Err: err}
			it.Raw = bytes.Clone(text)
		} else {
			it.Visitor = v
		}
		if !emit(it) {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		if ctx.Err() != nil {
			return nil // the read was interrupted by the cancellation
		}
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("line %d: longer than %d bytes", line+1, MaxLineBytes)
		}
		return fmt.Errorf("after line %d: %w", line, err)
	}
	return nil
}

// DecodeVisitor decodes one JSON visitor record. Anything but a JSON object
// is rejected; an object with no id and nothing to ask for is valid (the
// defaults of the BuildRequest stage complete it).
func DecodeVisitor(data []byte) (*pipeline.Visitor, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, fmt.Errorf("record is not a JSON object: %q", abbreviate(data))
	}
	v := new(pipeline.Visitor)
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("invalid visitor record: %w", err)
	}
	return v, nil
}

func abbreviate(b []byte) string {
	const n = 40
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}
