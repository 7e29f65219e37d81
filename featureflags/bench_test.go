package featureflags_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/featureflags"
	"github.com/targetflow/targetflow/internal/bench/standin"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/ondevice"
	"github.com/targetflow/targetflow/target"
)

// notificationsAnswer is what a Delivery API answers a notification call;
// the benchmark's client gets it from memory (standin.Memory), so that it
// measures the evaluation and not a server.
const notificationsAnswer = `{"status":200}`

// BenchmarkEvaluation compares, on-device, one flag evaluation through
// OpenFeature (the go-sdk's client, this provider) with the GetAttributes
// call it makes, side by side:
//
//   - prefetch: impressions deduplicated (the provider prefetches the mbox
//     and, for a visitor already counted, sends nothing), against
//     GetAttributes of the same prefetch request;
//   - execute: every evaluation an impression (the client sends a display
//     notification, answered from memory), against GetAttributes;
//   - floor: the go-sdk's client against a provider that answers a
//     constant, the share of an evaluation no provider can save;
//   - floor/ratio: the go-sdk's client against a provider that calls
//     GetAttributes (the prefetch request) and does nothing else,
//     alternated with the direct call: the ratio no provider built on
//     GetAttributes can beat;
//   - ratio (per mode): GetAttributes and OpenFeature alternated in one
//     loop, reporting their ratio, steadier than two sub-benchmarks'.
//
// Targets: OpenFeature ≤ 1.5× GetAttributes, and ≤ 10 µs.
func BenchmarkEvaluation(b *testing.B) {
	const tntID = "338e3c1e51f7416a8e1ccba4f81acea0.28_0"
	for _, mode := range []string{"prefetch", "execute"} {
		client, err := target.New(target.WithClient(demo.Client), target.WithOrganizationID(demo.OrganizationID),
			target.WithDecisioningMethod(delivery.DecisioningOnDevice), target.WithTelemetry(false),
			target.WithOnDevice(ondevice.WithArtifactPayload(demo.Artifact())), target.WithTransport(standin.Memory(notificationsAnswer)))
		if err != nil {
			b.Fatal(err)
		}
		var opts []featureflags.Option
		request := &delivery.DeliveryRequest{ID: &delivery.VisitorID{TntID: tntID}, Context: &delivery.Context{Channel: delivery.ChannelWeb}}
		if mode == "prefetch" {
			opts = append(opts, featureflags.WithImpressionDeduplication(1000))
			request.Prefetch = &delivery.PrefetchRequest{Mboxes: []delivery.MboxRequest{{Name: demo.MboxFeatureFlags, Index: 1}}}
		}
		api := isolated.NewAPI()
		if err := api.SetProviderAndWait(context.Background(), featureflags.NewProvider(client, append(opts, featureflags.WithMbox(demo.MboxFeatureFlags))...)); err != nil {
			b.Fatal(err)
		}
		flags := api.NewClient()
		visitor := openfeature.NewEvaluationContext(tntID, nil)

		// getAttributes is the direct call: GetAttributes of the request,
		// and the flag read from its answer.
		getAttributes := func(ctx context.Context) (bool, error) {
			attrs, err := client.GetAttributes(ctx, []string{demo.MboxFeatureFlags}, target.GetOffersOptions{Request: request})
			if err != nil {
				return false, err
			}
			return attrs.Bool(demo.MboxFeatureFlags, "showReviews")
		}
		direct := func(b *testing.B, ctx context.Context) {
			if on, err := getAttributes(ctx); err != nil || !on {
				b.Fatal("showReviews", on, err)
			}
		}
		b.Run(mode+"/GetAttributes", func(b *testing.B) {
			ctx := b.Context()
			measure(b, func() { direct(b, ctx) })
		})
		b.Run(mode+"/OpenFeature", func(b *testing.B) {
			ctx := b.Context()
			measure(b, func() {
				if on, err := flags.BooleanValue(ctx, "showReviews", false, visitor); err != nil || !on {
					b.Fatal("showReviews", on, err)
				}
			})
		})
		// ratio: the two alternated in batches of 64 inside one loop, so
		// that the machine's drift from one sub-benchmark to the next
		// falls on both alike; reports OpenFeature's time over
		// GetAttributes' (the target's measure) and each one's ns/call.
		b.Run(mode+"/ratio", func(b *testing.B) {
			ctx := b.Context()
			alternate(b, func() { direct(b, ctx) }, func() {
				if on, err := flags.BooleanValue(ctx, "showReviews", false, visitor); err != nil || !on {
					b.Fatal("showReviews", on, err)
				}
			})
		})
		if mode == "prefetch" {
			floorAPI := isolated.NewAPI()
			if err := floorAPI.SetProviderAndWait(context.Background(), &gaProvider{newConstantProvider(), getAttributes}); err != nil {
				b.Fatal(err)
			}
			floorFlags := floorAPI.NewClient()
			b.Run("floor/ratio", func(b *testing.B) {
				ctx := b.Context()
				alternate(b, func() { direct(b, ctx) }, func() {
					if on, err := floorFlags.BooleanValue(ctx, "showReviews", false, visitor); err != nil || !on {
						b.Fatal("showReviews", on, err)
					}
				})
			})
			_ = floorAPI.Shutdown(context.Background())
		}
		_ = api.Shutdown(context.Background())
		_ = client.Close()
	}
	// floor: the go-sdk's client against a provider that answers at once,
	// with metadata of the provider's size: what any provider's evaluation
	// costs on top of its own work.
	api := isolated.NewAPI()
	if err := api.SetProviderAndWait(context.Background(), newConstantProvider()); err != nil {
		b.Fatal(err)
	}
	flags := api.NewClient()
	visitor := openfeature.NewEvaluationContext(tntID, nil)
	b.Run("floor/OpenFeature", func(b *testing.B) {
		ctx := b.Context()
		measure(b, func() {
			if on, err := flags.BooleanValue(ctx, "showReviews", false, visitor); err != nil || !on {
				b.Fatal("showReviews", on, err)
			}
		})
	})
	_ = api.Shutdown(context.Background())
}

