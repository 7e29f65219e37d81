package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/targetflow/targetflow/kafka"
	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/visitor"
)

// kafkaEnds are the Kafka inputs and outputs of one run.
type kafkaEnds struct {
	consumer  *kafka.Consumer[visitor.Envelope]
	producers []*kafka.Producer[visitor.Envelope]
	collector *kafka.Collector
}

// validateKafka checks the flags that concern Kafka: URLs that parse (kept
// in f.kafkaEndpoints), features that need a Kafka input, and
// exactly-once's needs.
func (f *runFlags) validateKafka() error {
	in := kafka.IsURL(f.input)
	endpoints := map[string]*kafka.Endpoint{}
	f.kafkaEndpoints = endpoints
	for _, flagURL := range []struct{ name, url string }{{"--input", f.input}, {"--output", f.output}, {"--dead-letter", f.deadLetter}} {
		if !kafka.IsURL(flagURL.url) {
			continue
		}
		e, err := kafka.ParseURL(flagURL.url, os.Getenv)
		if err == nil {
			if flagURL.name == "--input" {
				err = e.CheckInput()
			} else {
				err = e.CheckOutput(nil)
			}
		}
		if err != nil {
			return fmt.Errorf("%s: %w", flagURL.name, err)
		}
		endpoints[flagURL.name] = e
	}
	switch {
	case in && endpoints["--input"].Group == "":
		return errors.New("--input: a Kafka input needs a consumer group: kafka://host:9092/TOPIC?group=NAME")
	case in && f.format == "csv":
		return errors.New("--format csv: a Kafka message is one visitor record in JSON")
	case in && f.checkpoint != "":
		return errors.New("--checkpoint: a Kafka input's checkpoint is its group's committed offsets")
	case in && f.skip > 0:
		return errors.New("--skip: a Kafka input resumes from its group's committed offsets")
	case !in && f.untilCaughtUp:
		return errors.New("--until-caught-up needs a Kafka --input")
	case !in && f.exactlyOnce:
		return errors.New("--exactly-once needs a Kafka --input")
	}
	if f.exactlyOnce {
		out, dlq := endpoints["--output"], endpoints["--dead-letter"]
		switch {
		case out == nil:
			return errors.New("--exactly-once needs a Kafka --output: results are committed with the consumed offsets in one transaction")
		case !out.SameCluster(endpoints["--input"]):
			return errors.New("--exactly-once: --output must be on the brokers of --input (one transaction spans one cluster)")
		case f.deadLetter != "" && (dlq == nil || !dlq.SameCluster(endpoints["--input"])):
			return errors.New("--exactly-once: --dead-letter must be a Kafka topic on the brokers of --input, or absent")
		}
		for _, name := range []string{"--output", "--dead-letter"} {
			if e := endpoints[name]; e != nil {
				if err := e.CheckOutput(endpoints["--input"]); err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
			}
		}
	}
	return nil
}

// kafkaSource returns the consumer of a Kafka --input.
func (r *runner) kafkaSource() (*pipeline.Source[visitor.Envelope], error) {
	f := r.flags
	e := f.kafkaEndpoints["--input"]
	opts := append(e.SourceOptions(), kafka.WithLogger(r.log))
	if f.untilCaughtUp {
		opts = append(opts, kafka.UntilCaughtUp())
	}
	if f.exactlyOnce {
		opts = append(opts, kafka.ExactlyOnce(e.TransactionalID))
	}
	// The drain of a stop waits at most for calls in flight to finish.
	opts = append(opts, kafka.DrainTimeout(f.timeout*time.Duration(2+2*f.retries)+10*time.Second))
	c, err := kafka.NewConsumer(e.Topic, decodeVisitorMessage("kafka:"+e.Topic), opts...)
	if err != nil {
		return nil, fmt.Errorf("--input: %w", err)
	}
	r.kafka.consumer = c
	r.kafka.collector.Consumer(c.Stats)
	r.closers = append(r.closers, func() error { c.Close(); return nil })
	return c.Source(), nil
}

