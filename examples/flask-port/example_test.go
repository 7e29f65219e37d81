package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"go.uber.org/zap"

	"github.com/targetflow/targetflow/delivery"
)

// Example runs the app offline, as `flask-port` with no flags does, and
// asks it for the cart mbox the way the sample's README does with curl.
func Example() {
	cfg := defaultConfig()
	a, err := newApp(context.Background(), cfg, zap.NewNop())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.Close()
	srv := httptest.NewServer(newHTTPServer(a.Handler(), cfg, zap.NewNop()).Handler)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/executeMbox?mbox=cart&tntId=12345")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var body delivery.DeliveryResponse
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		fmt.Println(err)
		return
	}
	var targetCookie bool
	for _, c := range resp.Cookies() {
		targetCookie = targetCookie || (c.Name == "mbox" && c.MaxAge > 0)
	}

	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))
	fmt.Println("visitor:", body.ID.TntID)
	for _, m := range body.Execute.Mboxes {
		for _, o := range m.Options {
			fmt.Printf("mbox %d %s: %s %s\n", m.Index, m.Name, o.Type, contentText(o.Content))
		}
	}
	fmt.Println("mbox cookie set:", targetCookie)
	// Output:
	// 200 application/json
	// visitor: 12345
	// mbox 0 cart: html <div class="cart-banner">Free returns within 30 days</div>
	// mbox cookie set: true
}
