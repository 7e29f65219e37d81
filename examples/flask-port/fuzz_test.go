package main

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzVisitorRequest: no query string or cookie header makes the request
// parsing panic, and every refusal is an inputError.
func FuzzVisitorRequest(f *testing.F) {
	f.Add("mbox=a,b&tntId=1", "mbox=session#x#1|PC#y#2; mboxEdgeCluster=28")
	f.Add("view=%zz&async=maybe", "mbox=%")
	f.Add("mbox=,,,&prefetch=;", "mbox=\"\"; =; ;;")
	f.Add(strings.Repeat("mbox=x,", 60), "mboxEdgeCluster="+strings.Repeat("9", 100))
	f.Add("mbox=hero", "AMCV_1234567890%40AdobeOrg=-1%7CMCMID%7C42; AMCV_1234567890@AdobeOrg=%E0%A4%A")
	f.Fuzz(func(t *testing.T, rawQuery, cookieHeader string) {
		r := &http.Request{Method: http.MethodGet, Host: "127.0.0.1:5000",
			URL: &url.URL{Path: "/executeMbox", RawQuery: rawQuery}, Header: http.Header{}}
		r.Header.Set("Cookie", cookieHeader)
		vr, err := readVisitorRequest(r, defaultOrganizationID)
		var in *inputError
		if err != nil {
			if !errors.As(err, &in) {
				t.Fatalf("error %v is not an inputError", err)
			}
			return
		}
		for _, p := range []string{"mbox", "prefetch", "view"} {
			got, err := names(vr.query, p)
			if err != nil && !errors.As(err, &in) {
				t.Fatalf("names(%s): error %v is not an inputError", p, err)
			}
			for _, n := range got {
				if n == "" || len(got) > maxNamesPerParameter {
					t.Fatalf("names(%s) = %q", p, got)
				}
			}
		}
		if _, err := asyncFlag(vr.query); err != nil && !errors.As(err, &in) {
			t.Fatalf("asyncFlag: error %v is not an inputError", err)
		}
	})
}

// FuzzNotificationsBody: no body makes decoding panic; every refusal is an
// inputError; an accepted body gives one notification per entry.
func FuzzNotificationsBody(f *testing.F) {
	f.Add(`{"mboxes":[{"name":"cart","event_tokens":["t"]}]}`)
	f.Add(`{"views":[{"key":"k","state":"s","event_tokens":["a","b"]}],"mboxes":null}`)
	f.Add(`{"mboxes":[{"name":1}]}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, body string) {
		b, err := decodeNotificationsBody(strings.NewReader(body))
		if err != nil {
			var in *inputError
			if !errors.As(err, &in) {
				t.Fatalf("error %v is not an inputError", err)
			}
			return
		}
		n := b.notifications(time.Unix(0, 0), func() string { return "id" })
		if len(n) != len(b.Mboxes)+len(b.Views) || len(n) == 0 {
			t.Fatalf("%d notifications for %d mboxes and %d views", len(n), len(b.Mboxes), len(b.Views))
		}
	})
}
