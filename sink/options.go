package sink

import (
	"time"

	"github.com/targetflow/targetflow/pipeline"
)

// Option configures any sink of the package.
type Option interface {
	FileOption
	apply(*config)
}

// FileOption configures a sink that writes a file (JSONLFile,
// DeadLetterFile). Every Option is one.
type FileOption interface{ applyFile(*config) }

type config struct {
	name       string
	buffer     int
	writeBuf   int
	flushEvery time.Duration
	append     bool
}

func newConfig[O interface{ applyFile(*config) }](name string, opts []O) config {
	c := config{name: name, buffer: pipeline.DefaultBuffer, writeBuf: 64 << 10, flushEvery: pipeline.DefaultFlushInterval}
	for _, o := range opts {
		o.applyFile(&c)
	}
	return c
}

type option func(*config)

func (o option) apply(c *config)     { o(c) }
func (o option) applyFile(c *config) { o(c) }

type fileOption func(*config)

func (o fileOption) applyFile(c *config) { o(c) }

// WithName names the sink in errors, logs and statistics.
func WithName(name string) Option { return option(func(c *config) { c.name = name }) }

// WithBuffer sets the capacity of the sink's input channel.
func WithBuffer(n int) Option { return option(func(c *config) { c.buffer = n }) }

// WithFlushInterval sets how often a buffered sink flushes while its input
// is idle (default 200ms, at most pipeline.MaxFlushInterval); it always
// flushes when its buffer is full and when the run ends.
func WithFlushInterval(d time.Duration) Option { return option(func(c *config) { c.flushEvery = d }) }

// Append makes a file sink add to an existing file instead of replacing it
// (a run resumed with source.Skip). A file that does not end with a line
// break is refused: its last line is partial. A run with a checkpoint
// ignores it: the checkpoint says where the file ends.
func Append(append bool) FileOption { return fileOption(func(c *config) { c.append = append }) }
