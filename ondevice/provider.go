package ondevice

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/internal/obfuscation"
	"github.com/targetflow/targetflow/internal/retry"
)

// artifactDownloadRequestID names artifact downloads in telemetry.
const artifactDownloadRequestID = "ArtifactDownload"

// maxArtifactBytes bounds a downloaded artifact.
const maxArtifactBytes = 256 << 20

// DownloadError describes a failed artifact download.
type DownloadError struct {
	Location string
	// Status is the HTTP status, 0 when no response was received.
	Status int
	Err    error
}

func (e *DownloadError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("ondevice: artifact download %s: HTTP %d: %v", e.Location, e.Status, e.Err)
	}
	return fmt.Sprintf("ondevice: artifact download %s: %v", e.Location, e.Err)
}

func (e *DownloadError) Unwrap() error { return e.Err }

var errUnexpectedStatus = errors.New("unexpected status")

// cdnLocation is the default artifact URL.
func (c *config) cdnLocation() string {
	parts := []string{"https://" + CDNHost, c.client, strings.ToLower(c.environment), "rules", fmt.Sprintf("v%d", SupportedArtifactMajorVersion)}
	if c.propertyToken != "" {
		parts = append(parts, c.propertyToken)
	}
	name := "rules.json"
	if c.format == FormatBinary {
		name = "rules.bin"
	}
	return strings.Join(append(parts, name), "/")
}

// run loads the first artifact (from the file, or by download bounded by
// the maximum wait) and then, when polling is on, refreshes it until ctx
// ends. It is the engine's one goroutine.
func (e *Engine) run(ctx context.Context) {
	e.settle(e.loadFirst(ctx))
	interval := e.effectivePollingInterval()
	if !e.polls() {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.clock.After(interval):
		}
		if _, err := e.download(ctx); err != nil && ctx.Err() == nil {
			e.logger.Warn("ondevice: artifact refresh failed; keeping the artifact in use", zap.Error(err))
		}
	}
}

// loadFirst loads the first artifact, from the file or by download bounded
// by the maximum wait.
func (e *Engine) loadFirst(ctx context.Context) error {
	if e.filePath != "" {
		err := e.loadFile()
		if err != nil && e.events.ArtifactDownloadFailed != nil {
			e.events.ArtifactDownloadFailed(ArtifactDownloadFailedEvent{Location: e.filePath, Attempt: 1, Err: err})
		}
		return err
	}
	if e.maxWaitReady > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, e.maxWaitReady,
			fmt.Errorf("no artifact within the maximum wait of %v: %w", e.maxWaitReady, context.DeadlineExceeded))
		defer cancel()
	}
	_, err := e.download(ctx)
	if err != nil && ctx.Err() != nil && !e.closed.Load() {
		return fmt.Errorf("%w; last attempt: %w", context.Cause(ctx), err)
	}
	return err
}

// loadFile reads, decodes and installs the artifact file.
func (e *Engine) loadFile() error {
	data, err := os.ReadFile(e.filePath)
	if err != nil {
		return fmt.Errorf("ondevice: reading artifact file: %w", err)
	}
	format := e.format
	if format == FormatAuto && strings.HasSuffix(strings.ToLower(e.filePath), ".bin") {
		format = FormatBinary
	}
	art, err := e.decodeArtifact(data, format)
	if err != nil {
		return fmt.Errorf("%w (file %s)", err, e.filePath)
	}
	e.install(art)
	e.becomeReady(art)
	return nil
}

// decodeArtifact turns downloaded or given bytes into a prepared artifact,
// deobfuscating rules.bin with the organization id.
func (e *Engine) decodeArtifact(data []byte, format ArtifactFormat) (*Artifact, error) {
	if format == FormatBinary || (format == FormatAuto && obfuscation.IsObfuscated(data)) {
		if e.organizationID == "" {
			return nil, &ConfigError{Field: "organizationId", Reason: "is required to read an obfuscated (rules.bin) artifact"}
		}
		plain, err := obfuscation.Decode(e.organizationID, data)
		if err != nil {
			return nil, &ArtifactError{Err: err}
		}
		data = plain
	}
	return ParseArtifact(data, e.logger)
}

// install decides with art from now on.
func (e *Engine) install(art *Artifact) {
	e.mu.Lock()
	e.retrievals++
	e.lastRetrieved = e.clock.Now()
	e.mu.Unlock()
	e.current.Store(art)
}

// becomeReady marks the engine ready once its first artifact art is
// installed, and fires ClientReady (after the download's own events, as
// the SDKs do).
func (e *Engine) becomeReady(art *Artifact) {
	e.readyOnce.Do(func() {
		close(e.ready)
		if e.events.ClientReady != nil {
			e.events.ClientReady(ClientReadyEvent{Artifact: art})
		}
	})
}

