package stages_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/sink"
	"github.com/targetflow/targetflow/source"
	"github.com/targetflow/targetflow/stages"
	"github.com/targetflow/targetflow/visitor"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func visitors(n int, v func(i int) visitor.Record) []visitor.Record {
	out := make([]visitor.Record, n)
	for i := range out {
		out[i] = v(i)
	}
	return out
}

func run(t *testing.T, vs []visitor.Record, flows ...*pipeline.Stage[visitor.Envelope]) ([]*visitor.Item, pipeline.Stats) {
	t.Helper()
	var items []*visitor.Item
	b := pipeline.From(source.Slice(vs))
	for _, f := range flows {
		b = b.Via(f)
	}
	stats, err := b.To(sink.Collect(&items)).Run(context.Background())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return items, stats
}

func TestBuildRequest(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	mobile := &delivery.Context{Channel: delivery.ChannelMobile}
	own := &delivery.DeliveryRequest{Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Name: "own"}}}}
	defaults := stages.RequestDefaults{
		Execute:    []string{"hero", "cart"},
		Parameters: delivery.Parameters{"site": "demo", "tier": "silver"},
	}
	tests := []struct {
		name    string
		visitor visitor.Record
		want    *delivery.DeliveryRequest
		wantErr error
	}{
		{"defaults only", visitor.Record{ID: &delivery.VisitorID{TntID: "a"}}, &delivery.DeliveryRequest{
			ID:      &delivery.VisitorID{TntID: "a"},
			Context: &delivery.Context{Channel: delivery.ChannelWeb},
			Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{
				{Index: 0, Name: "hero", Parameters: defaults.Parameters},
				{Index: 1, Name: "cart", Parameters: defaults.Parameters},
			}},
		}, nil},
		{"record overrides", visitor.Record{
			Context: mobile, Execute: []string{}, Prefetch: []string{"hero"}, Views: []string{"home"}, PageLoad: &yes,
			Parameters: delivery.Parameters{"tier": "gold"}, ProfileParameters: delivery.Parameters{"age": "30"},
		}, &delivery.DeliveryRequest{
			Context: mobile,
			Prefetch: &delivery.PrefetchRequest{
				Mboxes: []delivery.MboxRequest{{Index: 0, Name: "hero",
					Parameters:        delivery.Parameters{"site": "demo", "tier": "gold"},
					ProfileParameters: delivery.Parameters{"age": "30"}}},
				Views: []delivery.ViewRequest{{Name: "home",
					Parameters:        delivery.Parameters{"site": "demo", "tier": "gold"},
					ProfileParameters: delivery.Parameters{"age": "30"}}},
				PageLoad: &delivery.RequestDetails{
					Parameters:        delivery.Parameters{"site": "demo", "tier": "gold"},
					ProfileParameters: delivery.Parameters{"age": "30"}},
			},
		}, nil},
		{"complete request used as is", visitor.Record{Request: own, Execute: []string{"ignored"}}, own, nil},
		{"nothing requested", visitor.Record{Execute: []string{}, PageLoad: &no}, nil, stages.ErrNothingRequested},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := defaults.Build(&tt.visitor)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Build error = %v, want %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Build =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestBuildRequestStageFailsInvalidRecords(t *testing.T) {
	t.Parallel()
	items, stats := run(t, []visitor.Record{{Execute: []string{"hero"}}, {}}, stages.BuildRequest(stages.RequestDefaults{}))
	if stats.Failed != 1 || items[0].Value.Request == nil {
		t.Fatalf("failed %d, first request %v", stats.Failed, items[0].Value.Request)
	}
	if kind, _ := visitor.Classify(items[1].Err); kind != visitor.KindInvalid || !errors.Is(items[1].Err, stages.ErrNothingRequested) {
		t.Errorf("second item: %v (kind %s), want invalid: nothing requested", items[1].Err, kind)
	}
}

