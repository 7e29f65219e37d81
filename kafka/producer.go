package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/targetflow/targetflow/pipeline"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// EncodeFunc appends the message value of one item to dst.
type EncodeFunc[T any] func(dst []byte, it *pipeline.Item[T]) ([]byte, error)

// Producer writes items to one topic, as a pipeline sink (Sink): one
// record per item, keyed by the item's Pos.Key (the input message's key,
// so that a visitor's results stay on one partition, in order). An item
// is confirmed to the pipeline only when the brokers have acknowledged its
// record; a record they do not take after the client's retries is fatal
// to the run, never dropped.
type Producer[T any] struct {
	topic  string
	encode EncodeFunc[T]
	cfg    sinkConfig
	cl     *kgo.Client
	own    bool
	// abort, for a producer of an exactly-once consumer, aborts the open
	// transaction: a refused record is done again in the next one instead
	// of failing the run (the consumer fails it when refusals persist).
	abort func(error)
	sink  *pipeline.Sink[T]

	// again holds the goroutines producing records again after their
	// producer id was reset (write's promise); Close waits for them.
	again    sync.WaitGroup
	closed   sync.Once
	counters producerCounters
}

// NewProducer returns a producer to topic with a client of its own (the
// Brokers option is required). It validates the options and returns at
// once; the client connects when the first record is produced.
func NewProducer[T any](topic string, encode EncodeFunc[T], opts ...SinkOpt) (*Producer[T], error) {
	cfg := newSinkConfig(opts)
	if err := cfg.clientConfig.validate("a producer"); err != nil {
		return nil, err
	}
	p, err := newProducer(topic, encode, cfg)
	if err != nil {
		return nil, err
	}
	kopts := append(cfg.kgo(),
		kgo.DefaultProduceTopic(topic),
		kgo.MaxBufferedRecords(cfg.maxBuffered),
		kgo.MaxBufferedBytes(cfg.maxBufferedSize),
		kgo.RecordDeliveryTimeout(cfg.deliveryTimeout),
		kgo.ProducerLinger(cfg.linger),
	)
	p.cl, err = kgo.NewClient(kopts...)
	if err != nil {
		return nil, &ConfigError{Field: "client", Reason: err.Error(), Err: err}
	}
	p.own = true
	return p, nil
}

// NewProducer returns a producer to topic that produces through the
// consumer's client: exactly-once, within the consumer's transactions (its
// records are committed with the offsets of the records they came from).
// The client, its connection, buffers and linger are the consumer's, so
// the only options are the pipeline sink's.
func (c *Consumer[T]) NewProducer(topic string, encode EncodeFunc[T], opts ...pipeline.SinkOption) (*Producer[T], error) {
	cfg := newSinkConfig([]SinkOpt{SinkOptions(opts...)})
	p, err := newProducer(topic, encode, cfg)
	if err != nil {
		return nil, err
	}
	p.cl = c.cl
	if c.sess != nil {
		p.abort = c.poisonTransaction
	}
	return p, nil
}

func newProducer[T any](topic string, encode EncodeFunc[T], cfg sinkConfig) (*Producer[T], error) {
	if err := validateTopic("topic", topic); err != nil {
		return nil, err
	}
	if encode == nil {
		return nil, &ConfigError{Field: "encode", Reason: "a producer needs an encode function"}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := &Producer[T]{topic: topic, encode: encode, cfg: cfg}
	p.sink = pipeline.NewAsyncSink[T]("kafka:"+topic, p.write, slices.Clone(cfg.sinkOpts)...)
	return p, nil
}

// Sink returns the pipeline sink of the producer.
func (p *Producer[T]) Sink() *pipeline.Sink[T] { return p.sink }

// Close closes the producer's own client (after the run: the sink has
// then had every record acknowledged). A producer of a consumer leaves the
// client to it.
func (p *Producer[T]) Close() {
	p.again.Wait()
	if p.own {
		p.closed.Do(p.cl.Close)
	}
}

// write queues one item's record; its promise confirms the item.
func (p *Producer[T]) write(ctx context.Context, it *pipeline.Item[T], acks *pipeline.Acks[T]) error {
	value, err := p.encode(nil, it)
	if err != nil {
		return fmt.Errorf("kafka: encoding the record of item %d for topic %s: %w", it.Pos.Seq, p.topic, err)
	}
	p.counters.inflight.Add(1)
	r := &kgo.Record{Topic: p.topic, Key: it.Pos.Key, Value: value}
	var promise func(r *kgo.Record, err error)
	tries := 0
	promise = func(r *kgo.Record, err error) {
		if err != nil && p.abort == nil && tries < maxReproduce && producerReset(err) && ctx.Err() == nil {
			// The client failed its producer id and starts again with a
			// new one: producing the record again is the retry that fixes
			// it (at least once, it may be a duplicate). A promise must
			// not block, and the client frees the failed record's place in
			// its buffer only once the promise returned: under
			// backpressure the buffer is full, so the record is produced
			// again, waiting for room, from a goroutine of its own.
			tries++
			p.counters.reproduced.Add(1)
			again := &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value}
			p.again.Go(func() { p.cl.Produce(ctx, again, promise) })
			return
		}
		p.counters.inflight.Add(-1)
		if err != nil && p.abort != nil && ctx.Err() == nil {
			// In a transaction: the record is confirmed to the pipeline as
			// part of a transaction that will abort, so that the
			// transaction can end; its input is read again.
			p.counters.failed.Add(1)
			p.abort(&RecordError{Op: "produce", Topic: r.Topic, Partition: r.Partition, Offset: -1, Err: err})
			err = nil
		} else if err != nil {
			p.counters.failed.Add(1)
			err = &RecordError{Op: "produce", Topic: r.Topic, Partition: r.Partition, Offset: -1, Err: err}
		} else {
			p.counters.produced.Add(1)
			p.counters.bytes.Add(int64(len(r.Value)))
		}
		acks.Ack(it, err)
	}
	p.cl.Produce(ctx, r, promise)
	return nil
}

// maxReproduce bounds how often one record is produced again after its
// producer id was reset.
const maxReproduce = 3

// producerReset reports whether a produce failed because the idempotent
// producer's id or epoch was refused: the client resets it, and a record
// produced again goes through.
func producerReset(err error) bool {
	for _, e := range []error{kerr.InvalidProducerEpoch, kerr.OutOfOrderSequenceNumber, kerr.UnknownProducerID, kerr.InvalidProducerIDMapping} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
