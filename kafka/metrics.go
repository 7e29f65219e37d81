package kafka

import (
	"slices"
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

type consumerCounters struct {
	consumed, undecodable, skipped, givenBack atomic.Int64
	committedRecords                          atomic.Int64
	commits, commitErrors, fetchErrors        atomic.Int64
	rebalances, assigned, revoked, lost       atomic.Int64
	txnCommitted, txnAborted                  atomic.Int64
}

// ConsumerStats are a consumer's figures.
type ConsumerStats struct {
	Topic string `json:"topic"`
	Group string `json:"group"`
	// Partitions are the partitions assigned now, by id.
	Partitions []PartitionStats `json:"partitions"`
	// Lag is the sum of the partitions' lag.
	Lag int64 `json:"lag"`
	// InFlight counts the records emitted and not yet acknowledged.
	InFlight int64 `json:"inFlight"`
	// Consumed counts the records taken from the topic; Undecodable those
	// whose message could not be decoded (they are failed items); GivenBack
	// those the run did not finish (read again by the next owner).
	Consumed    int64 `json:"consumed"`
	Undecodable int64 `json:"undecodable"`
	GivenBack   int64 `json:"givenBack"`
	// CommittedRecords counts the offsets this worker's commits moved past
	// (at least once): what it took and did not commit is at most
	// Consumed - CommittedRecords, all that another worker can repeat.
	CommittedRecords int64 `json:"committedRecords"`
	// Commits counts successful offset commits (exactly-once: committed
	// transactions); CommitErrors failed ones (retried).
	Commits      int64 `json:"commits"`
	CommitErrors int64 `json:"commitErrors"`
	FetchErrors  int64 `json:"fetchErrors"`
	// Rebalances counts the assignments received; Assigned, Revoked and
	// Lost the partitions they gave, took back, and took without notice.
	Rebalances int64 `json:"rebalances"`
	Assigned   int64 `json:"assigned"`
	Revoked    int64 `json:"revoked"`
	Lost       int64 `json:"lost"`
	// TransactionsCommitted and TransactionsAborted count the ends of
	// transactions (exactly-once).
	TransactionsCommitted int64 `json:"transactionsCommitted"`
	TransactionsAborted   int64 `json:"transactionsAborted"`
}

// PartitionStats are the figures of one assigned partition.
type PartitionStats struct {
	Partition int32 `json:"partition"`
	// HighWatermark is the partition's end at the last fetch (-1 before).
	HighWatermark int64 `json:"highWatermark"`
	// Committed is the offset this worker last committed (-1: none).
	Committed int64 `json:"committed"`
	// Lag counts the records between what this worker has done and the
	// high watermark.
	Lag      int64 `json:"lag"`
	InFlight int64 `json:"inFlight"`
}

// Stats returns the consumer's figures; safe to call while it runs.
func (c *Consumer[T]) Stats() ConsumerStats {
	k := &c.counters
	s := ConsumerStats{
		Topic: c.topic, Group: c.cfg.group, InFlight: c.inflight.Load(),
		Consumed: k.consumed.Load(), Undecodable: k.undecodable.Load(), GivenBack: k.givenBack.Load(),
		CommittedRecords: k.committedRecords.Load(),
		Commits:          k.commits.Load(), CommitErrors: k.commitErrors.Load(), FetchErrors: k.fetchErrors.Load(),
		Rebalances: k.rebalances.Load(), Assigned: k.assigned.Load(), Revoked: k.revoked.Load(), Lost: k.lost.Load(),
		TransactionsCommitted: k.txnCommitted.Load(), TransactionsAborted: k.txnAborted.Load(),
	}
	for _, p := range c.assignment() {
		ps := PartitionStats{Partition: p.id, HighWatermark: p.hwm.Load(), Committed: p.committed.Load(),
			Lag: p.lag(), InFlight: p.outstanding.Load()}
		s.Lag += ps.Lag
		s.Partitions = append(s.Partitions, ps)
	}
	slices.SortFunc(s.Partitions, func(a, b PartitionStats) int { return int(a.Partition - b.Partition) })
	return s
}

type producerCounters struct {
	produced, failed, inflight, bytes, reproduced atomic.Int64
}

// ProducerStats are a producer's figures.
type ProducerStats struct {
	Topic string `json:"topic"`
	// Produced counts the records the brokers acknowledged; Failed those
	// they did not take (each fatal to its run); InFlight those sent and
	// not yet acknowledged.
	Produced int64 `json:"produced"`
	Failed   int64 `json:"failed"`
	InFlight int64 `json:"inFlight"`
	Bytes    int64 `json:"bytes"`
	// Reproduced counts records produced again because the brokers
	// refused the client's producer id (the client resets it).
	Reproduced int64 `json:"reproduced"`
}

// Stats returns the producer's figures; safe to call while it runs.
func (p *Producer[T]) Stats() ProducerStats {
	return ProducerStats{Topic: p.topic, Produced: p.counters.produced.Load(), Failed: p.counters.failed.Load(),
		InFlight: p.counters.inflight.Load(), Bytes: p.counters.bytes.Load(), Reproduced: p.counters.reproduced.Load()}
}

// Collector exposes the figures of consumers and producers to Prometheus:
// lag per partition, commits, rebalances, produce errors, records in
// flight. Register it in a registry of your own; it reads Stats on each
// scrape.
type Collector struct {
	consumers []func() ConsumerStats
	producers []func() ProducerStats

	lag, hwm, committed, inflight, consumed, undecodable       *prometheus.Desc
	commits, commitErrors, fetchErrors, rebalances, partitions *prometheus.Desc
	txns, produced, produceErrors, produceInflight             *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a collector with metric names starting with
// namespace (e.g. "targetflow"); add what it reports with Consumer and
// Producer before registering it.
func NewCollector(namespace string) *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "kafka", name), help, labels, nil)
	}
	return &Collector{
		lag:             d("consumer_lag", "Records of a partition between what this worker has done and the high watermark.", "topic", "partition"),
		hwm:             d("high_watermark", "High watermark of an assigned partition at its last fetch.", "topic", "partition"),
		committed:       d("committed_offset", "Offset this worker last committed for a partition.", "topic", "partition"),
		inflight:        d("consumer_in_flight_records", "Records taken from the topic and not yet acknowledged by the sinks.", "topic"),
		consumed:        d("consumed_records_total", "Records taken from the topic.", "topic"),
		undecodable:     d("undecodable_records_total", "Messages that could not be decoded (dead-lettered).", "topic"),
		commits:         d("commits_total", "Successful offset commits (exactly-once: committed transactions).", "topic"),
		commitErrors:    d("commit_errors_total", "Failed offset commits (retried at the next one).", "topic"),
		fetchErrors:     d("fetch_errors_total", "Errors fetching records.", "topic"),
		rebalances:      d("rebalances_total", "Assignments this worker received from its group.", "topic"),
		partitions:      d("rebalanced_partitions_total", "Partitions assigned, revoked and lost in rebalances.", "topic", "event"),
		txns:            d("transactions_total", "Transactions ended, by outcome.", "topic", "outcome"),
		produced:        d("produced_records_total", "Records the brokers acknowledged.", "topic"),
		produceErrors:   d("produce_errors_total", "Records the brokers did not take (each fatal to the run).", "topic"),
		produceInflight: d("producer_in_flight_records", "Records sent and not yet acknowledged by the brokers.", "topic"),
	}
}

