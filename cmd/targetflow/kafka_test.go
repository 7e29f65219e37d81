package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/targetflow/targetflow/internal/kafkatest"
)

// kafkaResult is what the Kafka tests read of a result or a dead letter.
type kafkaResult struct {
	result
	Kind  string `json:"kind"` // dead letters
	Raw   string `json:"raw"`  // dead letters
	Err   any    `json:"error"`
	Kafka *struct {
		Topic     string `json:"topic"`
		Partition int32  `json:"partition"`
		Offset    int64  `json:"offset"`
	} `json:"kafka"`
	key string
}

// kafkaCluster starts an in-process kfake cluster of three brokers on
// loopback with the given topics, and returns its addresses as a URL's.
func kafkaCluster(t testing.TB, partitions int32, topics ...string) (*kfake.Cluster, string) {
	t.Helper()
	c, addrs := kafkatest.Cluster(t, partitions, topics)
	return c, strings.Join(addrs, ",")
}

// produceVisitors writes n visitor records (tntId v<i>, keyed by it) to
// topic; those in bad are not JSON.
func produceVisitors(t testing.TB, brokers, topic string, n int, bad map[int]bool) {
	t.Helper()
	recs := make([]*kgo.Record, 0, n)
	for i := range n {
		id := fmt.Sprintf("v%d", i)
		v := fmt.Sprintf(`{"id":{"tntId":%q}}`, id)
		if bad[i] {
			v = fmt.Sprintf(`{"id":{"tntId":%q} not JSON`, id)
		}
		recs = append(recs, &kgo.Record{Key: []byte(id), Value: []byte(v)})
	}
	kafkatest.Produce(t, strings.Split(brokers, ","), topic, recs)
}

// readTopic reads every result of topic up to its end (read_committed: its
// last stable offset).
func readTopic(t testing.TB, brokers, topic string, readCommitted bool) []kafkaResult {
	t.Helper()
	var out []kafkaResult
	for _, r := range kafkatest.ReadAll(t, strings.Split(brokers, ","), topic, readCommitted) {
		var res kafkaResult
		if err := json.Unmarshal(r.Value, &res); err != nil {
			t.Fatalf("%s/%d@%d is not JSON: %v: %s", r.Topic, r.Partition, r.Offset, err, r.Value)
		}
		res.key = string(r.Key)
		out = append(out, res)
	}
	return out
}

// byInput counts results per input record (topic/partition/offset).
func byInput(rs []kafkaResult) map[string]int {
	seen := map[string]int{}
	for _, r := range rs {
		if r.Kafka != nil {
			seen[fmt.Sprintf("%s/%d/%d", r.Kafka.Topic, r.Kafka.Partition, r.Kafka.Offset)]++
		}
	}
	return seen
}

func committedTotal(t testing.TB, brokers, group, topic string) int64 {
	t.Helper()
	return kafkatest.Committed(t, strings.Split(brokers, ","), group, topic)
}