// constantProvider answers true, with metadata of the provider's five
// entries, made once and shared as the provider's are.
type constantProvider struct {
	openfeature.NoopProvider
	detail openfeature.ProviderResolutionDetail
}

func newConstantProvider() constantProvider {
	return constantProvider{detail: openfeature.ProviderResolutionDetail{
		Reason: openfeature.SplitReason, Variant: "Current checkout",
		FlagMetadata: openfeature.FlagMetadata{featureflags.MetadataActivityID: int64(910003), featureflags.MetadataActivityName: "Checkout feature flags",
			featureflags.MetadataExperienceID: int64(0), featureflags.MetadataExperienceName: "Current checkout", featureflags.MetadataDecisioningMethod: "on-device"},
	}}
}

func (p constantProvider) BooleanEvaluation(context.Context, string, bool, openfeature.FlattenedContext) openfeature.BoolResolutionDetail {
	return openfeature.BoolResolutionDetail{Value: true, ProviderResolutionDetail: p.detail}
}

// gaProvider answers with what GetAttributes answers and a constant
// detail, doing nothing else: the go-sdk's client over it is what no
// provider built on GetAttributes can beat.
type gaProvider struct {
	constantProvider
	getAttributes func(context.Context) (bool, error)
}

func (p *gaProvider) BooleanEvaluation(ctx context.Context, _ string, def bool, _ openfeature.FlattenedContext) openfeature.BoolResolutionDetail {
	on, err := p.getAttributes(ctx)
	if err != nil {
		return openfeature.BoolResolutionDetail{Value: def, ProviderResolutionDetail: openfeature.ProviderResolutionDetail{
			ResolutionError: openfeature.NewGeneralResolutionError(err.Error()), Reason: openfeature.ErrorReason}}
	}
	return openfeature.BoolResolutionDetail{Value: on, ProviderResolutionDetail: p.detail}
}

// alternate runs direct and through in batches of 64 alternated inside one
// loop, so that the machine's drift from one sub-benchmark to the next
// falls on both alike, and reports through's time over direct's (ratio)
// and each one's ns per call.
func alternate(b *testing.B, direct, through func()) {
	b.ReportAllocs()
	const batch = 64
	var directTime, throughTime time.Duration
	for b.Loop() {
		start := time.Now()
		for range batch {
			direct()
		}
		mid := time.Now()
		for range batch {
			through()
		}
		directTime += mid.Sub(start)
		throughTime += time.Since(mid)
	}
	calls := float64(b.N * batch)
	b.ReportMetric(float64(throughTime)/float64(directTime), "ratio")
	b.ReportMetric(float64(directTime.Nanoseconds())/calls, "GetAttributes-ns")
	b.ReportMetric(float64(throughTime.Nanoseconds())/calls, "OpenFeature-ns")
}

// measure runs op in the benchmark loop and reports its process CPU time
// per operation (cpu-ns/op), steadier than wall time on a shared machine.
func measure(b *testing.B, op func()) {
	b.ReportAllocs()
	start := processCPU(b)
	for b.Loop() {
		op()
	}
	b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op")
}

func processCPU(b *testing.B) time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		b.Fatal(err)
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}
