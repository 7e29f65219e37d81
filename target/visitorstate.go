package target

import (
	"strconv"
	"strings"

	"github.com/targetflow/targetflow/delivery"
)

// VisitorState is the Experience Cloud visitor state a call leaves behind:
// the customer ids it was given and the supplemental data id (SDID) state
// of Analytics for Target. The page hands it to the Visitor API so that
// the browser's Analytics hit carries the SDID of the server's Target call:
//
//	Visitor.getInstance("ORG@AdobeOrg", {serverState: <VisitorState as JSON>});
//
// It marshals to exactly the JSON the Node.js SDK returns as visitorState
// for the same call:
//
//	{"ORG@AdobeOrg":{"customerIDs":{"crm":{"id":"u1","authState":1}},
//	 "sdid":{"supplementalDataIDCurrent":"…","supplementalDataIDCurrentConsumed":{"payload:target-global-mbox":true},
//	 "supplementalDataIDLastConsumed":{}}}}
//
// The zero VisitorState marshals to {}.
type VisitorState struct {
	// OrganizationID is the Experience Cloud organization, with the
	// "@AdobeOrg" suffix the Visitor API adds when it is missing.
	OrganizationID string
	// CustomerIDs are the call's GetOffersOptions.CustomerIDs (nil when
	// none). In JSON they are keyed by integration code, with the Visitor
	// API's numeric authState (0 unknown, 1 authenticated, 2 logged out);
	// a later id with the same integration code replaces an earlier one.
	CustomerIDs []delivery.CustomerID
	// SupplementalData is the SDID state after the call.
	SupplementalData SupplementalDataState
}

// SupplementalDataState is the Visitor API's SDID state: the current
// supplemental data id and the consumers that have used it, and the one
// before it. A consumer is a caller's ConsumerID ("target-global-mbox" by
// default); in JSON its key is "payload:" + the consumer, as the Visitor
// API writes it.
type SupplementalDataState struct {
	Current          string
	CurrentConsumers []string
	Last             string
	LastConsumers    []string
}

// newVisitorState normalizes the organization id as the Visitor API does.
func newVisitorState(orgID string, customerIDs []delivery.CustomerID, sdid SupplementalDataState) VisitorState {
	if orgID != "" && !strings.Contains(orgID, "@") {
		orgID += "@AdobeOrg"
	}
	var ids []delivery.CustomerID
	for _, id := range customerIDs {
		if id.ID != "" {
			ids = append(ids, id)
		}
	}
	return VisitorState{OrganizationID: orgID, CustomerIDs: ids, SupplementalData: sdid}
}

// MarshalJSON writes v as the Node.js SDK's visitorState.
func (v VisitorState) MarshalJSON() ([]byte, error) {
	return v.AppendJSON(nil), nil
}

// AppendJSON appends the JSON of v (as MarshalJSON writes it) to dst.
func (v VisitorState) AppendJSON(dst []byte) []byte {
	if v.OrganizationID == "" {
		return append(dst, "{}"...)
	}
	dst = append(dst, '{')
	dst = delivery.AppendJSONString(dst, v.OrganizationID)
	dst = append(dst, ":{"...)
	sep := false
	if len(v.CustomerIDs) > 0 {
		dst = append(dst, `"customerIDs":{`...)
		for i, id := range v.CustomerIDs {
			if laterSameCode(v.CustomerIDs[:i], id.IntegrationCode) {
				continue // written at its first position, with the last value
			}
			if i > 0 {
				dst = append(dst, ',')
			}
			last := lastWithCode(v.CustomerIDs[i:], id.IntegrationCode)
			dst = delivery.AppendJSONString(dst, id.IntegrationCode)
			dst = append(dst, `:{"id":`...)
			dst = delivery.AppendJSONString(dst, last.ID)
			dst = append(dst, `,"authState":`...)
			dst = strconv.AppendInt(dst, int64(visitorAuthState(last.AuthenticatedState)), 10)
			dst = append(dst, '}')
		}
		dst = append(dst, '}')
		sep = true
	}
	if s := v.SupplementalData; s.Current != "" || s.Last != "" || len(s.CurrentConsumers) > 0 || len(s.LastConsumers) > 0 {
		if sep {
			dst = append(dst, ',')
		}
		dst = append(dst, `"sdid":{`...)
		if s.Current != "" {
			dst = append(dst, `"supplementalDataIDCurrent":`...)
			dst = delivery.AppendJSONString(dst, s.Current)
			dst = append(dst, ',')
		}
		dst = append(dst, `"supplementalDataIDCurrentConsumed":`...)
		dst = appendConsumers(dst, s.CurrentConsumers)
		if s.Last != "" {
			dst = append(dst, `,"supplementalDataIDLast":`...)
			dst = delivery.AppendJSONString(dst, s.Last)
		}
		dst = append(dst, `,"supplementalDataIDLastConsumed":`...)
		dst = appendConsumers(dst, s.LastConsumers)
		dst = append(dst, '}')
	}
	return append(dst, "}}"...)
}

// laterSameCode reports whether an earlier id has this integration code.
func laterSameCode(earlier []delivery.CustomerID, code string) bool {
	for _, id := range earlier {
		if id.IntegrationCode == code {
			return true
		}
	}
	return false
}

// lastWithCode is the last of ids with this integration code (ids[0] has it).
func lastWithCode(ids []delivery.CustomerID, code string) delivery.CustomerID {
	last := ids[0]
	for _, id := range ids[1:] {
		if id.IntegrationCode == code {
			last = id
		}
	}
	return last
}

// visitorAuthState is the Visitor API's AuthState number of a Delivery API
// authenticated state.
func visitorAuthState(s delivery.AuthenticatedState) int {
	switch s {
	case delivery.AuthAuthenticated:
		return 1
	case delivery.AuthLoggedOut:
		return 2
	}
	return 0
}

const consumerKeyPrefix = "payload:"

func appendConsumers(dst []byte, consumers []string) []byte {
	dst = append(dst, '{')
	for i, c := range consumers {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = delivery.AppendJSONString(dst, consumerKeyPrefix+c)
		dst = append(dst, ":true"...)
	}
	return append(dst, '}')
}