// Kafka to Kafka, one worker, until caught up: one result per record, keyed
// as its input and naming it; malformed messages dead-lettered, naming
// theirs; the summary shows the consumer's figures; exit 0.
func TestRunKafkaToKafka(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, exactlyOnce := range []bool{false, true} {
		t.Run(fmt.Sprintf("exactly-once=%t", exactlyOnce), func(t *testing.T) {
			const n = 600
			_, brokers := kafkaCluster(t, 6, "visitors", "results", "dead")
			bad := map[int]bool{3: true, 300: true}
			produceVisitors(t, brokers, "visitors", n, bad)
			args := []string{"--input", "kafka://" + brokers + "/visitors?group=workers", "--output", "kafka://" + brokers + "/results",
				"--dead-letter", "kafka://" + brokers + "/dead", "--until-caught-up", "--execute", "hero", "--concurrency", "32", "--progress"}
			if exactlyOnce {
				args = append(args, "--exactly-once")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			code, _, stderr := runCLI(t, ctx, args, nil, false)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, want := range []string{"visitors (kafka lag", "kafka visitors (group workers): consumed 600, undecodable 2, lag 0", "kafka results: produced 598", "kafka dead: produced 2"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("summary lacks %q:\n%s", want, stderr)
				}
			}
			results := readTopic(t, brokers, "results", true)
			dead := readTopic(t, brokers, "dead", true)
			if len(results) != n-len(bad) || len(dead) != len(bad) {
				t.Fatalf("%d results, %d dead letters", len(results), len(dead))
			}
			for in, k := range byInput(append(results, dead...)) {
				if k != 1 {
					t.Errorf("input %s: %d outputs", in, k)
				}
			}
			for _, r := range results {
				if !r.OK || r.Kafka == nil || r.Kafka.Topic != "visitors" || !strings.HasPrefix(r.key, "v") {
					t.Fatalf("result %+v key %q", r, r.key)
				}
			}
			for _, d := range dead {
				if d.Kind != "invalid" || !strings.Contains(d.Raw, "not JSON") || d.Kafka == nil ||
					!strings.Contains(fmt.Sprint(d.Err), fmt.Sprintf("topic visitors partition %d offset %d", d.Kafka.Partition, d.Kafka.Offset)) {
					t.Errorf("dead letter %+v", d)
				}
			}
			if got := committedTotal(t, brokers, "workers", "visitors"); got != n {
				t.Errorf("committed %d of %d", got, n)
			}
		})
	}
}

// Kafka and files mix: a Kafka input to a JSON lines file (the results name
// their Kafka record), a file to a Kafka output.
func TestRunKafkaAndFiles(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after the cluster's cleanup
	_, brokers := kafkaCluster(t, 3, "visitors", "results")
	produceVisitors(t, brokers, "visitors", 200, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := writeFile(t, "out.jsonl", "")
	code, _, stderr := runCLI(t, ctx, []string{"--input", "kafka://" + brokers + "/visitors?group=g", "--output", out, "--until-caught-up", "--execute", "hero"}, nil, false)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	data, _ := os.ReadFile(out)
	var n int
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var r kafkaResult
		if err := json.Unmarshal([]byte(line), &r); err != nil || r.Kafka == nil || !r.OK {
			t.Fatalf("line %q: %v", line, err)
		}
		n++
	}
	if n != 200 {
		t.Errorf("%d lines", n)
	}
	in := writeFile(t, "in.jsonl", visitorLines(150, func(i int) string { return fmt.Sprintf(`{"id":{"tntId":"f%d"}}`, i) }))
	code, _, stderr = runCLI(t, ctx, []string{"--input", in, "--output", "kafka://" + brokers + "/results", "--execute", "hero"}, nil, false)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if rs := readTopic(t, brokers, "results", false); len(rs) != 150 || rs[0].Kafka != nil {
		t.Errorf("%d results from the file", len(rs))
	}
}

