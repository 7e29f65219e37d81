package source

import "github.com/targetflow/targetflow/pipeline"

// Option configures a source. Every option applies to every source of the
// package.
type Option interface{ apply(*config) }

type option func(*config)

func (o option) apply(c *config) { o(c) }

type config struct {
	name   string
	skip   int64
	buffer int
}

func newConfig(defaultName string, opts []Option) config {
	c := config{name: defaultName, buffer: pipeline.DefaultBuffer}
	for _, o := range opts {
		o.apply(&c)
	}
	return c
}

// Skip leaves out the first n records (resume after a stopped run). The
// records that follow keep their numbers: the first emitted is n+1.
func Skip(n int64) Option { return option(func(c *config) { c.skip = max(n, 0) }) }

// WithName names the source in errors, logs and statistics.
func WithName(name string) Option { return option(func(c *config) { c.name = name }) }

// WithBuffer sets the capacity of the source's output channel.
func WithBuffer(n int) Option { return option(func(c *config) { c.buffer = n }) }

// MaxLineBytes is the longest line (JSONL) or record (CSV) a source
// decodes. A longer one becomes one invalid record (its start kept for the
// dead-letter output, with its length) and the records after it are read.
const MaxLineBytes = 16 << 20
