package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/targetflow/targetflow/delivery"
)

func TestNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		raw     string
		want    []string
		wantErr string
	}{
		{name: "absent", raw: "", want: nil},
		{name: "one", raw: "mbox=navbar", want: []string{"navbar"}},
		{name: "list keeps order", raw: "mbox=a,b,c", want: []string{"a", "b", "c"}},
		{name: "spaces trimmed", raw: "mbox=a,%20b", want: []string{"a", "b"}},
		{name: "empty entry", raw: "mbox=a,,b", wantErr: `query parameter mbox "a,,b": name 2 of 3 is empty`},
		{name: "trailing comma", raw: "mbox=a,", wantErr: "name 2 of 2 is empty"},
		{name: "too many", raw: "mbox=" + strings.Repeat("x,", maxNamesPerParameter) + "x", wantErr: "at most 50 are allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q, err := url.ParseQuery(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			got, err := names(q, "mbox")
			if tt.wantErr != "" {
				var in *inputError
				if !errors.As(err, &in) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("names(%q) error = %v, want an inputError containing %q", tt.raw, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("names(%q) = %q, %v; want %q", tt.raw, got, err, tt.want)
			}
		})
	}
}

func TestAsyncFlag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw     string
		want    bool
		wantErr bool
	}{
		{raw: "", want: false},
		{raw: "async=", want: false},
		{raw: "async=true", want: true},
		{raw: "async=1", want: true},
		{raw: "async=false", want: false},
		{raw: "async=yes", wantErr: true},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.raw)
		got, err := asyncFlag(q)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("asyncFlag(%q) = %v, %v; want %v, error %v", tt.raw, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestReadVisitorRequest(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "http://shop.example:5000/executeMbox?mbox=hero&tntId=t1&thirdPartyId=p1&mcid=m1", nil)
	r.Header.Set("Referer", "http://shop.example:5000/")
	r.Header.Set("User-Agent", "test-agent/1.0")
	r.AddCookie(&http.Cookie{Name: "mbox", Value: "session#abc#1999999999|PC#t1#1999999999"})
	r.AddCookie(&http.Cookie{Name: "mboxEdgeCluster", Value: "35"})

	vr, err := readVisitorRequest(r, defaultOrganizationID)
	if err != nil {
		t.Fatal(err)
	}
	wantID := &delivery.VisitorID{TntID: "t1", ThirdPartyID: "p1", MarketingCloudVisitorID: "m1"}
	if !reflect.DeepEqual(vr.visitorID, wantID) {
		t.Errorf("visitor id = %+v, want %+v", vr.visitorID, wantID)
	}
	if vr.targetCookie != "session#abc#1999999999|PC#t1#1999999999" || vr.locationHint != "35" {
		t.Errorf("cookies = %q, %q", vr.targetCookie, vr.locationHint)
	}
	c := vr.context
	if c.Channel != delivery.ChannelWeb || c.TimeOffsetInMinutes == nil || *c.TimeOffsetInMinutes != 0 {
		t.Errorf("context channel/offset = %q/%v, want web/0", c.Channel, c.TimeOffsetInMinutes)
	}
	if c.Address.URL != "http://shop.example:5000/executeMbox?mbox=hero&tntId=t1&thirdPartyId=p1&mcid=m1" {
		t.Errorf("context url = %q", c.Address.URL)
	}
	if c.Address.ReferringURL != "http://shop.example:5000/" || c.UserAgent != "test-agent/1.0" {
		t.Errorf("context referrer/user agent = %q/%q", c.Address.ReferringURL, c.UserAgent)
	}
}

func TestReadVisitorRequestWithoutIDs(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "/executeMbox?mbox=hero&tntId=", nil)
	vr, err := readVisitorRequest(r, defaultOrganizationID)
	if err != nil {
		t.Fatal(err)
	}
	if vr.visitorID != nil {
		t.Errorf("visitor id = %+v, want nil when no id parameter has a value", vr.visitorID)
	}
	if vr.targetCookie != "" || vr.locationHint != "" {
		t.Errorf("cookies = %q, %q, want none", vr.targetCookie, vr.locationHint)
	}
}

func TestReadVisitorRequestMalformedQuery(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "/executeMbox", nil)
	r.URL.RawQuery = "mbox=%zz"
	_, err := readVisitorRequest(r, defaultOrganizationID)
	var in *inputError
	if !errors.As(err, &in) || in.status() != http.StatusBadRequest || !strings.Contains(err.Error(), "query string") {
		t.Fatalf("error = %v, want a 400 inputError about the query string", err)
	}
}

func TestSampleCustomerIDsAreFresh(t *testing.T) {
	t.Parallel()
	a := sampleCustomerIDs()
	a[0].ID = "changed"
	if b := sampleCustomerIDs(); b[0].ID != "67312378756723456" || b[1].IntegrationCode != "puuid" {
		t.Fatalf("sampleCustomerIDs shares state between calls: %+v", b)
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	if got := truncate("héllo", 2); got != "h…" {
		t.Errorf("truncate cut inside a rune: %q", got)
	}
	if got := truncate("abc", 5); got != "abc" {
		t.Errorf("truncate changed a short string: %q", got)
	}
}
