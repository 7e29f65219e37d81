package target

import (
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/targetflow/targetflow/delivery"
)

// DefaultConsumerID is the consumer of calls that name none, as in the
// official SDKs: the global mbox's name.
const DefaultConsumerID = delivery.GlobalMbox

// SupplementalDataIDs hands out the supplemental data ids (SDIDs) that
// stitch the Target calls of one page view to its Analytics hit, the way the
// Experience Cloud visitor library does: every consumer gets the current id
// once; a consumer asking again starts a new id, and a consumer that has not
// used the previous id yet gets that one. Make one per page view and pass it
// in GetOffersOptions.SupplementalData. It is safe for concurrent use.
type SupplementalDataIDs struct {
	mu    sync.Mutex
	state SupplementalDataState
}

// NewSupplementalDataIDs returns an empty SDID state for one page view.
func NewSupplementalDataIDs() *SupplementalDataIDs {
	return &SupplementalDataIDs{}
}

// For returns the SDID for consumer ("" means DefaultConsumerID).
func (s *SupplementalDataIDs) For(consumer string) string {
	id, _ := s.take(consumer, false)
	return id
}

// State returns a copy of the current SDID state, as VisitorState carries
// it.
func (s *SupplementalDataIDs) State() SupplementalDataState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.clone()
}

// take hands consumer its SDID as the visitor library's
// supplementalDataIDFactory getID does, and, when snapshot is set, returns
// the state right after.
func (s *SupplementalDataIDs) take(consumer string, snapshot bool) (string, SupplementalDataState) {
	if consumer == "" {
		consumer = DefaultConsumerID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.state
	if st.Current == "" {
		st.Current = newSupplementalDataID()
	}
	id := st.Current
	switch {
	case st.Last != "" && !slices.Contains(st.LastConsumers, consumer):
		// This consumer has not used the previous id: it joins that hit.
		id = st.Last
		st.LastConsumers = append(st.LastConsumers, consumer)
	case slices.Contains(st.CurrentConsumers, consumer):
		// A consumer asking again starts a new hit; the old one becomes
		// the last.
		st.Last, st.LastConsumers = st.Current, st.CurrentConsumers
		st.Current = newSupplementalDataID()
		st.CurrentConsumers = []string{consumer}
		id = st.Current
	default:
		st.CurrentConsumers = append(st.CurrentConsumers, consumer)
	}
	if !snapshot {
		return id, SupplementalDataState{}
	}
	return id, st.clone()
}

func (st SupplementalDataState) clone() SupplementalDataState {
	st.CurrentConsumers = slices.Clone(st.CurrentConsumers)
	st.LastConsumers = slices.Clone(st.LastConsumers)
	return st
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

// supplementalDataID is the SDID of a call and the SDID state it leaves:
// the request's own SDID when it has one (the caller's state, or a state of
// that id alone), else the caller's SupplementalDataIDs' id for the
// consumer, else a fresh id, as the Node.js SDK's fresh Visitor gives it.
func supplementalDataID(requestSDID string, opts callOptions) (string, SupplementalDataState) {
	consumer := opts.consumerID
	if consumer == "" {
		consumer = DefaultConsumerID
	}
	switch {
	case requestSDID != "" && opts.supplementalData != nil:
		return requestSDID, opts.supplementalData.State()
	case requestSDID != "":
		return requestSDID, SupplementalDataState{Current: requestSDID, CurrentConsumers: []string{consumer}}
	case opts.supplementalData != nil:
		return opts.supplementalData.take(consumer, true)
	}
	id := newSupplementalDataID()
	return id, SupplementalDataState{Current: id, CurrentConsumers: []string{consumer}}
}
