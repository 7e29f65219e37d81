package kafka_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/targetflow/targetflow/internal/kafkatest"
	"github.com/targetflow/targetflow/kafka"
	"github.com/targetflow/targetflow/pipeline"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

// rec is the payload of the tests: the number an input message carries.
type rec struct {
	N   int    `json:"n"`
	Raw string `json:"-"`
}

func decodeRec(r *kgo.Record) (rec, error) {
	var v rec
	if err := json.Unmarshal(r.Value, &v); err != nil {
		return rec{Raw: string(r.Value)}, err
	}
	return v, nil
}

// result is what the tests' sinks write: the input's number and where it
// came from, or the error of a dead letter.
type result struct {
	N      int    `json:"n"`
	Worker string `json:"worker"`
	Error  string `json:"error,omitempty"`
	Raw    string `json:"raw,omitempty"`
	Kafka  struct {
		Topic     string `json:"topic"`
		Partition int32  `json:"partition"`
		Offset    int64  `json:"offset"`
	} `json:"kafka"`
	key       string
	partition int32
	offset    int64
}

func encodeFor(worker string) kafka.EncodeFunc[rec] {
	return func(dst []byte, it *pipeline.Item[rec]) ([]byte, error) {
		m := map[string]any{"n": it.Value.N, "worker": worker}
		if it.Err != nil {
			m["error"], m["raw"] = it.Err.Error(), it.Value.Raw
		}
		b, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		return append(dst, withOrigin(b, it.Pos)...), nil
	}
}

// inOutDLQ are the topics of most tests.
var inOutDLQ = []string{"in", "out", "dlq"}

// cluster starts an in-process kfake cluster of three brokers on loopback
// with the given topics, each of partitions partitions.
func cluster(t testing.TB, partitions int32, topics []string, opts ...kfake.Opt) (*kfake.Cluster, []string) {
	t.Helper()
	return kafkatest.Cluster(t, partitions, topics, opts...)
}

// produceInputs writes n records {"n":i} (i from first), keyed by
// "visitor-<i mod keys>"; bad lists numbers written as malformed JSON.
func produceInputs(t testing.TB, addrs []string, topic string, first, n, keys int, bad map[int]bool, extra ...kgo.Opt) {
	t.Helper()
	recs := make([]*kgo.Record, 0, n)
	for i := first; i < first+n; i++ {
		v := []byte(`{"n":` + strconv.Itoa(i) + `}`)
		if bad[i] {
			v = []byte(`{"n":` + strconv.Itoa(i) + `, this is not JSON`)
		}
		recs = append(recs, &kgo.Record{Key: []byte("visitor-" + strconv.Itoa(i%keys)), Value: v})
	}
	kafkatest.Produce(t, addrs, topic, recs, extra...)
}

// readAll reads every result of topic up to its current end (the last
// stable offset for read_committed).
func readAll(t testing.TB, addrs []string, topic string, readCommitted bool, extra ...kgo.Opt) []result {
	t.Helper()
	var out []result
	for _, r := range kafkatest.ReadAll(t, addrs, topic, readCommitted, extra...) {
		var res result
		if err := json.Unmarshal(r.Value, &res); err != nil {
			t.Errorf("output %s/%d@%d is not JSON: %s", r.Topic, r.Partition, r.Offset, r.Value)
		}
		res.key, res.partition, res.offset = string(r.Key), r.Partition, r.Offset
		out = append(out, res)
	}
	return out
}

// worker is one consumer-group member running a pipeline from the input
// topic to the output topic (failures to the dead-letter topic).
type worker struct {
	name     string
	consumer *kafka.Consumer[rec]
	out, dlq *kafka.Producer[rec]
	p        *pipeline.Pipeline[rec]
	stats    pipeline.Stats
	err      error
	done     chan struct{}
}

type workerConfig struct {
	addrs        []string
	in, out, dlq string
	group        string
	delay        time.Duration
	concurrency  int
	ordered      bool
	exactlyOnce  bool
	source       []kafka.SourceOpt
	sink         []kafka.SinkOpt
	stageFn      func(*pipeline.Item[rec])
}

