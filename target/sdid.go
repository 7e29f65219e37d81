package target

import (
	"math/rand/v2"
	"sync"

	"github.com/targetflow/targetflow/delivery"
)

// DefaultConsumerID is the consumer of calls that name none, as in the
// official SDKs: the global mbox's name.
const DefaultConsumerID = delivery.GlobalMbox

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
// format: two 16-digit upper-case hexadecimal numbers joined by "-". SDIDs
// correlate hits; they are not secrets, so a fast generator is enough.
func newSupplementalDataID() string {
	const hexDigits = "0123456789ABCDEF"
	var id [33]byte
	hi, lo := rand.Uint64(), rand.Uint64()
	for i := 15; i >= 0; i-- {
		id[i] = hexDigits[hi&0xf]
		id[17+i] = hexDigits[lo&0xf]
		hi >>= 4
		lo >>= 4
	}
	id[16] = '-'
	return string(id[:])
}
