package target_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/target"
)

// exampleEdge stands in for Target: it answers every delivery call with a
// JSON offer for the mbox "hero" and a tntId for the visitor.
func exampleEdge() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":200,"client":"acmeclient","id":{"tntId":"f1b8e5a2c9d4.35_0"},"edgeHost":"mboxedge35.tt.omtrdc.net",
			"execute":{"mboxes":[{"index":1,"name":"hero","options":[{"type":"json",
			"content":{"title":"Winter sale","discount":20,"showBanner":true},
			"responseTokens":{"activity.name":"Hero test"}}]}]},
			"notifications":[{"id":"n1"}]}`)
	}))
}

// newExampleClient returns a client that sends to srv instead of Target.
func newExampleClient(srv *httptest.Server) *target.Client {
	client, err := target.New(
		target.WithClient("acmeclient"),
		target.WithOrganizationID("65453EA95574003E7F000101@AdobeOrg"),
		target.WithServerDomain(strings.TrimPrefix(srv.URL, "http://")),
		target.WithSecure(false),
		target.WithTelemetry(false),
	)
	if err != nil {
		log.Fatal(err)
	}
	return client
}

func ExampleClient_GetOffers() {
	srv := exampleEdge()
	defer srv.Close()
	client := newExampleClient(srv)
	defer client.Close()

	resp, err := client.GetOffers(context.Background(), target.GetOffersOptions{
		Request: &delivery.DeliveryRequest{
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
	fmt.Println("response tokens:", resp.ResponseTokens)
	// Output:
	// hero: {"title":"Winter sale","discount":20,"showBanner":true}
	// set cookie: mbox for 732 days
	// set cookie: mboxEdgeCluster = 35
	// response tokens: [map[activity.name:Hero test]]
}

func ExampleClient_GetAttributes() {
	srv := exampleEdge()
	defer srv.Close()
	client := newExampleClient(srv)
	defer client.Close()

	attrs, err := client.GetAttributes(context.Background(), []string{"hero"}, target.GetOffersOptions{})
	if err != nil {
		log.Fatal(err)
	}
	title, _ := attrs.String("hero", "title")
	discount, _ := attrs.Int("hero", "discount")
	show, _ := attrs.Bool("hero", "showBanner")
	fmt.Println(title, discount, show)
	_, err = attrs.String("hero", "subtitle")
	fmt.Println(err)
	// Output:
	// Winter sale 20 true
	// target: attribute "subtitle" does not exist for mbox "hero"
}

func ExampleClient_SendNotifications() {
	srv := exampleEdge()
	defer srv.Close()
	client := newExampleClient(srv)
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
	srv := exampleEdge()
	defer srv.Close()
	client := newExampleClient(srv)
	defer client.Close()
	ctx := context.Background()

	offers := client.GetOffersAsync(ctx, target.GetOffersOptions{
		Request: &delivery.DeliveryRequest{
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
	srv := exampleEdge()
	defer srv.Close()
	client := newExampleClient(srv)
	defer client.Close()

	handler := func(w http.ResponseWriter, r *http.Request) {
		opts := target.GetOffersOptions{Request: &delivery.DeliveryRequest{
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
	// hero: {"title":"Winter sale","discount":20,"showBanner":true}
	// Set-Cookie: mbox
	// Set-Cookie: mboxEdgeCluster
}
