package target

import (
	"crypto/rand"
	"encoding/binary"
	"strconv"
	"strings"
	"sync"
)

// DefaultConsumerID is the consumer of calls that name none, as in the
// official SDKs.
const DefaultConsumerID = "target-global-mbox"

// SupplementalDataIDs hands out the supplemental data ids (SDIDs) that
// stitch the Target calls of one page view to its Analytics hit, the way the
// Experience Cloud visitor library does: every consumer gets the current id
// once; a consumer asking again starts a new id. Make one per page view and
// pass it in GetOffersOptions.SupplementalData. It is safe for concurrent use.
type SupplementalDataIDs struct {
	mu        sync.Mutex
	current   string
	consumers map[string]struct{}
}

// NewSupplementalDataIDs returns an empty SDID state for one page view.
func NewSupplementalDataIDs() *SupplementalDataIDs {
	return &SupplementalDataIDs{consumers: map[string]struct{}{}}
}

// For returns the SDID for consumer ("" means DefaultConsumerID).
func (s *SupplementalDataIDs) For(consumer string) string {
	if consumer == "" {
		consumer = DefaultConsumerID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.consumers == nil {
		s.consumers = map[string]struct{}{}
	}
	if _, used := s.consumers[consumer]; s.current == "" || used {
		s.current = newSupplementalDataID()
		clear(s.consumers)
	}
	s.consumers[consumer] = struct{}{}
	return s.current
}

// newSupplementalDataID returns a random SDID in the visitor library's
// format: two 16-digit upper-case hexadecimal numbers joined by "-".
func newSupplementalDataID() string {
	var random [16]byte
	_, _ = rand.Read(random[:]) // crypto/rand.Read never fails on supported platforms
	var b strings.Builder
	b.Grow(33)
	writeHex16(&b, binary.BigEndian.Uint64(random[:8]))
	b.WriteByte('-')
	writeHex16(&b, binary.BigEndian.Uint64(random[8:]))
	return b.String()
}

func writeHex16(b *strings.Builder, v uint64) {
	digits := strings.ToUpper(strconv.FormatUint(v, 16))
	for i := len(digits); i < 16; i++ {
		b.WriteByte('0')
	}
	b.WriteString(digits)
}
