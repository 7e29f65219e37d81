package targetflow_test

import (
	"context"
	"fmt"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/sink"
	"github.com/targetflow/targetflow/source"
	"github.com/targetflow/targetflow/stages"
	"github.com/targetflow/targetflow/target"
	"github.com/targetflow/targetflow/visitor"
)

// Three visitors flow through request building and bounded concurrent
// delivery against a local edge serving the bundled demo artifact.
func Example() {
	ctx, stop := context.WithCancel(context.Background())

	// A local Delivery API edge on loopback, serving the bundled demo artifact.
	srv, err := edge.New(edge.DemoArtifact())
	if err != nil {
		panic(err)
	}
	addr, err := srv.Start(ctx, "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer func() { stop(); srv.Wait() }()    // shut the edge down, then wait for it
	transport := edge.RoutingTransport(addr) // keeps cluster-routed calls local
	defer transport.CloseIdleConnections()

	client, err := target.New(
		target.WithClient(srv.Client()),
		target.WithOrganizationID("7A1B2C3D4E5F60718293A4B5@AdobeOrg"),
		target.WithServerDomain(addr),
		target.WithSecure(false),
		target.WithTransport(transport),
	)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	visitors := []visitor.Record{
		{ID: &delivery.VisitorID{TntID: "visitor-1"}},
		{ID: &delivery.VisitorID{TntID: "visitor-2"}},
		{ID: &delivery.VisitorID{ThirdPartyID: "crm-3"}},
	}
	var results []*visitor.Item
	stats, err := pipeline.From(source.Slice(visitors)).
		Via(
			stages.BuildRequest(stages.RequestDefaults{Execute: []string{"hero"}}),
			stages.Deliver(client, stages.WithConcurrency(8), stages.WithOrdered(true)),
		).
		To(sink.Collect(&results)).
		Run(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Printf("written %d, ok %d, failed %d\n", stats.Written, stats.OK, stats.Failed)
	for _, it := range results {
		mbox := it.Value.Response.Execute.Mboxes[0]
		fmt.Printf("visitor %d: %s, %d offer\n", it.Pos.Seq, mbox.Name, len(mbox.Options))
	}
	// Output:
	// written 3, ok 3, failed 0
	// visitor 1: hero, 1 offer
	// visitor 2: hero, 1 offer
	// visitor 3: hero, 1 offer
}
