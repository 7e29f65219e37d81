package edge_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
)

// FuzzHandler sends arbitrary methods, queries and bodies to the handler:
// it must never panic, never answer 500, and every error answer must be the
// {"status":N,"message":"..."} shape with N the HTTP status.
func FuzzHandler(f *testing.F) {
	s, err := edge.New(edge.DemoArtifact(), edge.WithMaxBodyBytes(64<<10))
	if err != nil {
		f.Fatal(err)
	}
	seeds := []struct{ method, target, body string }{
		{"POST", deliveryPath, validRequest},
		{"POST", deliveryPath, `{"id":{"tntId":"x.1_0"},"context":{"channel":"web","address":{"url":"https://shop.example/cart?x=1"},"userAgent":"Mozilla/5.0 Safari/605"},"prefetch":{"views":[{}],"pageLoad":{},"mboxes":[{"index":0,"name":"cart","parameters":{"loyaltyTier":"gold"}}]},"execute":{"pageLoad":{"parameters":{"a":"1"}},"mboxes":[{"index":1,"name":"recommendations"}]}}`},
		{"POST", deliveryPath, `{"context":{"channel":"mobile","mobilePlatform":{"deviceType":"phone","platformType":"ios"}},"notifications":[{"id":"1","type":"display","timestamp":1,"mbox":{"name":"hero"},"tokens":["t"]}]}`},
		{"POST", deliveryPath, `{"context":{"channel":"web","geo":{"latitude":1e308,"ipAddress":"::1"}},"trace":{"authorizationToken":"x"},"execute":{"mboxes":[{"index":-1,"name":"\u0000"}]}}`},
		{"POST", deliveryPath, `[]`},
		{"POST", "/rest/v1/delivery?imsOrgId=%zz", `{}`},
		{"GET", "/" + demo.Client + "/production/rules/v1/rules.json", ""},
		{"GET", "/notifications?type=click", ""},
		{"PATCH", "/metrics", ""},
	}
	for _, sd := range seeds {
		f.Add(sd.method, sd.target, []byte(sd.body))
	}
	f.Fuzz(func(t *testing.T, method, target string, body []byte) {
		if target == "" || target[0] != '/' {
			target = "/" + target
		}
		req, err := http.NewRequest(method, "http://edge.test"+target, bytes.NewReader(body))
		if err != nil {
			return // not a request net/http would ever hand to a handler
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s with %q answered %d: %s", method, target, body, rec.Code, rec.Body.Bytes())
		}
		if rec.Code >= 400 {
			var e struct {
				Status  int    `json:"status"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Status != rec.Code || e.Message == "" {
				t.Fatalf("error answer %d has body %q", rec.Code, rec.Body.Bytes())
			}
		}
	})
}