// Consumer adds a consumer's figures.
func (c *Collector) Consumer(stats func() ConsumerStats) *Collector {
	c.consumers = append(c.consumers, stats)
	return c
}

// Producer adds a producer's figures.
func (c *Collector) Producer(stats func() ProducerStats) *Collector {
	c.producers = append(c.producers, stats)
	return c
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.lag, c.hwm, c.committed, c.inflight, c.consumed, c.undecodable,
		c.commits, c.commitErrors, c.fetchErrors, c.rebalances, c.partitions, c.txns, c.produced,
		c.produceErrors, c.produceInflight} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for _, stats := range c.consumers {
		s := stats()
		for _, p := range s.Partitions {
			part := strconv.Itoa(int(p.Partition))
			gauge(c.lag, p.Lag, s.Topic, part)
			gauge(c.hwm, p.HighWatermark, s.Topic, part)
			gauge(c.committed, p.Committed, s.Topic, part)
		}
		gauge(c.inflight, s.InFlight, s.Topic)
		counter(c.consumed, s.Consumed, s.Topic)
		counter(c.undecodable, s.Undecodable, s.Topic)
		counter(c.commits, s.Commits, s.Topic)
		counter(c.commitErrors, s.CommitErrors, s.Topic)
		counter(c.fetchErrors, s.FetchErrors, s.Topic)
		counter(c.rebalances, s.Rebalances, s.Topic)
		counter(c.partitions, s.Assigned, s.Topic, "assigned")
		counter(c.partitions, s.Revoked, s.Topic, "revoked")
		counter(c.partitions, s.Lost, s.Topic, "lost")
		counter(c.txns, s.TransactionsCommitted, s.Topic, "committed")
		counter(c.txns, s.TransactionsAborted, s.Topic, "aborted")
	}
	for _, stats := range c.producers {
		s := stats()
		counter(c.produced, s.Produced, s.Topic)
		counter(c.produceErrors, s.Failed, s.Topic)
		gauge(c.produceInflight, s.InFlight, s.Topic)
	}
}
