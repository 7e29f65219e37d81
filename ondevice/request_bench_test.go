package ondevice

import "testing"

// benchRequestBody is a typical page request: three mboxes executed (one
// with parameters), the views and one mbox prefetched, for a known visitor.
const benchRequestBody = `{"requestId":"7c9f1e2a-54b3-4f0e-9a57-0f1e4c3b2a10","id":{"tntId":"0000000000000000000000000000002a.28_0"},` +
	`"context":{"channel":"web","userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36","address":{"url":"https://shop.example/cart"}},` +
	`"execute":{"mboxes":[{"index":0,"name":"hero"},{"index":1,"name":"cart","parameters":{"loyaltyTier":"gold","visits":3}},{"index":2,"name":"feature-flags"}]},` +
	`"prefetch":{"views":[{}],"mboxes":[{"index":0,"name":"recommendations"}]}}`

func BenchmarkDecodeRequest(b *testing.B) {
	body := []byte(benchRequestBody)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}
