package kafka

import (
	"crypto/tls"
	"fmt"
	"time"

	"github.com/targetflow/targetflow/pipeline"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"go.uber.org/zap"
)

// Options are sealed and grouped by what they apply to, as kgo's are: a
// SourceOpt is given to NewConsumer, a SinkOpt to NewProducer, and an Opt
// (how to reach the cluster: brokers, TLS, SASL, logging) to either; a
// consumer's producer (Consumer.NewProducer), whose client is the
// consumer's, takes pipeline sink options alone. An option that does not
// apply does not compile.

// SourceOpt configures a Consumer.
type SourceOpt interface{ applySource(*sourceConfig) }

// SinkOpt configures a Producer.
type SinkOpt interface{ applySink(*sinkConfig) }

// Opt configures the connection of a Consumer or a Producer.
type Opt interface {
	SourceOpt
	SinkOpt
}

// clientConfig is what both consumers and producers need to reach a cluster.
type clientConfig struct {
	brokers  []string
	tls      *tls.Config
	sasl     sasl.Mechanism
	clientID string
	log      *zap.Logger
	kgoOpts  []kgo.Opt
}

type sourceConfig struct {
	clientConfig
	group            string
	commitInterval   time.Duration
	maxPollRecords   int
	fetchMaxBytes    int32
	partitionBytes   int32
	sessionTimeout   time.Duration
	rebalanceTimeout time.Duration
	revokeTimeout    time.Duration
	drainTimeout     time.Duration
	connectTimeout   time.Duration
	readCommitted    bool
	untilCaughtUp    bool
	exactlyOnce      bool
	transactionalID  string
	txnTimeout       time.Duration
	sourceOpts       []pipeline.SourceOption
}

type sinkConfig struct {
	clientConfig
	maxBuffered     int
	maxBufferedSize int
	deliveryTimeout time.Duration
	linger          time.Duration
	sinkOpts        []pipeline.SinkOption
}

// Defaults of a consumer and a producer. Memory of a worker is bounded by
// them and by the pipeline's concurrency, never by the lag of the topic.
const (
	// DefaultCommitInterval is how often a consumer commits what is done
	// (and, exactly-once, how long a transaction lasts at most).
	DefaultCommitInterval = time.Second
	// DefaultMaxPollRecords bounds the records one poll hands over.
	DefaultMaxPollRecords = 512
	// DefaultFetchMaxBytes bounds one fetch response (one is buffered per
	// broker at most).
	// Small records decode to many kgo.Record values (compressed, a 256 KiB
	// fetch of 60-byte messages holds tens of thousands of them), so this
	// is kept small: a worker doing 10,000 records a second needs well
	// under 1 MiB a second.
	DefaultFetchMaxBytes = 256 << 10
	// DefaultFetchPartitionBytes bounds one partition of a fetch response.
	// (Fetches are not limited in number: one per broker, each buffered
	// until polled. A limit lets long polls of brokers with nothing new
	// hold back the one with records.)
	DefaultFetchPartitionBytes = 64 << 10
	// DefaultRevokeTimeout bounds how long a revocation waits for the
	// records of the revoked partitions still in flight.
	DefaultRevokeTimeout = 30 * time.Second
	// DefaultConnectTimeout bounds how long a consumer tries to reach the
	// brokers when it starts before it gives up (the run fails): wrong
	// addresses, TLS settings or credentials are reported, not retried
	// forever.
	DefaultConnectTimeout = 30 * time.Second
	// DefaultDrainTimeout bounds how long a stopping consumer waits for its
	// records in flight before committing what is done.
	DefaultDrainTimeout = time.Minute
	// DefaultTransactionTimeout is the brokers' bound on an open
	// transaction: a worker killed mid-transaction holds back read_committed
	// readers and the next owner of its partitions at most this long
	// (unless it comes back with the same transactional id, which aborts
	// the transaction at once).
	DefaultTransactionTimeout = 10 * time.Second
	// DefaultMaxBufferedRecords bounds the records a producer holds that
	// the brokers have not acknowledged; Produce blocks beyond it.
	DefaultMaxBufferedRecords = 4096
	// DefaultMaxBufferedBytes bounds their bytes.
	DefaultMaxBufferedBytes = 8 << 20
	// DefaultLinger is how long a producer waits to fill a batch: at a few
	// thousand records a second over a dozen partitions, 20ms makes
	// batches of several records, which costs the brokers (and the worker)
	// far less than one request per record. (The producer of an
	// exactly-once consumer lingers 5ms: a transaction waits for its last
	// records.)
	DefaultLinger = 20 * time.Millisecond
	// exactlyOnceLinger is the linger of an exactly-once consumer's
	// producer: short, as a transaction waits for its last records.
	exactlyOnceLinger = 5 * time.Millisecond
	// DefaultDeliveryTimeout bounds how long a record may take to be
	// acknowledged, retries included, before its failure ends the run.
	DefaultDeliveryTimeout = time.Minute
)