// Refresh downloads the artifact now (with retries) and, when it is valid,
// decides with it from then on. It reports whether a new artifact was
// installed (false on 304 Not Modified). Engines given a payload or a
// file have nothing to refresh.
func (e *Engine) Refresh(ctx context.Context) (bool, error) {
	if e.payloadSet || e.filePath != "" {
		return false, &ConfigError{Field: "artifact", Reason: "a payload or file artifact cannot be refreshed"}
	}
	if e.closed.Load() {
		return false, ErrClosed
	}
	return e.download(ctx)
}

// download fetches the artifact with retries (the module's one retry
// policy: exponential backoff from the configured delay, with jitter, on the
// engine's clock). A failed or invalid download never replaces the artifact
// in use.
func (e *Engine) download(ctx context.Context) (bool, error) {
	policy := retry.Policy{MaxRetries: e.attempts - 1, BaseDelay: e.backoff, MaxDelay: MaxRetryBackoff, After: e.clock.After}
	var installed, retryable bool
	attempt := 0
	_, err := policy.Do(ctx, func(ctx context.Context) error {
		attempt++
		var err error
		installed, retryable, err = e.downloadOnce(ctx)
		if err == nil {
			return nil
		}
		if e.closed.Load() {
			retryable = false
			return ErrClosed // Close ended the download: nothing failed
		}
		if e.events.ArtifactDownloadFailed != nil {
			e.events.ArtifactDownloadFailed(ArtifactDownloadFailedEvent{Location: e.location, Attempt: attempt, Err: err})
		}
		e.logger.Warn("ondevice: artifact download failed", zap.String("location", e.location), zap.Int("attempt", attempt), zap.Error(err))
		return err
	}, func(error) bool { return retryable }, nil)
	switch {
	case err == nil:
		return installed, nil
	case errors.Is(err, ErrClosed):
		return false, ErrClosed
	case retryable && ctx.Err() != nil:
		return false, fmt.Errorf("ondevice: artifact download %s: %w (last error: %v)", e.location, context.Cause(ctx), err)
	case retryable:
		return false, fmt.Errorf("ondevice: artifact not downloaded after %d attempts: %w", attempt, err)
	}
	return false, err
}

// downloadOnce makes one attempt. retry says whether another attempt may
// succeed.
func (e *Engine) downloadOnce(ctx context.Context) (installed, retry bool, err error) {
	started := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.location, nil)
	if err != nil {
		return false, false, &DownloadError{Location: e.location, Err: err}
	}
	e.mu.Lock()
	etag := e.etag
	e.mu.Unlock()
	if etag != "" && e.current.Load() != nil {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := e.httpClient.Do(req)
	if err != nil {
		return false, true, &DownloadError{Location: e.location, Err: err}
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxArtifactBytes))
	e.recordDownloadTelemetry(time.Since(started))
	switch {
	case resp.StatusCode == http.StatusNotModified && e.current.Load() != nil:
		e.logger.Debug("ondevice: artifact not modified", zap.String("location", e.location))
		return false, false, nil
	case resp.StatusCode != http.StatusOK:
		transient := resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout
		return false, transient, &DownloadError{Location: e.location, Status: resp.StatusCode, Err: errUnexpectedStatus}
	case readErr != nil:
		return false, true, &DownloadError{Location: e.location, Status: resp.StatusCode, Err: readErr}
	}
	format := e.format
	if format == FormatAuto && strings.HasSuffix(strings.ToLower(req.URL.Path), ".bin") {
		format = FormatBinary
	}
	art, err := e.decodeArtifact(body, format)
	if err != nil {
		return false, false, err
	}
	e.mu.Lock()
	e.etag = resp.Header.Get("ETag")
	e.mu.Unlock()
	e.install(art)
	if e.events.ArtifactDownloadSucceeded != nil {
		e.events.ArtifactDownloadSucceeded(ArtifactDownloadSucceededEvent{Location: e.location, Artifact: art})
	}
	if e.events.GeoLocationUpdated != nil {
		e.events.GeoLocationUpdated(GeoLocationUpdatedEvent{Geo: GeoFromHeaders(resp.Header)})
	}
	e.becomeReady(art)
	return true, false, nil
}

func (e *Engine) recordDownloadTelemetry(took time.Duration) {
	if !e.telemetryEnabled {
		return
	}
	entry := delivery.TelemetryEntry{
		RequestID: artifactDownloadRequestID,
		Timestamp: delivery.TimestampMillis(e.clock.Now()),
		Execution: durationMillis(took),
	}
	e.mu.Lock()
	e.pendingEntries = append(e.pendingEntries, entry)
	if len(e.pendingEntries) > maxPendingTelemetry {
		e.pendingEntries = e.pendingEntries[len(e.pendingEntries)-maxPendingTelemetry:]
	}
	e.mu.Unlock()
}

// maxPendingTelemetry bounds the engine's untaken telemetry entries.
const maxPendingTelemetry = 100
