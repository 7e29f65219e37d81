package kafka_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/targetflow/targetflow/internal/stalled"
	"github.com/targetflow/targetflow/kafka"
	"github.com/targetflow/targetflow/pipeline"
)

// Against brokers that accept connections and never answer, the
// constructors return at once, a run fails after ConnectTimeout naming the
// brokers, and Close leaves nothing behind (goleak, in TestMain).
func TestStalledBrokers(t *testing.T) {
	t.Parallel()
	addr := strings.TrimPrefix(stalled.URL(t), "http://")
	c, err := kafka.NewConsumer("in", decodeRec, kafka.Brokers(addr), kafka.Group("g"), kafka.ConnectTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	p, err := kafka.NewProducer("out", encodeFor("w"), kafka.Brokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = pipeline.From(c.Source()).To(p.Sink()).Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "no broker of ["+addr+"] answered within 1s") {
		t.Errorf("run: %v", err)
	}
	p.Close()
	c.Close()

	// Never run: Close alone ends the client.
	idle, err := kafka.NewConsumer("in", decodeRec, kafka.Brokers(addr), kafka.Group("g2"))
	if err != nil {
		t.Fatal(err)
	}
	idle.Close()
}