func newSourceConfig(opts []SourceOpt) sourceConfig {
	c := sourceConfig{
		clientConfig:   clientConfig{log: zap.NewNop()},
		commitInterval: DefaultCommitInterval,
		maxPollRecords: DefaultMaxPollRecords,
		fetchMaxBytes:  DefaultFetchMaxBytes,
		partitionBytes: DefaultFetchPartitionBytes,
		revokeTimeout:  DefaultRevokeTimeout,
		drainTimeout:   DefaultDrainTimeout,
		connectTimeout: DefaultConnectTimeout,
		readCommitted:  true,
		txnTimeout:     DefaultTransactionTimeout,
	}
	for _, o := range opts {
		o.applySource(&c)
	}
	return c
}

func newSinkConfig(opts []SinkOpt) sinkConfig {
	c := sinkConfig{
		clientConfig:    clientConfig{log: zap.NewNop()},
		maxBuffered:     DefaultMaxBufferedRecords,
		maxBufferedSize: DefaultMaxBufferedBytes,
		deliveryTimeout: DefaultDeliveryTimeout,
		linger:          DefaultLinger,
	}
	for _, o := range opts {
		o.applySink(&c)
	}
	return c
}

func (c *clientConfig) validate(what string) error {
	if len(c.brokers) == 0 {
		return &ConfigError{Field: "brokers", Reason: what + " needs at least one seed broker"}
	}
	for _, b := range c.brokers {
		if b == "" {
			return &ConfigError{Field: "brokers", Value: fmt.Sprint(c.brokers), Reason: "a seed broker is empty"}
		}
	}
	return nil
}

func (c *sourceConfig) validate() error {
	if err := c.validate0(); err != nil {
		return err
	}
	return c.clientConfig.validate("a consumer")
}

func (c *sourceConfig) validate0() error {
	switch {
	case c.group == "":
		return &ConfigError{Field: "group", Reason: "a consumer needs a group"}
	case c.commitInterval < time.Millisecond:
		return &ConfigError{Field: "commit interval", Value: c.commitInterval.String(), Reason: "must be at least 1ms"}
	case c.maxPollRecords < 1:
		return &ConfigError{Field: "max poll records", Value: fmt.Sprint(c.maxPollRecords), Reason: "must be at least 1"}
	case c.fetchMaxBytes < 1 || c.partitionBytes < 1:
		return &ConfigError{Field: "fetch max bytes", Value: fmt.Sprint(c.fetchMaxBytes, "/", c.partitionBytes), Reason: "must be positive"}
	case c.revokeTimeout <= 0 || c.drainTimeout <= 0:
		return &ConfigError{Field: "revoke/drain timeout", Value: fmt.Sprint(c.revokeTimeout, "/", c.drainTimeout), Reason: "must be positive"}
	case c.connectTimeout <= 0:
		return &ConfigError{Field: "connect timeout", Value: c.connectTimeout.String(), Reason: "must be positive"}
	case c.exactlyOnce && c.txnTimeout < time.Second:
		return &ConfigError{Field: "transaction timeout", Value: c.txnTimeout.String(), Reason: "must be at least 1s"}
	case c.sessionTimeout < 0 || c.rebalanceTimeout < 0:
		return &ConfigError{Field: "session/rebalance timeout", Value: fmt.Sprint(c.sessionTimeout, "/", c.rebalanceTimeout), Reason: "must not be negative"}
	}
	return nil
}

