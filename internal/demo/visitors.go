package demo

import (
	_ "embed"
)

//go:generate go run ./visitorsgen -n 3000 -seed 2026 -o visitors.jsonl

//go:embed visitors.jsonl
var visitorsJSONL []byte

// VisitorCount is the number of records in Visitors.
const VisitorCount = 3000

// Visitors returns the bundled sample visitors: VisitorCount JSON visitor
// records, one per line, for the locations of the demo artifact (see
// ./visitorsgen for the mix). Each call returns a fresh copy.
func Visitors() []byte {
	return append([]byte(nil), visitorsJSONL...)
}
