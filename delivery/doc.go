// Package delivery is the Adobe Target Delivery API v1 wire model: Go types
// for every schema of the Delivery API OpenAPI specification, with the exact
// JSON names, and their JSON.
//
// Conventions:
//
//   - Optional objects are pointers with omitempty; optional strings, slices
//     and maps are omitted when empty.
//   - Optional numbers and booleans whose zero value means something
//     (Context.TimeOffsetInMinutes, Geo.Latitude, ClientHints.Mobile,
//     Order.Total ...) are pointers, so 0 and false survive a round trip.
//   - Enums are typed strings with constants (ChannelWeb, MetricDisplay ...).
//     Decoding accepts any string so that a newer edge never breaks an older
//     client; Valid reports whether a value is one the specification lists.
//   - Offer content (Option.Content, Action.Content) is json.RawMessage and is
//     preserved byte for byte through decode and encode.
//   - Schemas composed with allOf from RequestDetails (MboxRequest,
//     ViewRequest, Notification) are flattened into one struct, so that a
//     literal reads the way the JSON does.
//
// JSON: the types encode and decode with encoding/json. The hot paths of bulk
// work have faster forms that give the same results: AppendResponseJSON and
// AppendRequestJSON (MarshalRequestJSON) write what encoding/json writes, with
// no reflection; and the answer's sections (DeliveryResponse down to Option
// and ResponseTokens) have UnmarshalJSONFrom methods, which the encoding/json/v2
// engine (github.com/go-json-experiment/json) uses. ReadResponse decodes an
// answer through them as it is read from a connection, and refuses what is
// no Delivery API answer; target.Client reads every answer with it.
//
// The package imports nothing of targetflow's: it is the vocabulary every other
// package speaks.
package delivery
