package edge

import (
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// counterValue reads the value of a counter.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func newTestServer(t *testing.T, opts ...Option) *Server {
	t.Helper()
	s, err := New(DemoArtifact(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestReadBody checks the body limit with and without a Content-Length,
// bodies that arrive in pieces, read errors, and that a recycled buffer
// holds nothing of the body before.
func TestReadBody(t *testing.T) {
	t.Parallel()
	const limit = 64
	s := newTestServer(t, WithMaxBodyBytes(limit))
	readErr := errors.New("connection lost")
	tests := []struct {
		name          string
		body          io.Reader
		contentLength int64
		want          string
		wantErr       error
	}{
		{"empty", strings.NewReader(""), 0, "", nil},
		{"known length", strings.NewReader(`{"a":1}`), 7, `{"a":1}`, nil},
		{"unknown length", strings.NewReader(`{"a":1}`), -1, `{"a":1}`, nil},
		{"one byte at a time", iotest.OneByteReader(strings.NewReader(`{"a":1}`)), 7, `{"a":1}`, nil},
		{"exactly the limit", strings.NewReader(strings.Repeat("x", limit)), limit, strings.Repeat("x", limit), nil},
		{"exactly the limit, unknown length", strings.NewReader(strings.Repeat("x", limit)), -1, strings.Repeat("x", limit), nil},
		{"over the limit", strings.NewReader(strings.Repeat("x", limit+1)), limit + 1, "", &http.MaxBytesError{Limit: limit}},
		{"over the limit, unknown length", strings.NewReader(strings.Repeat("x", 10*limit)), -1, "", &http.MaxBytesError{Limit: limit}},
		{"over the limit, short Content-Length", strings.NewReader(strings.Repeat("x", 10*limit)), 3, "", &http.MaxBytesError{Limit: limit}},
		{"read error", iotest.ErrReader(readErr), 10, "", readErr},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "/rest/v1/delivery", tc.body)
			r.ContentLength = tc.contentLength
			buf := &[]byte{}
			*buf = append(*buf, "left over from the request before"...)
			got, err := s.readBody(r, buf)
			if tc.wantErr != nil {
				var tooLarge *http.MaxBytesError
				if want, ok := tc.wantErr.(*http.MaxBytesError); ok {
					if !errors.As(err, &tooLarge) || tooLarge.Limit != want.Limit {
						t.Fatalf("error %v, want a MaxBytesError with limit %d", err, want.Limit)
					}
					return
				}
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
			if cap(*buf) < len(got) {
				t.Errorf("buffer cap %d not kept for reuse (body %d bytes)", cap(*buf), len(got))
			}
		})
	}
}

func TestMintTntID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []Option
		want *regexp.Regexp
	}{
		{"cluster routing", []Option{WithCluster(35)}, regexp.MustCompile(`^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}\.35_0$`)},
		{"no cluster routing", []Option{WithClusterRouting(false)}, regexp.MustCompile(`^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t, tc.opts...)
			a, b := s.mintTntID(), s.mintTntID()
			if !tc.want.MatchString(a) || !tc.want.MatchString(b) || a == b {
				t.Fatalf("minted %q and %q, want two different ids matching %s", a, b, tc.want)
			}
		})
	}
}

func TestEdgeHost(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithCluster(7))
	for cluster, want := range map[int]string{7: "mboxedge7.tt.omtrdc.net", 35: "mboxedge35.tt.omtrdc.net", 999: "mboxedge999.tt.omtrdc.net"} {
		if got := s.edgeHost(cluster); got != want {
			t.Errorf("edgeHost(%d) = %q, want %q", cluster, got, want)
		}
	}
}

// TestCountOfferSeries checks that cached counters count into the series
// fmt.Sprint names, whatever the type of the ids.
func TestCountOfferSeries(t *testing.T) {
	t.Parallel()
	m := newMetrics()
	negativeZero := math.Copysign(0, -1)
	for range 3 {
		m.countOffer("hero", float64(910001), float64(1))
		m.countOffer("hero", "910001", "1")
		m.countOffer("hero", 910001, nil)
		m.countOffer("hero", 0.0, negativeZero)
		m.countOffer("hero", 0.0, 0.0)
		m.countOffer("hero", math.NaN(), []any{"a"})
		m.countOffer("cart", float64(1.5e6), true)
	}
	for _, tc := range []struct {
		location, activity, experience string
		want                           float64
	}{
		{"hero", "910001", "1", 6},
		{"hero", "910001", "<nil>", 3},
		{"hero", "0", "-0", 3},
		{"hero", "0", "0", 3},
		{"hero", "NaN", "[a]", 3},
		{"cart", "1.5e+06", "true", 3},
	} {
		got := counterValue(t, m.offers.WithLabelValues(tc.location, tc.activity, tc.experience))
		if got != tc.want {
			t.Errorf("offers{%s,%s,%s} = %v, want %v", tc.location, tc.activity, tc.experience, got, tc.want)
		}
	}
	m.countRequest(endpointDelivery, http.StatusOK)
	m.countRequest(endpointDelivery, http.StatusOK)
	if got := counterValue(t, m.requests.WithLabelValues(endpointDelivery, "200")); got != 2 {
		t.Errorf("requests{delivery,200} = %v, want 2", got)
	}
}
