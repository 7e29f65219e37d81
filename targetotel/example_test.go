package targetotel_test

import (
	"context"
	"fmt"
	"log"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/target"
	"github.com/targetflow/targetflow/targetotel"
)

// A client traced with OpenTelemetry: every call is a span, and each HTTP
// exchange a client span under it. The spans go to the SDK's in-memory
// exporter here; a program would give an OTLP exporter.
func Example() {
	srv, err := edge.New(edge.DemoArtifact()) // a local Delivery API edge, standing in for Target
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer func() { stop(); _ = srv.Wait() }()
	addr, err := srv.Start(ctx, "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}

	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	inst, err := targetotel.New(targetotel.WithTracerProvider(tp))
	if err != nil {
		log.Fatal(err)
	}

	client, err := target.New(
		target.WithClient("targetflow-demo"),
		target.WithOrganizationID("7A1B2C3D4E5F60718293A4B5@AdobeOrg"),
		target.WithServerDomain(addr), target.WithSecure(false),
		target.WithTransport(edge.RoutingTransport(addr)),
		target.WithHooks(inst),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	_, err = client.GetOffers(ctx, target.GetOffersOptions{Request: &delivery.DeliveryRequest{
		Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Name: "hero"}}},
	}})
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range spans.GetSpans() { // in the order they ended
		fmt.Println(s.Name, s.SpanKind)
		for _, kv := range s.Attributes {
			switch kv.Key {
			case "http.response.status_code", "target.decisioning.outcome", "target.mbox.count":
				fmt.Printf("  %s=%s\n", kv.Key, kv.Value.String())
			}
		}
	}
	// Output:
	// POST client
	//   http.response.status_code=200
	// target.GetOffers internal
	//   target.mbox.count=1
	//   target.decisioning.outcome=server-side
}
