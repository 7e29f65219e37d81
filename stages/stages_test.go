package stages_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/sink"
	"github.com/targetflow/targetflow/source"
	"github.com/targetflow/targetflow/stages"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func visitors(n int, v func(i int) pipeline.Visitor) []pipeline.Visitor {
	out := make([]pipeline.Visitor, n)
	for i := range out {
		out[i] = v(i)
	}
	return out
}

func run(t *testing.T, vs []pipeline.Visitor, flows ...*pipeline.Stage) ([]*pipeline.Item, pipeline.Stats) {
	t.Helper()
	var items []*pipeline.Item
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
		visitor pipeline.Visitor
		want    *delivery.DeliveryRequest
		wantErr error
	}{
		{"defaults only", pipeline.Visitor{ID: &delivery.VisitorID{TntID: "a"}}, &delivery.DeliveryRequest{
			ID:      &delivery.VisitorID{TntID: "a"},
			Context: &delivery.Context{Channel: delivery.ChannelWeb},
			Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{
				{Index: 0, Name: "hero", Parameters: defaults.Parameters},
				{Index: 1, Name: "cart", Parameters: defaults.Parameters},
			}},
		}, nil},
		{"record overrides", pipeline.Visitor{
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
		{"complete request used as is", pipeline.Visitor{Request: own, Execute: []string{"ignored"}}, own, nil},
		{"nothing requested", pipeline.Visitor{Execute: []string{}, PageLoad: &no}, nil, stages.ErrNothingRequested},
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
	items, stats := run(t, []pipeline.Visitor{{Execute: []string{"hero"}}, {}}, stages.BuildRequest(stages.RequestDefaults{}))
	if stats.Failed != 1 || items[0].Request == nil {
		t.Fatalf("failed %d, first request %v", stats.Failed, items[0].Request)
	}
	if kind, _ := pipeline.Classify(items[1].Err); kind != pipeline.KindInvalid || !errors.Is(items[1].Err, stages.ErrNothingRequested) {
		t.Errorf("second item: %v (kind %s), want invalid: nothing requested", items[1].Err, kind)
	}
}

func TestCustomStages(t *testing.T) {
	t.Parallel()
	var seen atomic.Int64
	vs := visitors(10, func(i int) pipeline.Visitor { return pipeline.Visitor{Execute: []string{fmt.Sprint("m", i)}} })
	items, stats := run(t, vs,
		stages.Map("upper", func(_ context.Context, it *pipeline.Item) error {
			if it.Seq == 3 {
				panic("user bug")
			}
			it.Visitor.Execute = []string{strings.ToUpper(it.Visitor.Execute[0])}
			return nil
		}),
		stages.Filter("drop-m5", func(it *pipeline.Item) bool { return it.Visitor.Execute[0] != "M5" }),
		stages.Tap("count", func(*pipeline.Item) { seen.Add(1) }),
	)
	if len(items) != 9 || stats.Dropped != 1 || seen.Load() != 9 {
		t.Fatalf("items %d dropped %d tapped %d, want 9, 1, 9", len(items), stats.Dropped, seen.Load())
	}
	for _, it := range items {
		if it.Seq == 3 {
			if kind, _ := pipeline.Classify(it.Err); kind != pipeline.KindPanic || !strings.Contains(it.Err.Error(), "user bug") {
				t.Errorf("seq 3: %v, want the recovered panic", it.Err)
			}
			continue
		}
		if it.Err != nil || it.Visitor.Execute[0] != fmt.Sprint("M", it.Seq-1) {
			t.Errorf("seq %d: %v %v", it.Seq, it.Err, it.Visitor.Execute)
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

type retryAfterErr time.Duration

func (e retryAfterErr) Error() string             { return "slow down" }
func (e retryAfterErr) RetryAfter() time.Duration { return time.Duration(e) }

func TestRetryPolicyDelay(t *testing.T) {
	t.Parallel()
	p := stages.RetryPolicy{MaxRetries: 5, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, MaxRetryAfter: 10 * time.Second}
	tests := []struct {
		name  string
		retry int
		err   error
		rnd   float64
		want  time.Duration
	}{
		{"first retry, low draw", 1, errors.New("x"), 0, 50 * time.Millisecond},
		{"first retry, high draw", 1, errors.New("x"), 0.999999999, 100 * time.Millisecond},
		{"doubles", 3, errors.New("x"), 0, 200 * time.Millisecond},
		{"capped", 10, errors.New("x"), 0, 500 * time.Millisecond},
		{"retry-after wins", 1, retryAfterErr(3 * time.Second), 0, 3 * time.Second},
		{"retry-after capped", 1, retryAfterErr(time.Minute), 0, 10 * time.Second},
		{"backoff above retry-after", 4, retryAfterErr(time.Millisecond), 0, 400 * time.Millisecond},
	}
	for _, tt := range tests {
		got := p.Delay(tt.retry, tt.err, func() float64 { return tt.rnd })
		if got < tt.want-time.Microsecond || got > tt.want+time.Microsecond {
			t.Errorf("%s: Delay = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func firstErr(items []*pipeline.Item) error {
	for _, it := range items {
		if it.Err != nil {
			return fmt.Errorf("seq %d: %w", it.Seq, it.Err)
		}
	}
	return nil
}
