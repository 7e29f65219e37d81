package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/targetflow/targetflow/delivery"
)

func TestDecodeNotificationsBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		body       string
		wantStatus int // 0: valid
		wantErr    string
	}{
		{name: "sample README body", body: `{"mboxes":[{"name":"cart","event_tokens":["rI03nB2aB/8ANKbtolR1i2qipfsIHvVzTQxHolz2IpSCnQ9Y9OaLL2gsdrWQTvE54PwSz67rmXWmSnkXpSSS2Q=="]}]}`},
		{name: "views and mboxes", body: `{"views":[{"name":"home","key":"k","state":"s","event_tokens":["a","b"]}],"mboxes":[{"name":"cart","state":"s2","event_tokens":["c"]}]}`},
		{name: "unknown fields ignored", body: `{"mboxes":[{"name":"cart","event_tokens":["t"],"extra":1}],"other":true}`},
		{name: "empty", body: ``, wantStatus: 400, wantErr: "body: is empty"},
		{name: "malformed", body: `{"mboxes":[}`, wantStatus: 400, wantErr: "not valid JSON at byte"},
		{name: "truncated", body: `{"mboxes":[{"name":"cart"`, wantStatus: 400, wantErr: "truncated JSON"},
		{name: "trailing data", body: `{"mboxes":[{"name":"cart","event_tokens":["t"]}]} {}`, wantStatus: 400, wantErr: "data after the JSON object"},
		{name: "wrong type", body: `{"mboxes":{"name":"cart"}}`, wantStatus: 400, wantErr: "mboxes: is a JSON object"},
		{name: "nothing to notify", body: `{"mboxes":[],"views":[]}`, wantStatus: 400, wantErr: `names no "mboxes" and no "views"`},
		{name: "mbox without name", body: `{"mboxes":[{"event_tokens":["t"]}]}`, wantStatus: 400, wantErr: "mboxes[0].name: is missing"},
		{name: "mbox without tokens", body: `{"mboxes":[{"name":"cart"}]}`, wantStatus: 400, wantErr: "mboxes[0].event_tokens: is missing"},
		{name: "empty token", body: `{"mboxes":[{"name":"cart","event_tokens":["t",""]}]}`, wantStatus: 400, wantErr: "mboxes[0].event_tokens[1]: is empty"},
		{name: "view without name or key", body: `{"views":[{"event_tokens":["t"]}]}`, wantStatus: 400, wantErr: "views[0]: has neither a name nor a key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := decodeNotificationsBody(strings.NewReader(tt.body))
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("decode(%s) = %v, want no error", tt.body, err)
				}
				return
			}
			var in *inputError
			if !errors.As(err, &in) || in.status() != tt.wantStatus || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("decode(%s) error = %v, want status %d containing %q", tt.body, err, tt.wantStatus, tt.wantErr)
			}
		})
	}
}

func TestDecodeNotificationsBodyTooLarge(t *testing.T) {
	t.Parallel()
	body := fmt.Sprintf(`{"mboxes":[{"name":"cart","event_tokens":[%q]}]}`, strings.Repeat("x", 2048))
	limited := http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(strings.NewReader(body)), 1024)
	_, err := decodeNotificationsBody(limited)
	var in *inputError
	if !errors.As(err, &in) || in.status() != http.StatusRequestEntityTooLarge || !strings.Contains(err.Error(), "larger than 1024 bytes") {
		t.Fatalf("error = %v, want a 413 inputError naming the limit", err)
	}
}

func TestNotificationsFromBody(t *testing.T) {
	t.Parallel()
	body := notificationsBody{
		Mboxes: []displayedMbox{{Name: "cart", State: "ms", EventTokens: []string{"m1"}}},
		Views:  []displayedView{{Name: "home", Key: "hk", State: "vs", EventTokens: []string{"v1", "v2"}}},
	}
	now := time.UnixMilli(1_800_000_000_123)
	n := 0
	newID := func() string { n++; return fmt.Sprintf("id-%d", n) }

	got := body.notifications(now, newID)
	want := []delivery.Notification{
		{ID: "id-1", ImpressionID: "id-2", Type: delivery.MetricDisplay, Timestamp: 1_800_000_000_123,
			Tokens: []string{"v1", "v2"}, View: &delivery.NotificationView{Name: "home", Key: "hk", State: "vs"}},
		{ID: "id-3", ImpressionID: "id-4", Type: delivery.MetricDisplay, Timestamp: 1_800_000_000_123,
			Tokens: []string{"m1"}, Mbox: &delivery.NotificationMbox{Name: "cart", State: "ms"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("notifications =\n%+v\nwant\n%+v", got, want)
	}
	got[0].Tokens[0] = "changed"
	if body.Views[0].EventTokens[0] != "v1" {
		t.Fatal("notifications share their token slices with the body")
	}
}
