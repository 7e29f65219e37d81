package featureflags_test

import (
	"context"
	"fmt"
	"log"

	"github.com/open-feature/go-sdk/openfeature"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/featureflags"
	"github.com/targetflow/targetflow/ondevice"
	"github.com/targetflow/targetflow/target"
)

// Feature flags from Target's on-device decisioning through OpenFeature:
// the demo site's "feature-flags" mbox holds the flags of an A/B test.
func Example() {
	ctx := context.Background()
	// A local Delivery API edge stands in for Target (it receives the
	// impressions).
	srv, err := edge.New(edge.DemoArtifact())
	if err != nil {
		log.Fatal(err)
	}
	serveCtx, stop := context.WithCancel(ctx)
	defer func() { stop(); _ = srv.Wait() }()
	addr, err := srv.Start(serveCtx, "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}

	client, err := target.New(
		target.WithClient("targetflow-demo"),
		target.WithOrganizationID("7A1B2C3D4E5F60718293A4B5@AdobeOrg"),
		target.WithDecisioningMethod(delivery.DecisioningOnDevice),
		target.WithOnDevice(ondevice.WithArtifactPayload(edge.DemoArtifact())), // or the CDN's artifact
		target.WithServerDomain(addr), target.WithSecure(false),
		target.WithTransport(edge.RoutingTransport(addr)),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	provider := featureflags.NewProvider(client, featureflags.WithMbox("feature-flags"))
	if err := openfeature.SetProviderWithContextAndWait(ctx, provider); err != nil {
		log.Fatal(err)
	}
	defer openfeature.Shutdown()
	flags := openfeature.NewDefaultClient()

	visitor := openfeature.NewEvaluationContext("5c1e3a9b7d2f4e6a8b0c1d2e3f4a5b6c.35_0", map[string]any{"loyaltyTier": "gold"})
	flow, err := flags.StringValueDetails(ctx, "checkoutFlow", "multi-step", visitor)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(flow.Value, flow.Reason, flow.Variant)
	fmt.Println(flow.FlagMetadata["activityName"], flow.FlagMetadata["decisioningMethod"])

	threshold, _ := flags.IntValue(ctx, "freeShippingThreshold", 0, visitor)
	fmt.Println("free shipping from", threshold)

	_, err = flags.IntValue(ctx, "checkoutFlow", 0, visitor) // a string
	fmt.Println(err)
	// Output:
	// multi-step SPLIT Current checkout
	// Checkout feature flags on-device
	// free shipping from 50
	// error code: TYPE_MISMATCH: target: attribute "checkoutFlow" of mbox "feature-flags" is a string (multi-step), not int
}
