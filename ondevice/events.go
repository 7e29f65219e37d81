package ondevice

import "github.com/targetflow/targetflow/delivery"

// Events are callbacks for what happens to the engine's artifact. Each is
// optional and is called synchronously on the goroutine that caused the
// event (New, the polling goroutine, Refresh or Decide): keep them short.
type Events struct {
	// ClientReady fires once, when New has loaded the first artifact.
	ClientReady func(ClientReadyEvent)
	// ArtifactDownloadSucceeded fires when a downloaded artifact is in use.
	ArtifactDownloadSucceeded func(ArtifactDownloadSucceededEvent)
	// ArtifactDownloadFailed fires for every failed attempt, and for a
	// download that is not a usable artifact.
	ArtifactDownloadFailed func(ArtifactDownloadFailedEvent)
	// GeoLocationUpdated fires when a geo location was learned: from the
	// headers of an artifact download, or by a geo lookup for a request.
	GeoLocationUpdated func(GeoLocationUpdatedEvent)
}

// ClientReadyEvent carries the first artifact.
type ClientReadyEvent struct {
	Artifact *Artifact
}

// ArtifactDownloadSucceededEvent carries the downloaded artifact.
type ArtifactDownloadSucceededEvent struct {
	Location string
	Artifact *Artifact
}

// ArtifactDownloadFailedEvent says which download failed and why.
type ArtifactDownloadFailedEvent struct {
	Location string
	// Attempt counts from 1.
	Attempt int
	Err     error
}

// GeoLocationUpdatedEvent carries a geo location.
type GeoLocationUpdatedEvent struct {
	Geo *delivery.Geo
}
