package edge

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// maxArtifactBytes bounds what LoadArtifact reads.
const maxArtifactBytes = 64 << 20

// LoadArtifact reads an artifact (rules.json, or rules.bin) from a file path
// or an http(s) URL. client may be nil (http.DefaultClient). It does not
// check the content; New and SetArtifact do.
func LoadArtifact(ctx context.Context, client *http.Client, source string) ([]byte, error) {
	if !strings.HasPrefix(source, "http://") && !strings.HasPrefix(source, "https://") {
		data, err := os.ReadFile(source)
		if err != nil {
			return nil, fmt.Errorf("edge: reading artifact: %w", err)
		}
		return data, nil
	}
	if _, err := url.Parse(source); err != nil {
		return nil, fmt.Errorf("edge: artifact URL %q: %w", source, err)
	}
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, source, nil)
	if err != nil {
		return nil, fmt.Errorf("edge: artifact URL %q: %w", source, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("edge: fetching artifact: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("edge: fetching artifact %s: HTTP %d", source, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxArtifactBytes+1))
	if err != nil {
		return nil, fmt.Errorf("edge: reading artifact from %s: %w", source, err)
	}
	if len(data) > maxArtifactBytes {
		return nil, fmt.Errorf("edge: artifact at %s is larger than %d bytes", source, maxArtifactBytes)
	}
	return data, nil
}
