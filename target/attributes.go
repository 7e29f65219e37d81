package target

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"strconv"

	"github.com/targetflow/targetflow/delivery"
)

// ErrAttributeNotFound is matched (errors.Is) by the AttributeError of a
// missing mbox or key.
var ErrAttributeNotFound = errors.New("attribute not found")

// AttributeError reports a missing attribute or one of another type than
// asked for.
type AttributeError struct {
	Mbox string
	Key  string
	// Want is the type asked for ("string", "bool", "int", "float"); empty
	// when the attribute is missing.
	Want string
	// Got is the attribute's value when it has another type.
	Got any
}

func (e *AttributeError) Error() string {
	if e.Want == "" {
		return fmt.Sprintf("target: attribute %q does not exist for mbox %q", e.Key, e.Mbox)
	}
	return fmt.Sprintf("target: attribute %q of mbox %q is %s (%v), not %s", e.Key, e.Mbox, jsonKind(e.Got), e.Got, e.Want)
}

// Is makes errors.Is(err, ErrAttributeNotFound) true for missing attributes.
func (e *AttributeError) Is(target error) bool {
	return target == ErrAttributeNotFound && e.Want == ""
}

// Attributes is the view GetAttributes returns: the JSON offers of each
// mbox merged into one attribute map per mbox (prefetched then executed
// mboxes, later offers overriding earlier keys, as the SDKs merge them).
// Numbers are json.Number, so integers keep their precision. Safe for
// concurrent reads.
type Attributes struct {
	response *Response
	// mboxes holds the attributes of each mbox that has some, found by a
	// linear scan (GetAttributes asks for few mboxes); first is its storage
	// for the first one, so that a one-mbox call allocates no more.
	mboxes []mboxAttributes
	first  [1]mboxAttributes
}

// mboxAttributes are the attributes of one mbox: the map of its first JSON
// offer as decoded (possibly shared, see sharedOffers: never modified or
// handed out), or a map of their own (owned) once a second offer merges in.
type mboxAttributes struct {
	name  string
	attrs map[string]any
	owned bool
}

