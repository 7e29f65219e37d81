package target_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/target"
)

// exampleEdge serves targetflow's local edge, with the demo site's
// artifact, on loopback: it stands in for Target. stop shuts it down.
func exampleEdge() (addr string, stop func()) {
	srv, err := edge.New(edge.DemoArtifact())
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr, err = srv.Start(ctx, "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	return addr, func() { cancel(); _ = srv.Wait() }
}

// newExampleClient returns a client whose every call goes to the edge at
// addr instead of Target (the edge names its cluster, as Target does, and
// the routing transport brings those calls back to it).
func newExampleClient(addr string) *target.Client {
	client, err := target.New(
		target.WithClient("targetflow-demo"),
		target.WithOrganizationID("65453EA95574003E7F000101@AdobeOrg"),
		target.WithServerDomain(addr),
		target.WithSecure(false),
		target.WithTransport(edge.RoutingTransport(addr)),
		target.WithTelemetry(false),
	)
	if err != nil {
		log.Fatal(err)
	}
	return client
}

// visitor is a returning visitor of the demo site.
var visitor = &delivery.VisitorID{TntID: "5c1e3a9b7d2f4e6a8b0c1d2e3f4a5b6c.35_0"}

func ExampleClient_GetOffers() {
	addr, stop := exampleEdge()
	defer stop()
	client := newExampleClient(addr)
	defer client.Close()

	resp, err := client.GetOffers(context.Background(), target.GetOffersOptions{
		Request: &delivery.DeliveryRequest{
			ID:      visitor,
			Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Name: "hero", Index: 1}}},
		},
		TargetCookie: "", // the visitor's incoming "mbox" cookie, if any
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, mbox := range resp.Response.Execute.Mboxes {
		fmt.Printf("%s: %s\n", mbox.Name, mbox.Options[0].Content)
	}
	fmt.Println("set cookie:", resp.TargetCookie.Name, "for", resp.TargetCookie.MaxAge/86400, "days")
	fmt.Println("set cookie:", resp.TargetLocationHintCookie.Name, "=", resp.TargetLocationHintCookie.Value)
	tokens := resp.ResponseTokens[0]
	fmt.Println("response tokens:", tokens["activity.name"], "/", tokens["experience.name"])
	// Output:
	// hero: {"cta":"Shop now","headline":"New season, new gear","image":"/img/hero-season.jpg"}
	// set cookie: mbox for 732 days
	// set cookie: mboxEdgeCluster = 35
	// response tokens: Hero banner test / Control
}

func ExampleClient_GetAttributes() {
	addr, stop := exampleEdge()
	defer stop()
	client := newExampleClient(addr)
	defer client.Close()

	attrs, err := client.GetAttributes(context.Background(), []string{"feature-flags"},
		target.GetOffersOptions{Request: &delivery.DeliveryRequest{ID: visitor}})
	if err != nil {
		log.Fatal(err)
	}
	flow, _ := attrs.String("feature-flags", "checkoutFlow")
	threshold, _ := attrs.Int("feature-flags", "freeShippingThreshold")
	reviews, _ := attrs.Bool("feature-flags", "showReviews")
	fmt.Println(flow, threshold, reviews)
	_, err = attrs.String("feature-flags", "subtitle")
	fmt.Println(err)
	// Output:
	// multi-step 50 true
	// target: attribute "subtitle" does not exist for mbox "feature-flags"
}

func ExampleClient_SendNotifications() {
	addr, stop := exampleEdge()
	defer stop()
	client := newExampleClient(addr)
	defer client.Close()

	resp, err := client.SendNotifications(context.Background(), target.SendNotificationsOptions{
		Request: &delivery.DeliveryRequest{
			Notifications: []delivery.Notification{{
				ID:        "n1",
				Type:      delivery.MetricDisplay,
				Timestamp: time.Now().UnixMilli(),
				Mbox:      &delivery.NotificationMbox{Name: "hero"},
				Tokens:    []string{"event-token-from-prefetch"},
			}},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("acknowledged:", resp.Response.Notifications[0].ID)
	// Output:
	// acknowledged: n1
}

// The Target call runs while the page does its other work; the offers are
// ready when the page needs them, so the call adds (almost) no time.
func ExampleClient_GetOffersAsync() {
	addr, stop := exampleEdge()
	defer stop()
	client := newExampleClient(addr)
	defer client.Close()
	ctx := context.Background()

	offers := client.GetOffersAsync(ctx, target.GetOffersOptions{
		Request: &delivery.DeliveryRequest{
			ID:      visitor,
			Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Name: "hero", Index: 1}}},
		},
	})

	page := renderPageWithoutOffers() // database reads, templates, other services ...

	resp, err := offers.Wait(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(page, "+", resp.Response.Execute.Mboxes[0].Name)
	// Output:
	// page body + hero
}

func renderPageWithoutOffers() string { return "page body" }

func ExampleNew_validation() {
	_, err := target.New(target.WithClient("acmeclient"))
	fmt.Println(err)
	_, err = target.New(target.WithClient("acmeclient"), target.WithOrganizationID("ORG@AdobeOrg"),
		target.WithDecisioningMethod("edge"))
	fmt.Println(err)
	// Output:
	// targetflow: invalid config: organizationId: is required (WithOrganizationID)
	// targetflow: invalid config: decisioningMethod "edge": must be one of server-side, on-device, hybrid
}

// A web handler reads the visitor's Target cookies, gets the offers and sets
// the cookies Target answered with.
func ExampleClient_GetOffers_httpHandler() {
	addr, stop := exampleEdge()
	defer stop()
	client := newExampleClient(addr)
	defer client.Close()

	handler := func(w http.ResponseWriter, r *http.Request) {
		opts := target.GetOffersOptions{Request: &delivery.DeliveryRequest{
			ID:      visitor,
			Context: &delivery.Context{Channel: delivery.ChannelWeb, Address: &delivery.Address{URL: "https://shop.example" + r.URL.Path}},
			Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Name: "hero", Index: 1}}},
		}}
		opts.TargetCookie, opts.TargetLocationHint = target.CookiesFromRequest(r)
		resp, err := client.GetOffers(r.Context(), opts)
		if err != nil {
			fmt.Fprint(w, "default page") // never fail the page for Target
			return
		}
		target.SetCookies(w, resp)
		fmt.Fprintf(w, "hero: %s", resp.Response.Execute.Mboxes[0].Options[0].Content)
	}

	rec := httptest.NewRecorder()
	handler(rec, httptest.NewRequest(http.MethodGet, "/winter", nil))
	fmt.Println(rec.Body.String())
	for _, c := range rec.Result().Cookies() {
		fmt.Println("Set-Cookie:", c.Name)
	}
	// Output:
	// hero: {"cta":"Shop now","headline":"New season, new gear","image":"/img/hero-season.jpg"}
	// Set-Cookie: mbox
	// Set-Cookie: mboxEdgeCluster
}