// kafkaSink returns a producer sink to the topic of a Kafka --output or
// --dead-letter (flag names which).
func (r *runner) kafkaSink(flagName string, deadLetter bool) (*pipeline.Sink[visitor.Envelope], error) {
	e := r.flags.kafkaEndpoints[flagName]
	encode := encodeResult
	var sinkOpts []pipeline.SinkOption
	if deadLetter {
		encode = encodeDeadLetter
		sinkOpts = append(sinkOpts, pipeline.DeadLetter())
	}
	var p *kafka.Producer[visitor.Envelope]
	var err error
	if r.flags.exactlyOnce {
		p, err = r.kafka.consumer.NewProducer(e.Topic, encode, sinkOpts...)
	} else {
		opts := append(e.SinkOptions(), kafka.WithLogger(r.log),
			// What the producer holds unacknowledged is bounded by the
			// calls in flight, not by the topic.
			kafka.MaxBuffered(max(4*r.flags.concurrency, 1024), 8<<20))
		p, err = kafka.NewProducer(e.Topic, encode, append(opts, kafka.SinkOptions(sinkOpts...))...)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flagName, err)
	}
	r.kafka.producers = append(r.kafka.producers, p)
	r.kafka.collector.Producer(p.Stats)
	r.closers = append(r.closers, func() error { p.Close(); return nil })
	return p.Sink(), nil
}

// decodeVisitorMessage decodes a message value as a JSON lines line is
// decoded: one visitor record. What cannot be decoded keeps its raw bytes
// for the dead letter (the consumer names its topic, partition, offset).
func decodeVisitorMessage(stage string) kafka.DecodeFunc[visitor.Envelope] {
	return func(r *kgo.Record) (visitor.Envelope, error) {
		var e visitor.Envelope
		text := r.Value
		if !utf8.Valid(text) {
			e.KeepRaw(text)
			return e, visitor.Invalid(stage, 0, errors.New("the message is not UTF-8 text"))
		}
		rec, err := visitor.DecodeRecord(text)
		if err != nil {
			e.KeepRaw(text)
			return e, visitor.Invalid(stage, 0, err)
		}
		e.Record = rec
		return e, nil
	}
}

func encodeResult(dst []byte, it *visitor.Item) ([]byte, error) {
	r := visitor.NewResult(it)
	return r.AppendJSON(dst)
}

func encodeDeadLetter(dst []byte, it *visitor.Item) ([]byte, error) {
	r := visitor.NewDeadLetterRecord(it)
	return r.AppendJSON(dst)
}

// writeKafkaSummary adds the Kafka figures to the summary.
func (r *runner) writeKafkaSummary(w io.Writer) {
	c := r.kafka.consumer
	if c == nil {
		return
	}
	s := c.Stats()
	fmt.Fprintf(w, "  kafka %s (group %s): consumed %d, undecodable %d, lag %d, commits %d, rebalances %d (partitions revoked %d, lost %d)\n",
		s.Topic, s.Group, s.Consumed, s.Undecodable, s.Lag, s.Commits, s.Rebalances, s.Revoked, s.Lost)
	if r.flags.exactlyOnce {
		fmt.Fprintf(w, "  transactions: committed %d, aborted %d\n", s.TransactionsCommitted, s.TransactionsAborted)
	}
	for _, p := range r.kafka.producers {
		ps := p.Stats()
		fmt.Fprintf(w, "  kafka %s: produced %d, failed %d\n", ps.Topic, ps.Produced, ps.Failed)
	}
	if s.GivenBack > 0 {
		fmt.Fprintf(w, "  not done: %d records; they are not committed and the group reads them again\n", s.GivenBack)
	}
	r.log.Info("kafka worker finished", zap.Any("consumer", s))
}
