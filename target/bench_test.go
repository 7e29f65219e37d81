package target

import (
	"encoding/json"
	"syscall"
	"testing"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/bench/standin"
)

// twoMboxAnswer is a realistic answer to a 2-mbox execute request.
func twoMboxAnswer(b *testing.B) []byte {
	answer := delivery.DeliveryResponse{
		Status: 200, RequestID: "4b8f5c6e-1f2a-4c3d-9e8f-7a6b5c4d3e2f", Client: "acme",
		ID:       &delivery.VisitorID{TntID: "338e3c1e51f7416a8e1ccba4f81acea0.28_0"},
		EdgeHost: "mboxedge28.tt.omtrdc.net",
		Execute: &delivery.ExecuteResponse{Mboxes: []delivery.MboxResponse{
			{Index: 1, Name: "hero", Options: []delivery.Option{{
				Type:           delivery.OptionJSON,
				Content:        json.RawMessage(`{"title":"Winter sale","discount":20,"cta":"Shop now","image":"/img/winter.jpg"}`),
				ResponseTokens: delivery.ResponseTokens{"activity.id": "125874", "activity.name": "Hero AB", "experience.name": "Experience B", "offer.id": "631991"},
			}}, Metrics: []delivery.Metric{{Type: delivery.MetricClick, EventToken: "z4uQv+9/L2TFSWDfd7MPmg=="}}},
			{Index: 2, Name: "footer", Options: []delivery.Option{{
				Type:           delivery.OptionHTML,
				Content:        json.RawMessage(`"<div class=\"promo\">Free shipping over $50</div>"`),
				ResponseTokens: delivery.ResponseTokens{"activity.id": "125875", "offer.id": "631992"},
			}}},
		}},
	}
	data, err := json.Marshal(answer)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func twoMboxRequest() *delivery.DeliveryRequest {
	return &delivery.DeliveryRequest{
		Context: &delivery.Context{Channel: delivery.ChannelWeb, Address: &delivery.Address{URL: "https://www.acme.com/winter"},
			UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"},
		Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{
			{Name: "hero", Index: 1, Parameters: delivery.Parameters{"category": "winter"}},
			{Name: "footer", Index: 2},
		}},
	}
}

// BenchmarkGetOffersServerSide measures the client's own cost per
// GetOffers call for a 2-mbox request: completing the request, encoding it,
// the net/http client path, decoding the answer and processing it (cookies,
// tokens, telemetry). Target: < 15 µs per call on the benchmark machine.
func BenchmarkGetOffersServerSide(b *testing.B) {
	for _, bc := range []struct {
		name      string
		telemetry bool
	}{{"telemetry-on", true}, {"telemetry-off", false}} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := New(WithClient("acme"), WithOrganizationID("ACME@AdobeOrg"),
				WithTransport(standin.Memory(twoMboxAnswer(b))), WithTelemetry(bc.telemetry))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			opts := GetOffersOptions{
				Request:      twoMboxRequest(),
				TargetCookie: "session#9f3c2b1a-5d4e-4f6a-8b7c-1d2e3f4a5b6c#9999999999|PC#338e3c1e51f7416a8e1ccba4f81acea0.28_0#9999999999",
			}
			ctx := b.Context()
			b.ReportAllocs()
			cpu := startCPUClock(b)
			for b.Loop() {
				resp, err := c.GetOffers(ctx, opts)
				if err != nil {
					b.Fatal(err)
				}
				if len(resp.Response.Execute.Mboxes) != 2 {
					b.Fatal("wrong answer")
				}
			}
			cpu.report(b)
		})
	}
}

// BenchmarkGetOffersLoopback is the same call over a real loopback HTTP
// connection to the local edge, which answers it from a script, for
// comparison: it adds the kernel, net/http's connection handling and the
// server's work.
func BenchmarkGetOffersLoopback(b *testing.B) {
	e := newTestEdge(b)
	e.answerEvery(edge.Answer{Status: 200, Body: twoMboxAnswer(b)})
	c := e.newClient(WithServerDomain(e.hostPort()))
	opts := GetOffersOptions{Request: twoMboxRequest(), TargetCookie: "PC#338e3c1e51f7416a8e1ccba4f81acea0.28_0#9999999999"}
	ctx := b.Context()
	b.ReportAllocs()
	cpu := startCPUClock(b)
	for b.Loop() {
		if _, err := c.GetOffers(ctx, opts); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
}

// cpuClock measures the process CPU time (user + system, all threads, GC
// included) spent during a benchmark loop. On a shared machine wall time
// per op swings with the other processes' load; CPU time per op does not.
type cpuClock struct{ start time.Duration }

func startCPUClock(b *testing.B) cpuClock {
	b.Helper()
	return cpuClock{start: processCPUTime(b)}
}

// report adds the "cpu-ns/op" metric.
func (c cpuClock) report(b *testing.B) {
	b.Helper()
	if b.N > 0 {
		b.ReportMetric(float64(processCPUTime(b)-c.start)/float64(b.N), "cpu-ns/op")
	}
}

func processCPUTime(b *testing.B) time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}
