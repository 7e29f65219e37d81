package pipelineotel_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"

	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/pipelineotel"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// numbers is a pipeline of n numbers through a stage that fails the
// multiples of 5 and retries the multiples of 3 once.
func numbers(n int) *pipeline.Pipeline[int] {
	src := pipeline.NewSource("numbers", func(_ context.Context, emit pipeline.Emit[int]) error {
		for i := 1; i <= n; i++ {
			if !emit(&pipeline.Item[int]{Value: i}) {
				return nil
			}
		}
		return nil
	})
	check := pipeline.NewStage("check", func(ctx context.Context, it *pipeline.Item[int]) error {
		if it.Value%3 == 0 {
			pipeline.NoteRetry(ctx)
		}
		if it.Value%5 == 0 {
			return errors.New("a multiple of 5")
		}
		return nil
	})
	discard := pipeline.NewSink("discard", func(context.Context, *pipeline.Item[int]) error { return nil })
	return pipeline.From(src).Via(check).To(discard)
}

// series flattens what reader collects into name{attributes} = value,
// attributes sorted.
func series(t *testing.T, reader *sdkmetric.ManualReader) map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	key := func(name string, set attribute.Set) string {
		var parts []string
		for _, kv := range set.ToSlice() {
			parts = append(parts, string(kv.Key)+"="+kv.Value.String())
		}
		sort.Strings(parts)
		return name + "{" + strings.Join(parts, ",") + "}"
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch data := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range data.DataPoints {
					out[key(m.Name, dp.Attributes)] = float64(dp.Value)
				}
			case metricdata.Sum[float64]:
				for _, dp := range data.DataPoints {
					out[key(m.Name, dp.Attributes)] = dp.Value
				}
			case metricdata.Gauge[int64]:
				for _, dp := range data.DataPoints {
					out[key(m.Name, dp.Attributes)] = float64(dp.Value)
				}
			case metricdata.Gauge[float64]:
				for _, dp := range data.DataPoints {
					out[key(m.Name, dp.Attributes)] = dp.Value
				}
			}
		}
	}
	return out
}

func TestObserve(t *testing.T) {
	t.Parallel()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	p := numbers(30)
	reg, err := pipelineotel.Observe(mp, p.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	stats, err := p.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := series(t, reader)
	for name, want := range map[string]float64{
		"targetflow.pipeline.items{targetflow.component.kind=source,targetflow.component=numbers,targetflow.outcome=in}":   30,
		"targetflow.pipeline.items{targetflow.component.kind=stage,targetflow.component=check,targetflow.outcome=ok}":      24,
		"targetflow.pipeline.items{targetflow.component.kind=stage,targetflow.component=check,targetflow.outcome=failed}":  6,
		"targetflow.pipeline.items{targetflow.component.kind=stage,targetflow.component=check,targetflow.outcome=retried}": 10,
		"targetflow.pipeline.items{targetflow.component.kind=sink,targetflow.component=discard,targetflow.outcome=in}":     30,
		"targetflow.pipeline.component.latency.count{targetflow.component.kind=stage,targetflow.component=check}":          30,
		"targetflow.pipeline.completed{}": 30,
	} {
		if got[name] != want {
			t.Errorf("%s = %v; want %v", name, got[name], want)
		}
	}
	if got["targetflow.pipeline.throughput{}"] != stats.Throughput {
		t.Errorf("throughput %v; want the run's %v", got["targetflow.pipeline.throughput{}"], stats.Throughput)
	}
	for _, q := range []string{"0.5", "0.9", "0.99"} {
		if _, ok := got["targetflow.pipeline.item.latency{quantile="+q+"}"]; !ok {
			t.Errorf("no item latency at quantile %s", q)
		}
	}
	// The figures match the Prometheus collector's source, the snapshot.
	if s := p.Snapshot(); got["targetflow.pipeline.items{targetflow.component.kind=stage,targetflow.component=check,targetflow.outcome=in}"] != float64(s.Components[1].In) {
		t.Errorf("stage in %v; snapshot says %d", got, s.Components[1].In)
	}
	if err := reg.Unregister(); err != nil {
		t.Fatal(err)
	}
	if after := series(t, reader); len(after) != 0 {
		t.Errorf("after Unregister %d series are still observed", len(after))
	}
	if _, err := pipelineotel.Observe(nil, p.Snapshot); err == nil {
		t.Error("Observe without a meter provider succeeded")
	}
}

// A run's figures as OpenTelemetry metrics, read by a manual reader here; a
// program would give an OTLP or Prometheus exporter's reader.
func ExampleObserve() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()

	p := numbers(10)
	reg, err := pipelineotel.Observe(mp, p.Snapshot)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = reg.Unregister() }()
	if _, err := p.Run(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	check := map[string]int64{} // the stage's items by outcome
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == "targetflow.pipeline.items" {
			for _, dp := range sum.DataPoints {
				component, _ := dp.Attributes.Value(pipelineotel.AttrComponent)
				outcome, _ := dp.Attributes.Value(pipelineotel.AttrOutcome)
				if component.AsString() == "check" {
					check[outcome.AsString()] = dp.Value
				}
			}
		}
	}
	fmt.Println("in", check["in"], "ok", check["ok"], "failed", check["failed"], "retried", check["retried"])
	// Output:
	// in 10 ok 8 failed 2 retried 3
}
