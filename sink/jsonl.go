package sink

import (
	"bufio"
	"context"
	"io"
	"time"

	"github.com/targetflow/targetflow/pipeline"
)

// Option configures a sink.
type Option func(*config)

type config struct {
	name       string
	buffer     int
	writeBuf   int
	flushEvery time.Duration
}

func newConfig(name string, opts []Option) config {
	c := config{name: name, buffer: pipeline.DefaultBuffer, writeBuf: 64 << 10, flushEvery: 200 * time.Millisecond}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithName names the sink in errors, logs and statistics.
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithBuffer sets the capacity of the sink's input channel.
func WithBuffer(n int) Option { return func(c *config) { c.buffer = n } }

// WithFlushInterval sets how often a buffered sink flushes while its input
// is idle (default 200ms); it always flushes when the run ends.
func WithFlushInterval(d time.Duration) Option { return func(c *config) { c.flushEvery = d } }

// JSONL writes one Record per item to w, as a JSON line, through a 64 KiB
// buffer flushed when the input is idle and when the run ends, completed or
// cancelled. HTML in offers is not escaped.
func JSONL(w io.Writer, opts ...Option) *pipeline.Sink {
	return jsonLines("jsonl", w, func(dst []byte, it *pipeline.Item) ([]byte, error) {
		r := NewRecord(it)
		return r.AppendJSON(dst)
	}, opts)
}

// DeadLetter writes one DeadLetterRecord per item to w, as a JSON line,
// buffered like JSONL. Use it as the dead-letter side of a Router.
func DeadLetter(w io.Writer, opts ...Option) *pipeline.Sink {
	return jsonLines("dead-letter", w, func(dst []byte, it *pipeline.Item) ([]byte, error) {
		r := NewDeadLetterRecord(it)
		return appendJSON(dst, &r)
	}, opts)
}

// jsonLines writes the line encode appends for each item, through a
// buffer; the line's bytes are reused from item to item.
func jsonLines(name string, w io.Writer, encode func(dst []byte, it *pipeline.Item) ([]byte, error), opts []Option) *pipeline.Sink {
	cfg := newConfig(name, opts)
	bw := bufio.NewWriterSize(w, cfg.writeBuf)
	var line []byte
	return pipeline.NewSink(cfg.name, func(_ context.Context, it *pipeline.Item) error {
		var err error
		if line, err = encode(line[:0], it); err != nil {
			return err
		}
		line = append(line, '\n')
		_, err = bw.Write(line)
		return err
	}, pipeline.Buffer(cfg.buffer), pipeline.OnFlush(bw.Flush, cfg.flushEvery))
}