func (c *sinkConfig) validate() error {
	switch {
	case c.maxBuffered < 1:
		return &ConfigError{Field: "max buffered records", Value: fmt.Sprint(c.maxBuffered), Reason: "must be at least 1"}
	case c.maxBufferedSize < 1:
		return &ConfigError{Field: "max buffered bytes", Value: fmt.Sprint(c.maxBufferedSize), Reason: "must be at least 1"}
	case c.deliveryTimeout < time.Second:
		return &ConfigError{Field: "delivery timeout", Value: c.deliveryTimeout.String(), Reason: "must be at least 1s"}
	}
	return nil
}

// kgoOpts returns the kgo options of the connection.
func (c *clientConfig) kgo() []kgo.Opt {
	opts := []kgo.Opt{kgo.SeedBrokers(c.brokers...), kgo.WithLogger(kgoLogger{c.log})}
	if c.tls != nil {
		opts = append(opts, kgo.DialTLSConfig(c.tls.Clone()))
	}
	if c.sasl != nil {
		opts = append(opts, kgo.SASL(c.sasl))
	}
	if c.clientID != "" {
		opts = append(opts, kgo.ClientID(c.clientID))
	} else {
		opts = append(opts, kgo.ClientID("targetflow"))
	}
	return append(opts, c.kgoOpts...)
}

type clientOpt func(*clientConfig)

func (o clientOpt) applySource(c *sourceConfig) { o(&c.clientConfig) }
func (o clientOpt) applySink(c *sinkConfig)     { o(&c.clientConfig) }

// Brokers sets the seed brokers, host:port each (required).
func Brokers(addrs ...string) Opt {
	return clientOpt(func(c *clientConfig) { c.brokers = append([]string(nil), addrs...) })
}

// TLS connects to the brokers over TLS with the given configuration.
func TLS(cfg *tls.Config) Opt { return clientOpt(func(c *clientConfig) { c.tls = cfg }) }

// SASL authenticates to the brokers with the given mechanism (see
// ParseURL for PLAIN and SCRAM from a URL and the environment).
func SASL(m sasl.Mechanism) Opt { return clientOpt(func(c *clientConfig) { c.sasl = m }) }

// ClientID sets the client id the brokers see (default "targetflow").
func ClientID(id string) Opt { return clientOpt(func(c *clientConfig) { c.clientID = id }) }

// WithLogger sets the logger (default zap.NewNop()); kgo's own logs go to
// it too, at their levels.
func WithLogger(l *zap.Logger) Opt {
	return clientOpt(func(c *clientConfig) {
		if l != nil {
			c.log = l
		}
	})
}

// ClientOpts adds kgo options for what this package does not set itself
// (a Dialer, timeouts, metadata intervals), applied after its own.
func ClientOpts(opts ...kgo.Opt) Opt {
	return clientOpt(func(c *clientConfig) { c.kgoOpts = append(c.kgoOpts, opts...) })
}

type sourceOpt func(*sourceConfig)

func (o sourceOpt) applySource(c *sourceConfig) { o(c) }

// Group sets the consumer group (required). Workers with the same group
// share the topic's partitions.
func Group(name string) SourceOpt { return sourceOpt(func(c *sourceConfig) { c.group = name }) }

// CommitInterval sets how often what is done is committed (default 1s);
// exactly-once, it is the longest a transaction stays open.
func CommitInterval(d time.Duration) SourceOpt {
	return sourceOpt(func(c *sourceConfig) { c.commitInterval = d })
}

// MaxPollRecords bounds the records taken from the client at once
// (default DefaultMaxPollRecords).
func MaxPollRecords(n int) SourceOpt {
	return sourceOpt(func(c *sourceConfig) { c.maxPollRecords = n })
}

// FetchMaxBytes bounds a fetch response and each partition in it (defaults
// DefaultFetchMaxBytes and DefaultFetchPartitionBytes). The client buffers
// at most one fetch per broker, so they bound the consumer's memory.
func FetchMaxBytes(total, perPartition int32) SourceOpt {
	return sourceOpt(func(c *sourceConfig) { c.fetchMaxBytes, c.partitionBytes = total, perPartition })
}

// SessionTimeout sets the group session timeout: how long the group waits
// for a silent worker before giving its partitions to the others (default:
// kgo's, 45s).
func SessionTimeout(d time.Duration) SourceOpt {
	return sourceOpt(func(c *sourceConfig) { c.sessionTimeout = d })
}

