package kafkatest

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// T is what the helpers need of a test (a *testing.T or *testing.B).
type T interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Brokers is how many brokers Cluster starts.
const Brokers = 3

// Cluster starts a kfake cluster of Brokers brokers on 127.0.0.1 with the
// given topics of partitions partitions each; it is closed when the test
// ends. Group session timeouts down to 100ms are allowed.
func Cluster(t T, partitions int32, topics []string, opts ...kfake.Opt) (*kfake.Cluster, []string) {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(Brokers), kfake.SeedTopics(partitions, topics...),
		kfake.GroupMinSessionTimeout(100 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, c.ListenAddrs()
}

// Produce writes records to topic and waits for the brokers' acks.
func Produce(t T, addrs []string, topic string, records []*kgo.Record, opts ...kgo.Opt) {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(topic),
		kgo.ProducerLinger(5 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for i := 0; i < len(records); i += 10000 {
		if err := cl.ProduceSync(ctx, records[i:min(i+10000, len(records))]...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

// ReadAll returns every data record of topic up to its current end (for
// read_committed, its last stable offset), in partition order.
func ReadAll(t T, addrs []string, topic string, readCommitted bool, opts ...kgo.Opt) []*kgo.Record {
	t.Helper()
	// Transaction markers are kept: a partition may end with one.
	all := []kgo.Opt{kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(topic), kgo.KeepControlRecords()}
	if readCommitted {
		all = append(all, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl, err := kgo.NewClient(append(all, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	adm := kadm.NewClient(cl)
	list := adm.ListEndOffsets
	if readCommitted {
		list = adm.ListCommittedOffsets
	}
	ends, err := list(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	left := map[int32]int64{}
	for p, o := range ends[topic] {
		if o.Offset > 0 {
			left[p] = o.Offset
		}
	}
	var out []*kgo.Record
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("reading %s: %v (still to read: %v)", topic, err, left)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset+1 >= left[r.Partition] {
				delete(left, r.Partition)
			}
			if !r.Attrs.IsControl() {
				out = append(out, r)
			}
		})
	}
	return out
}

// GroupOffsets returns the offsets group committed for topic's partitions.
func GroupOffsets(t T, addrs []string, group, topic string, opts ...kgo.Opt) map[int32]int64 {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addrs...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	offs, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	for p, o := range offs[topic] {
		out[p] = o.At
	}
	return out
}

// Committed returns the sum of group's committed offsets of topic: how
// many records it committed when the topic started at offset 0.
func Committed(t T, addrs []string, group, topic string) int64 {
	t.Helper()
	var total int64
	for _, o := range GroupOffsets(t, addrs, group, topic) {
		total += o
	}
	return total
}
