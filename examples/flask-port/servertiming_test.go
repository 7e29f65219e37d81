package main

import (
	"fmt"
	"strconv"
	"strings"
)

// parseServerTiming reads a Server-Timing header into metric name →
// duration in milliseconds. Every metric must carry a dur.
func parseServerTiming(header string) (map[string]float64, error) {
	if header == "" {
		return nil, fmt.Errorf("no Server-Timing header")
	}
	out := map[string]float64{}
	for _, metric := range strings.Split(header, ",") {
		parts := strings.Split(strings.TrimSpace(metric), ";")
		name := parts[0]
		found := false
		for _, p := range parts[1:] {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || k != "dur" {
				continue
			}
			d, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, fmt.Errorf("Server-Timing %q: metric %s: dur %q: %w", header, name, v, err)
			}
			out[name] = d
			found = true
		}
		if !found {
			return nil, fmt.Errorf("Server-Timing %q: metric %q has no dur", header, name)
		}
	}
	return out, nil
}
