package delivery

import "sync"

// SharedObjects lets decoders share the JSON objects they decode: an object
// whose bytes equal those of one decoded before is given the object decoded
// then, read-only. Target writes the same response tokens for every visitor
// of an experience (activity, experience, offer and option ids and names),
// and an on-device decision answers with the artifact's own offer bytes, so
// a client decodes each such object once instead of once per visitor
// (DecodeResponse for response tokens; target's GetAttributes for offers).
// It holds at most its count of objects and of bytes of their JSON, and
// starts afresh when full, so that objects that differ per visitor (geo or
// profile tokens) cost a lookup and bounded memory. Safe for concurrent use.
//
// An object decoded with SharedObjects must be treated as read-only, as
// on-device decisions treat the artifact's: copy one before changing it.
type SharedObjects struct {
	mu       sync.Mutex
	objects  map[string]map[string]any
	bytes    int
	maxCount int
	maxBytes int
}

// NewSharedObjects returns SharedObjects holding at most count objects (at
// least 1) and at most maxBytes bytes of their JSON (at least one object's).
func NewSharedObjects(count, maxBytes int) *SharedObjects {
	count = max(count, 1)
	return &SharedObjects{objects: make(map[string]map[string]any, min(count, 64)), maxCount: count, maxBytes: maxBytes}
}

// Lookup returns the object decoded from raw before, or nil.
func (s *SharedObjects) Lookup(raw []byte) map[string]any {
	s.mu.Lock()
	object := s.objects[string(raw)]
	s.mu.Unlock()
	return object
}

// Len returns how many objects s holds.
func (s *SharedObjects) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.objects)
}

// Add remembers object, decoded from raw, for the next Lookup of raw's
// bytes. An object longer than the byte bound is not kept.
func (s *SharedObjects) Add(raw []byte, object map[string]any) { s.add(raw, "", object) }

// add is Add with key, a string of raw's bytes when the caller made one
// already ("" for none): it is kept as the key, saving a copy.
func (s *SharedObjects) add(raw []byte, key string, object map[string]any) {
	if len(raw) > s.maxBytes {
		return
	}
	if key != string(raw) { // compared, not converted: no allocation
		key = string(raw)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, there := s.objects[key]; there {
		s.objects[key] = object // another caller added it first: counted once
		return
	}
	if len(s.objects) >= s.maxCount || s.bytes+len(key) > s.maxBytes {
		clear(s.objects)
		s.bytes = 0
	}
	s.objects[key] = object
	s.bytes += len(key)
}