func TestCustomStages(t *testing.T) {
	t.Parallel()
	var seen atomic.Int64
	vs := visitors(10, func(i int) visitor.Record { return visitor.Record{Execute: []string{fmt.Sprint("m", i)}} })
	items, stats := run(t, vs,
		stages.Map("upper", func(_ context.Context, it *visitor.Item) error {
			if it.Pos.Seq == 3 {
				panic("user bug")
			}
			it.Value.Record.Execute = []string{strings.ToUpper(it.Value.Record.Execute[0])}
			return nil
		}),
		stages.Filter("drop-m5", func(it *visitor.Item) bool { return it.Value.Record.Execute[0] != "M5" }),
		stages.Tap("count", func(*visitor.Item) { seen.Add(1) }),
	)
	if len(items) != 9 || stats.Dropped != 1 || seen.Load() != 9 {
		t.Fatalf("items %d dropped %d tapped %d, want 9, 1, 9", len(items), stats.Dropped, seen.Load())
	}
	for _, it := range items {
		if it.Pos.Seq == 3 {
			if kind, _ := visitor.Classify(it.Err); kind != visitor.KindPanic || !strings.Contains(it.Err.Error(), "user bug") {
				t.Errorf("seq 3: %v, want the recovered panic", it.Err)
			}
			continue
		}
		if it.Err != nil || it.Value.Record.Execute[0] != fmt.Sprint("M", it.Pos.Seq-1) {
			t.Errorf("seq %d: %v %v", it.Pos.Seq, it.Err, it.Value.Record.Execute)
		}
	}
}