func TestRunKafkaUsageErrors(t *testing.T) {
	t.Parallel()
	k := "kafka://127.0.0.1:9092/"
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--input", k + "in"}, "needs a consumer group"},
		{[]string{"--input", k + "in?group=g", "--format", "csv"}, "--format csv"},
		{[]string{"--input", k + "in?group=g", "--checkpoint", "cp.json", "--output", "o.jsonl"}, "committed offsets"},
		{[]string{"--input", k + "in?group=g", "--skip", "3"}, "--skip"},
		{[]string{"--until-caught-up"}, "needs a Kafka --input"},
		{[]string{"--input", k + "in?group=g", "--exactly-once", "--output", "o.jsonl"}, "needs a Kafka --output"},
		{[]string{"--input", k + "in?group=g", "--exactly-once", "--output", "kafka://127.0.0.1:9093/out"}, "on the brokers of --input"},
		{[]string{"--input", k + "in?group=g", "--exactly-once", "--output", k + "out", "--dead-letter", "d.jsonl"}, "--dead-letter must be a Kafka topic"},
		{[]string{"--input", k + "in?group=g&password=hunter2"}, "shows in ps"},
		{[]string{"--input", k + "in?group=g&colour=red"}, `colour "red": unknown parameter`},
		{[]string{"--input", "kafka:///in?group=g"}, "names no broker"},
		{[]string{"--input", k + "in?group=g&sasl=SCRAM-SHA-256&user=u&password-env=TARGETFLOW_TEST_NO_SUCH_VAR"}, "needs a password in $TARGETFLOW_TEST_NO_SUCH_VAR"},
		{[]string{"--output", k + "bad/topic"}, "not allowed in a topic name"},
		{[]string{"--input", k + "in?group=g&linger=50ms"}, `--input: kafka: linger "50ms": a producer's parameter`},
		{[]string{"--output", k + "out?group=g"}, `--output: kafka: group "g": a consumer's parameter`},
		{[]string{"--input", k + "in?group=g", "--dead-letter", k + "dlq?isolation=read_uncommitted"}, `--dead-letter: kafka: isolation "read_uncommitted": a consumer's parameter`},
		{[]string{"--input", k + "in?group=g", "--exactly-once", "--output", k + "out?linger=50ms"}, `--output: kafka: linger "50ms": exactly-once produces through the input's client`},
		{[]string{"--input", k + "in?group=g", "--exactly-once", "--output", k + "out?client-id=x"}, `--output: kafka: client-id "x": exactly-once produces through the input's client`},
		{[]string{"--input", k + "in?group=g&tls=true", "--exactly-once", "--output", k + "out?tls=false"}, `--output: kafka: tls "false": exactly-once produces through the input's client`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runCLI(t, context.Background(), tt.args, nil, false)
			if code != exitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, exitUsage, tt.want)
			}
		})
	}
}

