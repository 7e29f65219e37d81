package edge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
)

func Example() {
	s, err := edge.New(edge.DemoArtifact())
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); _ = s.Wait() }()
	addr, err := s.Start(ctx, "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}

	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	body := `{"id":{"tntId":"demo-visitor-1.28_0"},"context":{"channel":"web"},
		"execute":{"mboxes":[{"index":0,"name":"feature-flags"}]}}`
	resp, err := client.Post("http://"+addr+"/rest/v1/delivery?imsOrgId=demo%40AdobeOrg&sessionId=s1",
		"application/json", strings.NewReader(body))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var answer delivery.DeliveryResponse
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(answer.Status, answer.Client, answer.EdgeHost, answer.ID.TntID)
	flags := answer.Execute.Mboxes[0].Options[0]
	fmt.Println(flags.Type, string(flags.Content))
	fmt.Println(flags.ResponseTokens["experience.name"], flags.ResponseTokens["activity.decisioningMethod"])
	// Output:
	// 200 targetflow-demo mboxedge28.tt.omtrdc.net demo-visitor-1.28_0
	// json {"checkoutFlow":"one-page","freeShippingThreshold":35,"searchRanker":"learned","showReviews":true}
	// One-page checkout server-side
}

// A test scripts single answers of the real edge with its control hook:
// here the first call for the cart mbox is answered 503 with Retry-After,
// and every call is seen on its way.
func ExampleServer_Control() {
	s, err := edge.New(edge.DemoArtifact())
	if err != nil {
		fmt.Println(err)
		return
	}
	s.Control(func(r *edge.Request) (edge.Answer, bool) {
		cart := r.Delivery != nil && r.Delivery.Execute != nil && r.Delivery.Execute.Mboxes[0].Name == "cart"
		return edge.Answer{Status: 503, Header: http.Header{"Retry-After": {"2"}}}, cart // one use
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); _ = s.Wait() }()
	addr, err := s.Start(ctx, "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	for range 2 {
		resp, err := client.Post("http://"+addr+"/rest/v1/delivery?imsOrgId=demo%40AdobeOrg&sessionId=s1", "application/json",
			strings.NewReader(`{"context":{"channel":"web"},"execute":{"mboxes":[{"index":0,"name":"cart"}]}}`))
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Output:
	// 503 2
	// 200
}
