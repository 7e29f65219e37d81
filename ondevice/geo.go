package ondevice

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/targetflow/targetflow/delivery"
)

// GeoLookupURL is the Target geo service: it answers the location of the
// address in X-Forwarded-For (or of the caller) as x-geo-* keys.
const GeoLookupURL = "https://" + CDNHost + "/v1/geo"

// Geo header names, used by the geo service, by CDN artifact responses and
// by edges that forward a visitor's location.
const (
	HeaderForwardedFor = "x-forwarded-for"
	HeaderGeoLatitude  = "x-geo-latitude"
	HeaderGeoLongitude = "x-geo-longitude"
	HeaderGeoCountry   = "x-geo-country-code"
	HeaderGeoRegion    = "x-geo-region-code"
	HeaderGeoCity      = "x-geo-city"
)

// GeoLookupFunc resolves the location of an IP address ("" for the
// caller's own address).
type GeoLookupFunc func(ctx context.Context, ipAddress string) (*delivery.Geo, error)

// HTTPGeoLookup returns a lookup against a geo service that answers a GET
// with a JSON object of x-geo-* keys, as the Target geo service does.
func HTTPGeoLookup(client *http.Client, url string) GeoLookupFunc {
	return func(ctx context.Context, ip string) (*delivery.Geo, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, fmt.Errorf("ondevice: geo lookup: %w", err)
		}
		if ip != "" {
			req.Header.Set(HeaderForwardedFor, ip)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("ondevice: geo lookup: %w", err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return nil, fmt.Errorf("ondevice: geo lookup: reading answer: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("ondevice: geo lookup %s: HTTP %d", url, resp.StatusCode)
		}
		var payload map[string]any
		if err := json.Unmarshal(body, &payload); err != nil {
			return nil, fmt.Errorf("ondevice: geo lookup %s: answer is not a JSON object: %w", url, err)
		}
		return GeoFromValues(func(key string) (string, bool) {
			v, ok := payload[key]
			if !ok || v == nil {
				return "", false
			}
			return jsString(v), true
		}), nil
	}
}

// GeoFromHeaders reads a location from x-geo-* (and x-forwarded-for)
// headers; absent headers leave their fields empty.
func GeoFromHeaders(h http.Header) *delivery.Geo {
	return GeoFromValues(func(key string) (string, bool) {
		vals := h.Values(key)
		if len(vals) == 0 {
			return "", false
		}
		return vals[0], true
	})
}

// GeoFromValues builds a location from a lookup of x-geo-* keys.
func GeoFromValues(get func(key string) (string, bool)) *delivery.Geo {
	g := &delivery.Geo{}
	if v, ok := get(HeaderForwardedFor); ok {
		g.IPAddress = v
	}
	if v, ok := get(HeaderGeoLatitude); ok {
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			g.Latitude = &f
		}
	}
	if v, ok := get(HeaderGeoLongitude); ok {
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			g.Longitude = &f
		}
	}
	if v, ok := get(HeaderGeoCountry); ok {
		g.CountryCode = v
	}
	if v, ok := get(HeaderGeoRegion); ok {
		g.StateCode = v
	}
	if v, ok := get(HeaderGeoCity); ok {
		g.City = v
	}
	return g
}
