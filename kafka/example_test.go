package kafka_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/targetflow/targetflow/kafka"
	"github.com/targetflow/targetflow/pipeline"
)

// A worker of group "workers" reads "names", upper-cases each message and
// produces the result to "shouts", keyed as its input; it ends once the
// group has caught up with what the topic held when it started. Each item
// is acknowledged to the consumer when the brokers acknowledged its record,
// and only then is its offset committed.
func Example() {
	cluster, _ := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(2, "names", "shouts"))
	defer cluster.Close()
	brokers := cluster.ListenAddrs()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	seed, _ := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic("names"))
	for _, name := range []string{"ada", "grace", "linus"} {
		seed.ProduceSync(ctx, &kgo.Record{Key: []byte(name), Value: []byte(name)})
	}
	seed.Close()

	consumer, err := kafka.NewConsumer("names",
		func(r *kgo.Record) (string, error) { return string(r.Value), nil },
		kafka.Brokers(brokers...), kafka.Group("workers"), kafka.UntilCaughtUp())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer consumer.Close()
	producer, err := kafka.NewProducer("shouts",
		func(dst []byte, it *pipeline.Item[string]) ([]byte, error) { return append(dst, it.Value...), nil },
		kafka.Brokers(brokers...))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer producer.Close()
	upper := pipeline.NewStage("upper", func(_ context.Context, it *pipeline.Item[string]) error {
		it.Value = strings.ToUpper(it.Value)
		return nil
	})
	stats, err := pipeline.From(consumer.Source()).Via(upper).To(producer.Sink()).Run(ctx)
	fmt.Println("written:", stats.Written, "error:", err, "caught up:", consumer.CaughtUp())

	read, _ := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics("shouts"))
	defer read.Close()
	var shouts []string
	for len(shouts) < 3 {
		read.PollFetches(ctx).EachRecord(func(r *kgo.Record) { shouts = append(shouts, string(r.Key)+"→"+string(r.Value)) })
	}
	slices.Sort(shouts)
	fmt.Println(shouts)
	// Output:
	// written: 3 error: <nil> caught up: true
	// [ada→ADA grace→GRACE linus→LINUS]
}