// newAttributes indexes the JSON offers of resp by mbox. Offers seen
// before are read from shared (see sharedOffers) rather than decoded again.
func newAttributes(resp *Response, shared *sharedOffers) (*Attributes, error) {
	a := &Attributes{response: resp}
	a.mboxes = a.first[:0]
	if resp == nil || resp.Response == nil {
		return a, nil
	}
	if pf := resp.Response.Prefetch; pf != nil {
		if err := a.merge(pf.Mboxes, shared); err != nil {
			return nil, err
		}
	}
	if ex := resp.Response.Execute; ex != nil {
		if err := a.merge(ex.Mboxes, shared); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// merge adds the JSON offers of mboxes, later offers overriding the keys
// of earlier ones.
func (a *Attributes) merge(mboxes []delivery.MboxResponse, shared *sharedOffers) error {
	for i := range mboxes {
		m := &mboxes[i]
		for j := range m.Options {
			opt := &m.Options[j]
			if opt.Type != delivery.OptionJSON || len(opt.Content) == 0 {
				continue
			}
			content, err := shared.decode(opt.Content)
			if err != nil {
				return fmt.Errorf("target: json offer %d of mbox %q: %w", j, m.Name, err)
			}
			if content == nil {
				continue
			}
			ma := a.lookup(m.Name)
			if ma == nil {
				a.mboxes = append(a.mboxes, mboxAttributes{name: m.Name, attrs: content})
				continue
			}
			if !ma.owned {
				ma.attrs, ma.owned = maps.Clone(ma.attrs), true
			}
			maps.Copy(ma.attrs, content)
		}
	}
	return nil
}

// lookup returns the attributes of mbox, or nil when it has none.
func (a *Attributes) lookup(mbox string) *mboxAttributes {
	for i := range a.mboxes {
		if a.mboxes[i].name == mbox {
			return &a.mboxes[i]
		}
	}
	return nil
}

// sharedOffers lets a client's GetAttributes calls share the JSON offers
// they decode: an offer whose bytes equal those of one decoded before is
// given the object decoded then. An on-device decision answers with the
// artifact's own offer bytes, and Target sends the same offer to every
// visitor of an experience, so decoding each offer once is most of the
// cost of GetAttributes saved. Only flat objects are shared (every value a
// string, number, bool or null, which nobody can modify): an offer with an
// object or array inside is decoded afresh for every call, as the caller
// may change what Value returns. It holds at most sharedOfferBytes of
// offers and starts afresh when full, so that offers that differ per
// visitor cost a lookup and bounded memory (delivery.SharedObjects). The
// zero value shares nothing; safe for concurrent use.
type sharedOffers struct{ objects *delivery.SharedObjects }

// The bounds of a client's shared offers: their count, and the bytes of
// their JSON.
const (
	sharedOfferObjects = 4096
	sharedOfferBytes   = 1 << 20
)

func newSharedOffers() sharedOffers {
	return sharedOffers{objects: delivery.NewSharedObjects(sharedOfferObjects, sharedOfferBytes)}
}

// decode is decodeJSONObject, sharing flat objects.
func (s *sharedOffers) decode(raw json.RawMessage) (map[string]any, error) {
	if s.objects != nil {
		if content := s.objects.Lookup(raw); content != nil {
			return content, nil
		}
	}
	content, err := decodeJSONObject(raw)
	if err == nil && content != nil && s.objects != nil && flatObject(content) {
		s.objects.Add(raw, content)
	}
	return content, err
}

// flatObject reports whether every value of content is immutable: a
// string, a number, a bool or null.
func flatObject(content map[string]any) bool {
	for _, v := range content {
		switch v.(type) {
		case string, json.Number, bool, nil:
		default:
			return false
		}
	}
	return true
}

// decodeJSONObject decodes an offer's content; content that is not an
// object (null, or a JSON string holding an object, as some edges send)
// is handled: null gives nil, a string is decoded once more.
func decodeJSONObject(raw json.RawMessage) (map[string]any, error) {
	raw = bytes.TrimSpace(raw)
	if bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	if len(raw) > 0 && raw[0] == '"' {
		var inner string
		if err := json.Unmarshal(raw, &inner); err != nil {
			return nil, err
		}
		raw = []byte(inner)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var content map[string]any
	if err := dec.Decode(&content); err != nil {
		return nil, fmt.Errorf("content is not a JSON object: %w", err)
	}
	return content, nil
}

// Response returns the GetOffers response the attributes come from.
func (a *Attributes) Response() *Response { return a.response }

// Value returns the attribute key of mbox, or an *AttributeError (matching
// ErrAttributeNotFound) naming the mbox and key when there is none.
func (a *Attributes) Value(mbox, key string) (any, error) {
	ma := a.lookup(mbox)
	if ma == nil {
		return nil, &AttributeError{Mbox: mbox, Key: key}
	}
	v, ok := ma.attrs[key]
	if !ok {
		return nil, &AttributeError{Mbox: mbox, Key: key}
	}
	return v, nil
}

// String returns a string attribute.
func (a *Attributes) String(mbox, key string) (string, error) {
	v, err := a.Value(mbox, key)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", &AttributeError{Mbox: mbox, Key: key, Want: "string", Got: v}
	}
	return s, nil
}

// Bool returns a boolean attribute.
func (a *Attributes) Bool(mbox, key string) (bool, error) {
	v, err := a.Value(mbox, key)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, &AttributeError{Mbox: mbox, Key: key, Want: "bool", Got: v}
	}
	return b, nil
}

// Int returns a numeric attribute that is a whole number (1, -3, 2.0,
// 1e3) as an int64.
func (a *Attributes) Int(mbox, key string) (int64, error) {
	v, err := a.Value(mbox, key)
	if err != nil {
		return 0, err
	}
	n, ok := v.(json.Number)
	if !ok {
		return 0, &AttributeError{Mbox: mbox, Key: key, Want: "int", Got: v}
	}
	if i, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
		return i, nil
	}
	f, err := n.Float64()
	if err != nil || f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, &AttributeError{Mbox: mbox, Key: key, Want: "int", Got: v}
	}
	return int64(f), nil
}

// Float returns a numeric attribute as a float64.
func (a *Attributes) Float(mbox, key string) (float64, error) {
	v, err := a.Value(mbox, key)
	if err != nil {
		return 0, err
	}
	n, ok := v.(json.Number)
	if !ok {
		return 0, &AttributeError{Mbox: mbox, Key: key, Want: "float", Got: v}
	}
	f, err := n.Float64()
	if err != nil {
		return 0, &AttributeError{Mbox: mbox, Key: key, Want: "float", Got: v}
	}
	return f, nil
}

// AsMap returns a copy of the attributes of mbox; it is empty when the mbox
// has none, as the SDKs' asObject(mbox).
func (a *Attributes) AsMap(mbox string) map[string]any {
	if ma := a.lookup(mbox); ma != nil {
		return maps.Clone(ma.attrs)
	}
	return map[string]any{}
}

// All returns a copy of every mbox's attributes, keyed by mbox name.
func (a *Attributes) All() map[string]map[string]any {
	all := make(map[string]map[string]any, len(a.mboxes))
	for _, ma := range a.mboxes {
		all[ma.name] = maps.Clone(ma.attrs)
	}
	return all
}

// MarshalJSON encodes All(), as the SDKs' toJSON.
func (a *Attributes) MarshalJSON() ([]byte, error) {
	byMbox := make(map[string]map[string]any, len(a.mboxes))
	for _, ma := range a.mboxes {
		byMbox[ma.name] = ma.attrs
	}
	return json.Marshal(byMbox)
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a bool"
	case json.Number, float64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