func TestDisplayNotifications(t *testing.T) {
	t.Parallel()
	resp := &delivery.DeliveryResponse{
		RequestID: "req",
		Prefetch: &delivery.PrefetchResponse{
			Mboxes: []delivery.MboxResponse{
				{Name: "hero", State: "s1", Options: []delivery.Option{{EventToken: "t1"}, {EventToken: "t2"}}},
				{Name: "empty", State: "s2"},
			},
			Views: []delivery.View{{Name: "home", Key: "k", State: "s3", Options: []delivery.Option{{}},
				Metrics: []delivery.Metric{{Type: delivery.MetricClick, EventToken: "click"}, {Type: delivery.MetricDisplay, EventToken: "t3"}}}},
			PageLoad: &delivery.PageLoadResponse{State: "s4", Options: []delivery.Option{{EventToken: "t4"}}},
		},
	}
	now := time.UnixMilli(1700000000000)
	got := stages.DisplayNotifications(resp, now)
	want := []delivery.Notification{
		{ID: "req-notify-0", Type: delivery.MetricDisplay, Timestamp: 1700000000000, Tokens: []string{"t1", "t2"}, Mbox: &delivery.NotificationMbox{Name: "hero", State: "s1"}},
		{ID: "req-notify-1", Type: delivery.MetricDisplay, Timestamp: 1700000000000, Tokens: []string{"t3"}, View: &delivery.NotificationView{Name: "home", Key: "k", State: "s3"}},
		{ID: "req-notify-2", Type: delivery.MetricDisplay, Timestamp: 1700000000000, Tokens: []string{"t4"}, PageLoad: &delivery.NotificationPageLoad{State: "s4"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DisplayNotifications =\n%+v\nwant\n%+v", got, want)
	}
	if n := stages.DisplayNotifications(&delivery.DeliveryResponse{}, now); n != nil {
		t.Errorf("no prefetch: got %+v, want none", n)
	}
}

func firstErr(items []*visitor.Item) error {
	for _, it := range items {
		if it.Err != nil {
			return fmt.Errorf("seq %d: %w", it.Pos.Seq, it.Err)
		}
	}
	return nil
}

// TestOptionsAreSealedPerStage: an option applies only to the stages it is
// for; the others do not accept it (the call does not compile), as
// BuildRequest(d, WithConcurrency(8)) does not.
func TestOptionsAreSealedPerStage(t *testing.T) {
	t.Parallel()
	kinds := map[string]reflect.Type{
		"BuildRequest": reflect.TypeFor[stages.BuildOption](),
		"Map":          reflect.TypeFor[stages.MapOption](),
		"Deliver":      reflect.TypeFor[stages.DeliverOption](),
		"Notify":       reflect.TypeFor[stages.NotifyOption](),
		"Attributes":   reflect.TypeFor[stages.AttributesOption](),
	}
	tests := []struct {
		name   string
		option any
		for_   []string
	}{
		{"WithName", stages.WithName("n"), []string{"BuildRequest", "Map", "Deliver", "Notify", "Attributes"}},
		{"WithBuffer", stages.WithBuffer(1), []string{"BuildRequest", "Map", "Deliver", "Notify", "Attributes"}},
		{"WithConcurrency", stages.WithConcurrency(8), []string{"Map", "Deliver", "Notify", "Attributes"}},
		{"WithOrdered", stages.WithOrdered(true), []string{"Map", "Deliver", "Notify", "Attributes"}},
		{"WithTimeout", stages.WithTimeout(time.Second), []string{"Deliver", "Notify", "Attributes"}},
		{"WithRetries", stages.WithRetries(1), []string{"Deliver", "Notify", "Attributes"}},
		{"WithRateLimit", stages.WithRateLimit(1), []string{"Deliver", "Notify", "Attributes"}},
		{"WithDecisioning", stages.WithDecisioning(delivery.DecisioningOnDevice), []string{"Deliver", "Attributes"}},
		{"WithNotifyByDefault", stages.WithNotifyByDefault(true), []string{"Notify"}},
	}
	for _, tt := range tests {
		typ := reflect.TypeOf(tt.option)
		for stage, kind := range kinds {
			if want := slices.Contains(tt.for_, stage); typ.Implements(kind) != want {
				t.Errorf("%s accepted by %s: %t, want %t", tt.name, stage, typ.Implements(kind), want)
			}
		}
	}
}

// TestTapSeesEveryItemOnce: a tap sees each item once, failed ones too,
// whether it takes them one at a time, in order, or inline in the
// goroutines of the concurrent stage before it.
func TestTapSeesEveryItemOnce(t *testing.T) {
	t.Parallel()
	failSevens := func() *pipeline.Stage[visitor.Envelope] {
		return stages.Map("fail-sevens", func(_ context.Context, it *visitor.Item) error {
			if it.Pos.Seq%7 == 0 {
				return errors.New("seven")
			}
			return nil
		}, stages.WithConcurrency(8))
	}
	for _, tt := range []struct {
		name string
		opts []stages.MapOption
	}{
		{"one at a time", nil},
		{"ordered", []stages.MapOption{stages.WithConcurrency(8), stages.WithOrdered(true)}},
		{"concurrent", []stages.MapOption{stages.WithConcurrency(8)}},
		{"inline", []stages.MapOption{stages.WithInline()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			seen := map[int64]int{}
			failed := 0
			vs := visitors(500, func(i int) visitor.Record { return visitor.Record{Execute: []string{fmt.Sprint("m", i)}} })
			items, stats := run(t, vs, failSevens(), stages.Tap("see", func(it *visitor.Item) {
				mu.Lock()
				defer mu.Unlock()
				seen[it.Pos.Seq]++
				if it.Err != nil {
					failed++
				}
			}, tt.opts...))
			if len(items) != 500 || len(seen) != 500 || failed != 500/7 {
				t.Fatalf("%d items out, %d seen, %d failed seen; want 500, 500, %d", len(items), len(seen), failed, 500/7)
			}
			for seq, n := range seen {
				if n != 1 {
					t.Errorf("seq %d seen %d times", seq, n)
				}
			}
			for _, c := range stats.Components {
				if c.Name == "see" && (c.In != 500 || c.OK != 500) {
					t.Errorf("tap figures: in %d, ok %d; want 500, 500", c.In, c.OK)
				}
			}
		})
	}
}