func newWorker(t testing.TB, name string, wc workerConfig) *worker {
	t.Helper()
	opts := append([]kafka.SourceOpt{kafka.Brokers(wc.addrs...), kafka.Group(wc.group), kafka.WithLogger(testLogger(t, name)),
		kafka.RebalanceTimeout(10 * time.Second),
		kafka.CommitInterval(100 * time.Millisecond), kafka.SessionTimeout(3 * time.Second)}, wc.source...)
	if wc.exactlyOnce {
		opts = append(opts, kafka.ExactlyOnce(wc.group+"-"+name), kafka.TransactionTimeout(3*time.Second))
	}
	c, err := kafka.NewConsumer(wc.in, decodeRec, opts...)
	if err != nil {
		t.Fatal(err)
	}
	w := &worker{name: name, consumer: c, done: make(chan struct{})}
	if wc.exactlyOnce {
		w.out, err = c.NewProducer(wc.out, encodeFor(name))
		if err == nil {
			w.dlq, err = c.NewProducer(wc.dlq, encodeFor(name), pipeline.DeadLetter())
		}
	} else {
		sink := append([]kafka.SinkOpt{kafka.Brokers(wc.addrs...)}, wc.sink...)
		w.out, err = kafka.NewProducer(wc.out, encodeFor(name), sink...)
		if err == nil {
			w.dlq, err = kafka.NewProducer(wc.dlq, encodeFor(name), append(sink, kafka.SinkOptions(pipeline.DeadLetter()))...)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	stage := pipeline.NewStage("work", func(ctx context.Context, it *pipeline.Item[rec]) error {
		if wc.delay > 0 {
			select {
			case <-time.After(wc.delay):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if wc.stageFn != nil {
			wc.stageFn(it)
		}
		return nil
	}, pipeline.Concurrency(max(wc.concurrency, 1)), pipeline.Ordered(wc.ordered), pipeline.Interruptible())
	route := pipeline.Route("route", func(it *pipeline.Item[rec]) int {
		var re *kafka.RecordError
		if errors.As(it.Err, &re) {
			return 1
		}
		return 0
	}, w.out.Sink(), w.dlq.Sink())
	w.p = pipeline.From(c.Source(), pipeline.WithGrace(2*time.Second)).Via(stage).To(route)
	return w
}

// start runs the worker's pipeline in a goroutine the test owns (wait
// collects it).
func (w *worker) start(ctx context.Context, wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(w.done)
		w.stats, w.err = w.p.Run(ctx)
		w.out.Close()
		w.dlq.Close()
		w.consumer.Close()
	}()
}

// severable is a dialer whose connections can all be cut at once, and
// dials refused until healed: a worker whose network is gone looks dead to
// the cluster.
type severable struct {
	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

func (s *severable) dial(ctx context.Context, network, host string) (net.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cut {
		return nil, errors.New("severed")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, host)
	if err == nil {
		s.conns = append(s.conns, conn)
	}
	return conn, err
}

func (s *severable) sever() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cut = true
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

func (s *severable) heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cut = false
}

// count returns how many times each input number appears in results.
func count(results []result) map[int]int {
	seen := map[int]int{}
	for _, r := range results {
		seen[r.N]++
	}
	return seen
}

// waitFor polls cond every 10ms until it holds or the deadline passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testLogger logs to the test when TEST_KAFKA_LOG is set (to "debug": kgo's
// logs too).
func testLogger(t testing.TB, name string) *zap.Logger {
	if path := os.Getenv("TEST_KAFKA_LOGFILE"); path != "" {
		cfg := zap.NewDevelopmentConfig()
		cfg.OutputPaths = []string{path}
		l, err := cfg.Build()
		if err != nil {
			t.Fatal(err)
		}
		return l.Named(name)
	}
	if os.Getenv("TEST_KAFKA_LOG") == "" {
		return zap.NewNop()
	}
	level := zap.InfoLevel
	if os.Getenv("TEST_KAFKA_LOG") == "debug" {
		level = zap.DebugLevel
	}
	return zaptest.NewLogger(t, zaptest.Level(level)).Named(name)
}

// appendOrigin appends the JSON member naming the Kafka record an item came
// from, `"kafka":{"topic":"…","partition":N,"offset":N}`, to dst. Topic
// names hold only letters, digits, '.', '_' and '-', so they need no
// escaping.
func appendOrigin(dst []byte, pos pipeline.Position) []byte {
	dst = append(dst, `"kafka":{"topic":"`...)
	dst = append(dst, pos.Stream...)
	dst = append(dst, `","partition":`...)
	dst = strconv.AppendInt(dst, int64(pos.Partition), 10)
	dst = append(dst, `,"offset":`...)
	dst = strconv.AppendInt(dst, pos.Offset, 10)
	return append(dst, '}')
}

// withOrigin returns (the tests' encoders mark each result with where its
// input came from) the JSON object obj (one line, a trailing newline
// allowed) with the origin member of pos added as its last member; obj is
// returned unchanged when it is not an object or pos names no topic.
func withOrigin(obj []byte, pos pipeline.Position) []byte {
	body := bytes.TrimRight(obj, "\n")
	if pos.Stream == "" || len(body) < 2 || body[0] != '{' || body[len(body)-1] != '}' {
		return obj
	}
	out := make([]byte, 0, len(obj)+64)
	out = append(out, body[:len(body)-1]...)
	if len(body) > 2 {
		out = append(out, ',')
	}
	out = appendOrigin(out, pos)
	out = append(out, '}')
	return append(out, obj[len(body):]...)
}
