package stages_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/internal/bench/standin"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/ondevice"
	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/sink"
	"github.com/targetflow/targetflow/source"
	"github.com/targetflow/targetflow/stages"
	"github.com/targetflow/targetflow/target"
	"github.com/targetflow/targetflow/visitor"
)

// engineOffers answers GetOffers from an on-device engine alone: the
// decision path of an on-device client without its notification sends.
type engineOffers struct{ engine *ondevice.Engine }

func (e engineOffers) GetOffers(ctx context.Context, opts target.GetOffersOptions) (*target.Response, error) {
	d, err := e.engine.Decide(ctx, opts.Request)
	if err != nil {
		return nil, err
	}
	return &target.Response{Request: d.Request, Response: d.Response}, nil
}

func onDeviceEngine(b *testing.B) *ondevice.Engine {
	b.Helper()
	engine, err := ondevice.New(
		ondevice.WithClient(demo.Client),
		ondevice.WithOrganizationID(demo.OrganizationID),
		ondevice.WithArtifactPayload(demo.Artifact()),
		ondevice.WithPollingInterval(0),
		ondevice.WithTelemetry(false),
	)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = engine.Close() })
	return engine
}

// BenchmarkOnDevicePipeline measures on-device decisioning through the
// pipeline with JSON lines in and out: JSONL source -> BuildRequest ->
// Deliver (on-device engine, 2 mboxes) -> JSONL sink. Target: at least
// 50,000 visitors/s on 2 cores.
func BenchmarkOnDevicePipeline(b *testing.B) {
	engine := onDeviceEngine(b)
	var input bytes.Buffer
	for i := range b.N {
		fmt.Fprintf(&input, `{"id":{"tntId":"%032x"}}`+"\n", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	stats, err := pipeline.From(source.JSONL(&input)).
		Via(
			stages.BuildRequest(stages.RequestDefaults{Execute: []string{demo.MboxHero, demo.MboxCart}}),
			stages.Deliver(engineOffers{engine}, stages.WithConcurrency(4)),
		).
		To(sink.JSONL(io.Discard)).Run(context.Background())
	b.StopTimer()
	if err != nil || stats.OK != int64(b.N) {
		b.Fatalf("ok %d of %d: %v", stats.OK, b.N, err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "visitors/s")
}

// BenchmarkOnDeviceFile streams the JSON lines file named by
// TARGETFLOW_BENCH_INPUT through the same pipeline, for measuring peak
// memory with /usr/bin/time -v: memory must not grow with the input.
// Run it once (-test.benchtime 1x); each run streams the whole file.
func BenchmarkOnDeviceFile(b *testing.B) {
	path := os.Getenv("TARGETFLOW_BENCH_INPUT")
	if path == "" {
		b.Skip("set TARGETFLOW_BENCH_INPUT to a JSON lines file of visitors")
	}
	engine := onDeviceEngine(b)
	b.ReportAllocs()
	for b.Loop() {
		stats, err := pipeline.From(source.JSONLFile(path)).
			Via(
				stages.BuildRequest(stages.RequestDefaults{Execute: []string{demo.MboxHero, demo.MboxCart}}),
				stages.Deliver(engineOffers{engine}, stages.WithConcurrency(4)),
			).
			To(sink.JSONL(io.Discard)).Run(context.Background())
		if err != nil || stats.Failed != 0 {
			b.Fatalf("failed %d: %v", stats.Failed, err)
		}
		b.ReportMetric(stats.Throughput, "visitors/s")
		b.ReportMetric(float64(stats.Written), "visitors")
	}
}

// BenchmarkServerSidePipeline is what targetflow run --execute hero,cart
// does per visitor beyond net/http's connections: a JSON lines source,
// BuildRequest, Deliver through a target.Client (telemetry on) whose
// transport answers from memory, Notify (nothing owed), a Tap, and the
// JSON lines sink. It reports process CPU per visitor (cpu-µs/visitor).
func BenchmarkServerSidePipeline(b *testing.B) {
	client, err := target.New(target.WithClient(demo.Client), target.WithOrganizationID(demo.OrganizationID),
		target.WithTransport(standin.Memory(standin.Answer)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = client.Close() })
	var input bytes.Buffer
	for i := range b.N {
		fmt.Fprintf(&input, `{"id":{"tntId":"%032x"}}`+"\n", i+1)
	}
	var seen atomic.Int64
	call := []stages.CallOption{stages.WithConcurrency(8), stages.WithTimeout(benchTimeout)}
	deliverOpts := []stages.DeliverOption{stages.WithDecisioning(delivery.DecisioningServerSide)}
	notifyOpts := []stages.NotifyOption{}
	for _, o := range call {
		deliverOpts, notifyOpts = append(deliverOpts, o), append(notifyOpts, o)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	stats, err := pipeline.From(source.JSONL(&input)).
		Via(
			stages.BuildRequest(stages.RequestDefaults{Execute: []string{"hero", "cart"}}),
			stages.Deliver(client, deliverOpts...),
			stages.Notify(client, notifyOpts...),
			stages.Tap("count", func(*visitor.Item) { seen.Add(1) }),
		).
		To(sink.JSONL(io.Discard)).Run(context.Background())
	used := processCPU() - cpu
	b.StopTimer()
	if err != nil || stats.OK != int64(b.N) || seen.Load() != int64(b.N) {
		b.Fatalf("ok %d of %d: %v", stats.OK, b.N, err)
	}
	b.ReportMetric(float64(used.Nanoseconds())/1e3/float64(b.N), "cpu-µs/visitor")
}

// processCPU is the process's user and system CPU time so far.
func processCPU() time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

var benchTimeout = 3 * time.Second
