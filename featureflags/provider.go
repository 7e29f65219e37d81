package featureflags

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/open-feature/go-sdk/openfeature"
	"github.com/sourcegraph/conc"
	"go.uber.org/zap"

	"github.com/targetflow/targetflow/ondevice"
	"github.com/targetflow/targetflow/target"
)

// Name is the provider's name in its Metadata.
const Name = "Adobe Target (targetflow)"

// eventBuffer is the capacity of the event channel. Events are few (one
// per artifact change or failure); when the SDK does not read them, later
// ones are dropped rather than block the client's event goroutine.
const eventBuffer = 64

// status is the provider's own view of its state.
type status int

const (
	statusNotReady status = iota // Init has not run, or failed before any artifact
	statusReady
	statusStale // the last artifact download failed; the one in use may be out of date
	statusError // the last downloaded artifact was refused
)

// Provider is an OpenFeature provider on a target.Client: a flag is an
// attribute of the JSON offers of an mbox, as GetAttributes returns them.
// It implements openfeature.FeatureProvider, openfeature.StateHandler and
// openfeature.ContextAwareStateHandler, openfeature.EventHandler and
// openfeature.Tracker. It is safe for concurrent use.
type Provider struct {
	client    *target.Client
	cfg       config
	configErr error
	events    chan openfeature.Event

	// clickTokens remembers the click-metric tokens of each visitor's last
	// evaluation of an mbox, for Track; seen the visitor-and-activity pairs
	// already counted, with WithImpressionDeduplication.
	clickTokens *lru.Cache[memoryKey, []string]
	seen        *lru.Cache[memoryKey, struct{}]

	sender *sender
	// requests recycles the requests of evaluations (evaluationRequest).
	requests sync.Pool
	// info is what evaluations read of the artifact last seen.
	info atomic.Pointer[artifactInfo]

	mu           sync.Mutex // guards what follows
	initialized  bool       // Init started (and Shutdown has not run since)
	initDone     bool       // Init's wait for the client ended
	state        status
	artifact     *ondevice.Artifact // the artifact last seen
	unsubscribe  []func()
	stopRecovery context.CancelFunc // non-nil while the recovery goroutine runs
	recovering   conc.WaitGroup
}

var (
	_ openfeature.FeatureProvider          = (*Provider)(nil)
	_ openfeature.StateHandler             = (*Provider)(nil)
	_ openfeature.ContextAwareStateHandler = (*Provider)(nil)
	_ openfeature.EventHandler             = (*Provider)(nil)
	_ openfeature.Tracker                  = (*Provider)(nil)
)

// NewProvider returns a provider evaluating flags with client. It does not
// block and starts nothing: Init (SetProviderAndWait) waits for the
// client's first artifact. A nil client or a bad option makes Init fail
// with PROVIDER_FATAL, naming the option.
func NewProvider(client *target.Client, opts ...Option) *Provider {
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	p := &Provider{client: client, cfg: cfg, events: make(chan openfeature.Event, eventBuffer)}
	p.configErr = cfg.validate()
	if p.configErr == nil && client == nil {
		p.configErr = &target.ConfigError{Field: "client", Reason: "must not be nil"}
	}
	if p.configErr != nil {
		return p
	}
	p.clickTokens, _ = lru.New[memoryKey, []string](cfg.trackedVisitors) // errors only for a size < 1
	if cfg.dedupSet {
		p.seen, _ = lru.New[memoryKey, struct{}](cfg.dedup)
	}
	p.sender = newSender(client, cfg.sends, cfg.logger)
	return p
}

// Metadata names the provider.
func (p *Provider) Metadata() openfeature.Metadata { return openfeature.Metadata{Name: Name} }

// Hooks returns none.
func (p *Provider) Hooks() []openfeature.Hook { return nil }

// EventChannel is where the provider reports PROVIDER_READY (after a
// failure is over), PROVIDER_CONFIGURATION_CHANGED (a new artifact, with
// the flag keys whose offers changed), PROVIDER_STALE (an artifact
// download failed: the artifact in use is kept) and PROVIDER_ERROR (a
// downloaded artifact was refused).
func (p *Provider) EventChannel() <-chan openfeature.Event { return p.events }

// Init is InitWithContext without a deadline (the engine's own bound on
// its first download applies).
func (p *Provider) Init(evalCtx openfeature.EvaluationContext) error {
	return p.InitWithContext(context.Background(), evalCtx)
}

