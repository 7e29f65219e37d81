package source

import "github.com/targetflow/targetflow/pipeline"

// Option configures a source.
type Option func(*config)

type config struct {
	name   string
	skip   int64
	buffer int
}

func newConfig(defaultName string, opts []Option) config {
	c := config{name: defaultName, buffer: pipeline.DefaultBuffer}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// Skip leaves out the first n records (resume after a stopped run). The
// records that follow keep their numbers: the first emitted is n+1.
func Skip(n int64) Option { return func(c *config) { c.skip = max(n, 0) } }

// WithName names the source in errors, logs and statistics.
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithBuffer sets the capacity of the source's output channel.
func WithBuffer(n int) Option { return func(c *config) { c.buffer = n } }

func (c config) pipelineOptions() []pipeline.Option {
	return []pipeline.Option{pipeline.Buffer(c.buffer)}
}

// MaxLineBytes is the longest JSON line a JSONL source reads. A longer line
// is a failure of the input, not of the record: the source cannot find where
// the next record starts without reading it all.
const MaxLineBytes = 16 << 20
