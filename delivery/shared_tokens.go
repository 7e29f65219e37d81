package delivery

import "sync"

// SharedTokens lets the answers a decoder reads share their response-token
// maps: a token object whose bytes equal those of one decoded before is
// given the map decoded then, read-only. Target writes the same tokens for
// every visitor of an experience (activity, experience, offer and option
// ids and names), so a bulk run decodes each object once instead of once
// per visitor. It holds at most its size of objects and starts afresh when
// full, so that tokens that differ per visitor (geo or profile tokens) cost
// a lookup and bounded memory. Safe for concurrent use.
//
// An answer decoded with SharedTokens must treat its response-token maps
// as read-only, as on-device decisions treat theirs: copy one before
// changing it.
type SharedTokens struct {
	mu   sync.Mutex
	maps map[string]ResponseTokens
	size int
}

// NewSharedTokens returns SharedTokens holding at most size token objects
// (at least 1).
func NewSharedTokens(size int) *SharedTokens {
	size = max(size, 1)
	return &SharedTokens{maps: make(map[string]ResponseTokens, min(size, 64)), size: size}
}

// lookup returns the map decoded from raw before, or nil.
func (t *SharedTokens) lookup(raw []byte) ResponseTokens {
	t.mu.Lock()
	tokens := t.maps[string(raw)]
	t.mu.Unlock()
	return tokens
}

// add remembers tokens, decoded from raw.
func (t *SharedTokens) add(raw []byte, tokens ResponseTokens) {
	key := string(raw)
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.maps) >= t.size {
		clear(t.maps)
	}
	t.maps[key] = tokens
}