// InitWithContext waits until the client can decide (target.Client.WaitReady:
// at once under server-side decisioning, the first artifact under
// on-device and hybrid) and follows the client's artifact events from then
// on. Its error makes the provider ERROR (it becomes READY when an artifact
// arrives later), or FATAL for a bad configuration.
func (p *Provider) InitWithContext(ctx context.Context, _ openfeature.EvaluationContext) error {
	if p.configErr != nil {
		return &openfeature.ProviderInitError{ErrorCode: openfeature.ProviderFatalCode, Message: "featureflags: " + p.configErr.Error()}
	}
	p.mu.Lock()
	if !p.initialized {
		p.initialized = true
		p.sender.open()
		p.unsubscribe = append(p.unsubscribe,
			p.client.Subscribe(target.EventArtifactDownloadSucceeded, func(target.Event) { p.artifactInstalled() }),
			p.client.Subscribe(target.EventArtifactDownloadFailed, func(ev target.Event) { p.downloadFailed(ev.Err) }))
	}
	p.mu.Unlock()

	err := p.client.WaitReady(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.initDone = true
	if err != nil {
		if p.state == statusReady { // an artifact arrived meanwhile
			return nil
		}
		return fmt.Errorf("featureflags: the client has no artifact: %w", err)
	}
	p.state = statusReady
	if engine := p.client.OnDeviceEngine(); engine != nil {
		p.useArtifact(engine.Artifact())
	}
	return nil
}

// Shutdown is ShutdownWithContext without a deadline.
func (p *Provider) Shutdown() { _ = p.ShutdownWithContext(context.Background()) }

// ShutdownWithContext stops following the client's events, stops the
// recovery goroutine and waits for the notifications in flight (each
// bounded by the client's timeout). It does not close the client. The
// provider may be initialized again.
func (p *Provider) ShutdownWithContext(context.Context) error {
	if p.configErr != nil {
		return nil
	}
	p.mu.Lock()
	unsubscribe, stop := p.unsubscribe, p.stopRecovery
	p.unsubscribe, p.stopRecovery = nil, nil
	p.initialized, p.initDone, p.state = false, false, statusNotReady
	p.mu.Unlock()
	for _, u := range unsubscribe {
		u()
	}
	if stop != nil {
		stop()
	}
	p.recovering.Wait()
	p.sender.close()
	return nil
}

// emit hands ev to the SDK without blocking the client's event goroutine.
func (p *Provider) emit(t openfeature.EventType, details openfeature.ProviderEventDetails) {
	select {
	case p.events <- openfeature.Event{ProviderName: Name, EventType: t, ProviderEventDetails: details}:
	default:
		p.cfg.logger.Warn("featureflags: event dropped: nobody reads the provider's events", zap.String("event", string(t)))
	}
}

// useArtifact makes art the artifact evaluations read, and returns the flag
// keys whose offers changed since the previous one. Under p.mu.
func (p *Provider) useArtifact(art *ondevice.Artifact) []string {
	if art == nil || art == p.artifact {
		return nil
	}
	info := newArtifactInfo(art, p.cfg.logger)
	var changed []string
	if previous := p.info.Load(); previous != nil {
		changed = previous.changedFlags(info)
	}
	p.artifact = art
	p.info.Store(info)
	return changed
}

// artifactInstalled handles artifactDownloadSucceeded: a new artifact is in
// use.
func (p *Provider) artifactInstalled() {
	engine := p.client.OnDeviceEngine()
	if engine == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.initialized {
		return
	}
	previous := p.artifact
	changed := p.useArtifact(engine.Artifact())
	if !p.initDone {
		return // Init is waiting: its end reports the state
	}
	if p.state != statusReady {
		p.state = statusReady
		p.emit(openfeature.ProviderReady, openfeature.ProviderEventDetails{Message: "the artifact is current again"})
	}
	if previous != nil && p.artifact != previous {
		p.emit(openfeature.ProviderConfigChange, openfeature.ProviderEventDetails{
			Message:     "a new artifact is in use",
			FlagChanges: changed,
		})
	}
}

// downloadFailed handles artifactDownloadFailed: the artifact in use is
// kept, so the provider is STALE, or ERROR when the download was an
// artifact the engine refused.
func (p *Provider) downloadFailed(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.initDone || p.artifact == nil {
		return // before the first artifact Init reports the failure
	}
	var refused *ondevice.ArtifactError
	switch {
	case errors.As(err, &refused) && p.state != statusError:
		p.state = statusError
		p.emit(openfeature.ProviderError, openfeature.ProviderEventDetails{
			Message:   "featureflags: a downloaded artifact was refused; the one in use is kept: " + errorText(err),
			ErrorCode: openfeature.ParseErrorCode,
		})
	case p.state == statusReady:
		p.state = statusStale
		p.emit(openfeature.ProviderStale, openfeature.ProviderEventDetails{
			Message: "featureflags: an artifact download failed; the artifact in use may be out of date: " + errorText(err),
		})
	}
	p.startRecovery()
}

func errorText(err error) string {
	if err == nil {
		return "unknown error"
	}
	return err.Error()
}

// startRecovery starts, once, the goroutine that asks the engine for its
// artifact until a download succeeds. Under p.mu.
func (p *Provider) startRecovery() {
	if p.stopRecovery != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.stopRecovery = cancel
	p.recovering.Go(func() { p.recover(ctx) })
}

// recover refreshes the engine's artifact every recovery interval until
// the provider is READY again (a 304 is a success: the artifact in use is
// current) or ctx ends.
func (p *Provider) recover(ctx context.Context) {
	ticker := time.NewTicker(p.cfg.recovery)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		engine := p.client.OnDeviceEngine()
		if engine == nil {
			return
		}
		_, err := engine.Refresh(ctx)
		p.mu.Lock()
		var ce *target.ConfigError
		switch {
		case !p.initialized:
		case err == nil:
			// A new artifact is reported by its artifactDownloadSucceeded.
			if p.state != statusReady {
				p.state = statusReady
				p.emit(openfeature.ProviderReady, openfeature.ProviderEventDetails{Message: "the artifact is current again"})
			}
		case errors.As(err, &ce): // an engine without downloads
		default:
			p.mu.Unlock()
			continue
		}
		p.stopRecovery = nil
		p.mu.Unlock()
		return
	}
}