// RebalanceTimeout sets how long the group waits for its members to rejoin
// in a rebalance (default: kgo's, 60s): a member that died during one holds
// the others back this long. A revocation waits for records in flight at
// most half of it.
func RebalanceTimeout(d time.Duration) SourceOpt {
	return sourceOpt(func(c *sourceConfig) { c.rebalanceTimeout = d })
}

// RevokeTimeout bounds how long a revocation waits for the records of the
// revoked partitions in flight before it commits what is done and lets the
// rebalance go on (default DefaultRevokeTimeout).
func RevokeTimeout(d time.Duration) SourceOpt {
	return sourceOpt(func(c *sourceConfig) { c.revokeTimeout = d })
}

// ConnectTimeout bounds how long a consumer tries to reach the brokers when
// its source starts (default DefaultConnectTimeout).
func ConnectTimeout(d time.Duration) SourceOpt {
	return sourceOpt(func(c *sourceConfig) { c.connectTimeout = d })
}

// DrainTimeout bounds how long a stopping consumer waits for its records
// in flight (default DefaultDrainTimeout).
func DrainTimeout(d time.Duration) SourceOpt {
	return sourceOpt(func(c *sourceConfig) { c.drainTimeout = d })
}

// ReadCommitted chooses the isolation of what is consumed: true (the
// default) reads only committed transactions, as the output of an
// exactly-once run must be read; false reads everything.
func ReadCommitted(yes bool) SourceOpt {
	return sourceOpt(func(c *sourceConfig) { c.readCommitted = yes })
}

// UntilCaughtUp makes the source end, once the group has committed every
// partition of the topic up to where it ended when the consumer started.
// Without it a consumer runs until it is stopped.
func UntilCaughtUp() SourceOpt { return sourceOpt(func(c *sourceConfig) { c.untilCaughtUp = true }) }

// ExactlyOnce makes the consumer transactional (kgo's
// GroupTransactSession): the results that producers made from it
// (Consumer.NewProducer) and the consumed offsets are committed in one
// transaction, so that a read_committed reader sees each input record's
// result once, whatever crashes and rebalances happen. transactionalID
// names this worker's transactions; give each worker its own, stable
// across restarts (a restarted worker then aborts its predecessor's open
// transaction at once); "" makes one from the group and a random suffix.
func ExactlyOnce(transactionalID string) SourceOpt {
	return sourceOpt(func(c *sourceConfig) { c.exactlyOnce, c.transactionalID = true, transactionalID })
}

// TransactionTimeout sets the brokers' bound on an open transaction
// (default DefaultTransactionTimeout).
func TransactionTimeout(d time.Duration) SourceOpt {
	return sourceOpt(func(c *sourceConfig) { c.txnTimeout = d })
}

// SourceOptions adds options of the pipeline source (e.g. pipeline.Buffer).
func SourceOptions(opts ...pipeline.SourceOption) SourceOpt {
	return sourceOpt(func(c *sourceConfig) { c.sourceOpts = append(c.sourceOpts, opts...) })
}

type sinkOpt func(*sinkConfig)

func (o sinkOpt) applySink(c *sinkConfig) { o(c) }

// MaxBuffered bounds the records (and their bytes) a producer holds before
// the brokers acknowledge them (defaults DefaultMaxBufferedRecords,
// DefaultMaxBufferedBytes); the sink waits beyond them.
func MaxBuffered(records, bytes int) SinkOpt {
	return sinkOpt(func(c *sinkConfig) { c.maxBuffered, c.maxBufferedSize = records, bytes })
}

// DeliveryTimeout bounds how long one record may take to be acknowledged,
// retries included (default DefaultDeliveryTimeout). A record that fails
// for good, or for that long, ends the run.
func DeliveryTimeout(d time.Duration) SinkOpt {
	return sinkOpt(func(c *sinkConfig) { c.deliveryTimeout = d })
}

// Linger sets how long the producer waits to fill a batch (default
// DefaultLinger).
func Linger(d time.Duration) SinkOpt { return sinkOpt(func(c *sinkConfig) { c.linger = d }) }

// SinkOptions adds options of the pipeline sink (e.g. pipeline.DeadLetter()).
func SinkOptions(opts ...pipeline.SinkOption) SinkOpt {
	return sinkOpt(func(c *sinkConfig) { c.sinkOpts = append(c.sinkOpts, opts...) })
}
