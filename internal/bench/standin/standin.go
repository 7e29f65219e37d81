package standin

import (
	"io"
	"net/http"
	"strconv"
	"time"
)

// Answer is the stand-in's answer to every call: what Target's edge
// answers a 2-mbox execute (hero and cart) of the demo site, 1.2 KB.
var Answer = []byte(`{"status":200,"requestId":"2f95a42a-27d8-4025-a0dd-3887939ff768",` +
	`"id":{"tntId":"338e3c1e51f7416a8e1ccba4f81acea0.28_0"},"client":"targetflow-demo","edgeHost":"mboxedge28.tt.omtrdc.net",` +
	`"execute":{"mboxes":[` +
	`{"index":0,"name":"hero","options":[{"type":"json",` +
	`"content":{"cta":"Start shopping","headline":"Free shipping on every order","image":"/img/hero-shipping.jpg"},` +
	`"responseTokens":{"activity.decisioningMethod":"server-side","activity.id":910001,"activity.name":"Hero banner test",` +
	`"experience.id":1,"experience.name":"Free shipping","offer.id":9100011,"offer.name":"/hero/experiences/1/offer",` +
	`"option.id":3,"option.name":"Offer3"}}],` +
	`"metrics":[{"type":"click","eventToken":"z4uQv+9/L2TFSWDfd7MPmg=="}]},` +
	`{"index":1,"name":"cart","options":[{"type":"html",` +
	`"content":"<div class=\"cart-banner\">Free returns within 30 days</div>",` +
	`"responseTokens":{"activity.decisioningMethod":"server-side","activity.id":910002,"activity.name":"Cart incentives",` +
	`"experience.id":2,"experience.name":"Everybody else","offer.id":9100022,"offer.name":"/cart/experiences/2/offer",` +
	`"option.id":4,"option.name":"Offer4"}}]}]}}`)

// maxRequestBytes bounds the request body the stand-in reads.
const maxRequestBytes = 1 << 20

// Handler answers every POST with Answer after latency (status 200,
// application/json), and anything else with 405. It reads the request body
// first, as an edge does, up to 1 MiB.
func Handler(latency time.Duration) http.Handler {
	length := strconv.Itoa(len(Answer))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		if _, err := io.Copy(io.Discard, io.LimitReader(r.Body, maxRequestBytes)); err != nil {
			return
		}
		if latency > 0 {
			timer := time.NewTimer(latency)
			select {
			case <-timer.C:
			case <-r.Context().Done():
				timer.Stop()
				return
			}
		}
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{length}
		_, _ = w.Write(Answer)
	})
}

// HugeHandler is the hostile stand-in of issue 12: it answers every POST
// 200 with the start of an answer whose one offer never ends, size bytes of
// it, chunked (no Content-Length, as a gzip-compressed answer arrives),
// until done or the client hangs up.
func HugeHandler(size int64) http.Handler {
	chunk := make([]byte, 64<<10)
	for i := range chunk {
		chunk[i] = 'x'
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, io.LimitReader(r.Body, maxRequestBytes)); err != nil {
			return
		}
		w.Header()["Content-Type"] = []string{"application/json"}
		if _, err := io.WriteString(w, `{"status":200,"execute":{"mboxes":[{"index":0,"name":"hero","options":[{"type":"html","content":"`); err != nil {
			return
		}
		for written := int64(0); written < size; written += int64(len(chunk)) {
			if _, err := w.Write(chunk); err != nil {
				return // the client hung up
			}
		}
	})
}
