package kafkatest_test

import (
	"fmt"
	"log"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/targetflow/targetflow/internal/kafkatest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// exampleT runs an example's cleanups when it is done.
type exampleT struct{ cleanups []func() }

func (*exampleT) Helper()                        {}
func (*exampleT) Fatal(args ...any)              { log.Fatal(args...) }
func (*exampleT) Fatalf(format string, a ...any) { log.Fatalf(format, a...) }
func (e *exampleT) Cleanup(f func())             { e.cleanups = append(e.cleanups, f) }
func (e *exampleT) done() {
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
}

// A topic seeded and read back to its end on a cluster of three brokers.
func Example() {
	t := &exampleT{}
	defer t.done()
	_, addrs := kafkatest.Cluster(t, 3, []string{"greetings"})
	kafkatest.Produce(t, addrs, "greetings", []*kgo.Record{{Key: []byte("a"), Value: []byte("hello")}, {Key: []byte("a"), Value: []byte("world")}})
	for _, r := range kafkatest.ReadAll(t, addrs, "greetings", true) {
		fmt.Println(string(r.Value))
	}
	fmt.Println(len(addrs), "brokers")
	// Output:
	// hello
	// world
	// 3 brokers
}
