package targetotel_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/internal/bench/standin"
	"github.com/targetflow/targetflow/target"
	"github.com/targetflow/targetflow/targetotel"
)

const twoMboxAnswer = `{"status":200,"requestId":"4b8f5c6e-1f2a-4c3d-9e8f-7a6b5c4d3e2f","client":"acme",
"id":{"tntId":"338e3c1e51f7416a8e1ccba4f81acea0.28_0"},"edgeHost":"mboxedge28.tt.omtrdc.net",
"execute":{"mboxes":[
 {"index":1,"name":"hero","options":[{"type":"json","content":{"title":"Winter sale","discount":20},
  "responseTokens":{"activity.id":"125874","experience.name":"Experience B"}}],"metrics":[{"type":"click","eventToken":"z4uQv+9/L2TFSWDfd7MPmg=="}]},
 {"index":2,"name":"footer","options":[{"type":"html","content":"<div>Free shipping</div>","responseTokens":{"activity.id":"125875"}}]}]}}`

// discard is a span exporter that drops what it is given.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// BenchmarkGetOffersServerSide is target's benchmark of the same name
// (2 mboxes, answered from memory, telemetry off), without hooks and with
// the OpenTelemetry instrumentation: metrics aggregated by a reader, and
// spans not made (a no-op tracer), sampled for 1% of the calls, or for
// every call (the SDK's default sampler), through a batch span processor.
// The differences are the instrumentation's cost per call.
func BenchmarkGetOffersServerSide(b *testing.B) {
	request := &delivery.DeliveryRequest{
		Context: &delivery.Context{Channel: delivery.ChannelWeb, Address: &delivery.Address{URL: "https://www.acme.com/winter"}},
		Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Name: "hero", Index: 1}, {Name: "footer", Index: 2}}},
	}
	for _, bc := range []struct {
		name  string
		hooks func(b *testing.B) []target.Option
	}{
		{"no-hooks", func(*testing.B) []target.Option { return nil }},
		{"otel-unsampled", func(b *testing.B) []target.Option {
			inst, err := targetotel.New(targetotel.WithTracerProvider(noop.NewTracerProvider()), targetotel.WithMeterProvider(sdkmetric.NewMeterProvider()))
			if err != nil {
				b.Fatal(err)
			}
			return []target.Option{target.WithHooks(inst)}
		}},
		{"otel-sampled-1%", func(b *testing.B) []target.Option {
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}),
				sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01))))
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
			b.Cleanup(func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
			inst, err := targetotel.New(targetotel.WithTracerProvider(tp), targetotel.WithMeterProvider(mp))
			if err != nil {
				b.Fatal(err)
			}
			return []target.Option{target.WithHooks(inst)}
		}},
		{"otel", func(b *testing.B) []target.Option {
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}))
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
			b.Cleanup(func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
			inst, err := targetotel.New(targetotel.WithTracerProvider(tp), targetotel.WithMeterProvider(mp))
			if err != nil {
				b.Fatal(err)
			}
			return []target.Option{target.WithHooks(inst)}
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := target.New(append([]target.Option{target.WithClient("acme"), target.WithOrganizationID("ACME@AdobeOrg"),
				target.WithTransport(standin.Memory(twoMboxAnswer)), target.WithTelemetry(false)}, bc.hooks(b)...)...)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			opts := target.GetOffersOptions{Request: request,
				TargetCookie: "session#9f3c2b1a-5d4e-4f6a-8b7c-1d2e3f4a5b6c#9999999999|PC#338e3c1e51f7416a8e1ccba4f81acea0.28_0#9999999999"}
			ctx := b.Context()
			b.ReportAllocs()
			start := processCPU(b)
			for b.Loop() {
				if _, err := c.GetOffers(ctx, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op")
		})
	}
}

func processCPU(b *testing.B) time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		b.Fatal(err)
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}
