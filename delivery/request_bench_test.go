package delivery

import (
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
)

// benchRequestBody is a typical page request: three mboxes executed (one
// with parameters), the views and one mbox prefetched, for a known visitor.
const benchRequestBody = `{"requestId":"7c9f1e2a-54b3-4f0e-9a57-0f1e4c3b2a10","id":{"tntId":"0000000000000000000000000000002a.28_0"},` +
	`"context":{"channel":"web","userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36","address":{"url":"https://shop.example/cart"}},` +
	`"execute":{"mboxes":[{"index":0,"name":"hero"},{"index":1,"name":"cart","parameters":{"loyaltyTier":"gold","visits":3}},{"index":2,"name":"feature-flags"}]},` +
	`"prefetch":{"views":[{}],"mboxes":[{"index":0,"name":"recommendations"}]}}`

// BenchmarkDecodeRequest decodes a page request and a target client's
// request with DecodeRequest (their bytes take the quick path) and with
// the v2 engine the quick path stands in for, both validated: what the
// hand-written path is worth.
func BenchmarkDecodeRequest(b *testing.B) {
	for _, body := range []struct{ name, json string }{{"page", benchRequestBody}, {"client", clientRequestBody}} {
		data := []byte(body.json)
		b.Run(body.name+"/DecodeRequest", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeRequest(data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(body.name+"/engine", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var req DeliveryRequest
				if err := jsonv2.Unmarshal(data, &req, requestDecodeOptions); err != nil {
					b.Fatal(err)
				}
				if err := ValidateRequest(&req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
