package stages_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/ondevice"
	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/sink"
	"github.com/targetflow/targetflow/source"
	"github.com/targetflow/targetflow/stages"
	"github.com/targetflow/targetflow/target"
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
