package sink

import (
	"context"
	"io"

	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/visitor"
)

// JSONL writes one visitor.Result per item to w, as a JSON line, through a
// 64 KiB buffer. An item is confirmed once the OS has accepted its whole
// line: when the buffer fills, when the input is idle, at least every
// second, and when the run ends. HTML in offers is not escaped.
func JSONL(w io.Writer, opts ...Option) *pipeline.Sink[visitor.Envelope] {
	cfg := newConfig("jsonl", opts)
	return jsonLines(cfg, &lineWriter{name: cfg.name, w: w}, appendResult)
}

// JSONLFile is JSONL to the file at path, created (or truncated) when the
// run starts, or appended to with Append(true). A run with a checkpoint
// records the file's length and, on resume, truncates the file back to it.
// After a failed write the file is truncated to its last whole line.
func JSONLFile(path string, opts ...FileOption) *pipeline.Sink[visitor.Envelope] {
	cfg := newConfig(path, opts)
	return jsonLines(cfg, &lineWriter{name: cfg.name, path: path, append: cfg.append}, appendResult)
}

// DeadLetter writes one visitor.DeadLetterRecord per item to w, as a JSON
// line, buffered like JSONL; what it writes counts as dead-lettered. Use it
// as the dead-letter side of a Router.
func DeadLetter(w io.Writer, opts ...Option) *pipeline.Sink[visitor.Envelope] {
	cfg := newConfig("dead-letter", opts)
	return jsonLines(cfg, &lineWriter{name: cfg.name, w: w}, appendDeadLetter, pipeline.DeadLetter())
}

// DeadLetterFile is DeadLetter to the file at path, with the file handling
// of JSONLFile.
func DeadLetterFile(path string, opts ...FileOption) *pipeline.Sink[visitor.Envelope] {
	cfg := newConfig(path, opts)
	return jsonLines(cfg, &lineWriter{name: cfg.name, path: path, append: cfg.append}, appendDeadLetter, pipeline.DeadLetter())
}

func appendResult(dst []byte, it *visitor.Item) ([]byte, error) {
	r := visitor.NewResult(it)
	return r.AppendJSON(dst)
}

func appendDeadLetter(dst []byte, it *visitor.Item) ([]byte, error) {
	r := visitor.NewDeadLetterRecord(it)
	return r.AppendJSON(dst)
}

// jsonLines is a sink that queues the line encode appends for each item
// with lw; the line's bytes are reused from item to item.
func jsonLines(cfg config, lw *lineWriter, encode func(dst []byte, it *visitor.Item) ([]byte, error), extra ...pipeline.SinkOption) *pipeline.Sink[visitor.Envelope] {
	lw.bufSize = cfg.writeBuf
	var line []byte
	opts := []pipeline.SinkOption{
		pipeline.Buffer(cfg.buffer),
		pipeline.OnFlush(func(context.Context) error { return lw.flush() }, cfg.flushEvery),
	}
	if lw.path != "" {
		opts = append(opts, pipeline.WithOutput(lw))
	}
	return pipeline.NewAsyncSink(cfg.name, func(_ context.Context, it *visitor.Item, acks *pipeline.Acks[visitor.Envelope]) error {
		var err error
		if line, err = encode(line[:0], it); err != nil {
			return err
		}
		line = append(line, '\n')
		return lw.queue(it, line, acks)
	}, append(opts, extra...)...)
}