// A worker started without --until-caught-up runs until SIGTERM, then
// drains: it finishes and commits the records it took, leaves its group
// and exits 0. A second worker then does the rest without repeating any.
// During the run /metrics has the Kafka figures.
func TestRunKafkaWorkerDrainsOnSIGTERM(t *testing.T) {
	_, brokers := kafkaCluster(t, 4, "visitors", "results")
	const n = 3000
	produceVisitors(t, brokers, "visitors", n, nil)
	edgeAddr := faultyEdge(t)
	args := []string{"--input", "kafka://" + brokers + "/visitors?group=g&session-timeout=3s", "--output", "kafka://" + brokers + "/results",
		"--server-domain", edgeAddr, "--insecure", "--client", "targetflow-demo", "--organization-id", "7A1B2C3D4E5F60718293A4B5@AdobeOrg",
		"--execute", "hero", "--concurrency", "8", "--metrics-addr", "127.0.0.1:0"}
	cmd := cliCommand(t, args...)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	var metrics string
	for time.Now().Before(deadline) {
		if addr, ok := strings.CutPrefix(firstLineWith(stderr.String(), "metrics on http://"), "targetflow run: metrics on http://"); ok {
			if m := scrape(t, "http://"+addr); strings.Contains(m, "targetflow_kafka_consumed_records_total") && !strings.Contains(m, `consumed_records_total{topic="visitors"} 0`) {
				metrics = m
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{"targetflow_kafka_consumer_lag{partition=", "targetflow_kafka_commits_total", "targetflow_kafka_rebalances_total",
		"targetflow_kafka_produce_errors_total", "targetflow_kafka_consumer_in_flight_records", "targetflow_kafka_producer_in_flight_records"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s:\n%s", want, metrics)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(cmd.Wait()); code != exitOK {
		t.Fatalf("drained worker: exit %d\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "draining") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	first := len(readTopic(t, brokers, "results", false))
	if got := committedTotal(t, brokers, "g", "visitors"); got != int64(first) || first == 0 || first == n {
		t.Fatalf("the drained worker wrote %d results and committed %d (of %d)", first, got, n)
	}
	code, _, errOut := runCLI(t, context.Background(), append(args[:len(args)-2], "--until-caught-up"), nil, false)
	if code != exitOK {
		t.Fatalf("second worker: exit %d: %s", code, errOut)
	}
	for in, k := range byInput(readTopic(t, brokers, "results", false)) {
		if k != 1 {
			t.Errorf("input %s answered %d times", in, k)
		}
	}
}

func firstLineWith(s, sub string) string {
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, sub) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// Three exactly-once workers, SIGKILLed at random moments and restarted,
// with rebalances all along; read read_committed, the output holds each
// input record's result exactly once.
func TestRunKafkaExactlyOnceAcrossSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("kills real workers for about a minute")
	}
	_, brokers := kafkaCluster(t, 6, "visitors", "results")
	const n = 6000
	produceVisitors(t, brokers, "visitors", n, nil)
	edgeAddr := faultyEdge(t)
	args := func(worker int) []string {
		return []string{"--input", fmt.Sprintf("kafka://%s/visitors?group=g&session-timeout=2s&rebalance-timeout=4s&transaction-timeout=3s&transactional-id=worker-%d", brokers, worker),
			"--output", "kafka://" + brokers + "/results", "--exactly-once",
			"--server-domain", edgeAddr, "--insecure", "--client", "targetflow-demo", "--organization-id", "7A1B2C3D4E5F60718293A4B5@AdobeOrg",
			"--execute", "hero", "--concurrency", "16"}
	}
	kills := 0
	start := time.Now()
	for round := range 3 {
		if round > 0 {
			// As a restart takes: the group notices the dead (session
			// timeout 2s) before the new join, which would otherwise wait
			// for them for the rebalance timeout.
			time.Sleep(2500 * time.Millisecond)
		}
		var cmds []*os.Process
		for w := range 3 {
			cmd := cliCommand(t, args(w)...)
			cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			cmds = append(cmds, cmd.Process)
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		}
		// Kill them one after the other, mid-transaction.
		for i, p := range cmds {
			time.Sleep(time.Duration(700+300*((round+i)%3)) * time.Millisecond)
			if err := p.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			kills++
		}
	}
	// The last worker (the same transactional id as a killed one, which
	// aborts what that one left open) finishes the topic.
	time.Sleep(2500 * time.Millisecond)
	killed := time.Since(start)
	// A worker may fail for good (fenced by the brokers after a storm of
	// retries on a loaded machine): an operator restarts it, and so does
	// the test, a few times; what matters is what the output holds.
	for attempt := 1; ; attempt++ {
		code, _, stderr := runCLI(t, context.Background(), append(args(0), "--until-caught-up"), nil, false)
		if code == exitOK {
			break
		}
		if attempt == 3 {
			t.Fatalf("last worker: exit %d: %s", code, stderr)
		}
		t.Logf("last worker, attempt %d: exit %d: %s", attempt, code, lastLine(stderr, "targetflow run: "))
	}
	t.Logf("kills for %v, then the last worker for %v", killed, time.Since(start)-killed)
	results := readTopic(t, brokers, "results", true)
	seen := byInput(results)
	if len(seen) != n {
		t.Errorf("%d of %d inputs answered", len(seen), n)
	}
	for in, k := range seen {
		if k != 1 {
			t.Errorf("input %s answered %d times", in, k)
		}
	}
	all := len(readTopic(t, brokers, "results", false))
	t.Logf("%d kills; read_committed sees %d results for %d inputs; read_uncommitted %d (aborted transactions' included)", kills, len(results), n, all)
}

// lastLine returns the last line of s starting with prefix.
func lastLine(s, prefix string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(strings.TrimSpace(lines[i]), prefix) {
			return strings.TrimSpace(lines[i])
		}
	}
	return ""
}
