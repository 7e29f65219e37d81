package featureflags

import (
	"reflect"
	"testing"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/targetflow/targetflow/delivery"
)

// TestRecycledRequestIsTheEvaluations: a recycled evaluation request asks
// exactly what a new one would for the next visitor, whatever the last one
// asked (parameters, profile parameters, ids, mbox), executed or
// prefetched.
func TestRecycledRequestIsTheEvaluations(t *testing.T) {
	t.Parallel()
	visitors := []visitor{
		{mbox: "flags", id: delivery.VisitorID{TntID: "a", ThirdPartyID: "crm-a"}, params: delivery.Parameters{"p": "1"}, profile: delivery.Parameters{"tier": "gold"}},
		{mbox: "other", id: delivery.VisitorID{MarketingCloudVisitorID: "mc-b"}},
		{mbox: "flags", id: delivery.VisitorID{TntID: "c"}, params: delivery.Parameters{"q": "2"}},
	}
	for _, dedup := range []bool{false, true} {
		p := &Provider{}
		if dedup {
			p.seen, _ = lru.New[memoryKey, struct{}](10)
		}
		for round := range 20 {
			v := visitors[round%len(visitors)]
			want := &delivery.DeliveryRequest{ID: &v.id, Context: &delivery.Context{Channel: delivery.ChannelWeb}}
			mboxes := []delivery.MboxRequest{{Name: v.mbox, Index: 1, Parameters: v.params, ProfileParameters: v.profile}}
			if dedup {
				want.Prefetch = &delivery.PrefetchRequest{Mboxes: mboxes}
			} else {
				want.Execute = &delivery.ExecuteRequest{Mboxes: mboxes}
			}
			got := p.request(&v)
			if !reflect.DeepEqual(&got.request, want) {
				t.Fatalf("dedup %v, round %d: request %+v, want %+v", dedup, round, got.request, want)
			}
			p.requests.Put(got)
		}
	}
}
