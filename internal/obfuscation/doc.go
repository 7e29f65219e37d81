// Package obfuscation reads and writes the obfuscated form of an on-device
// decisioning artifact ("rules.bin"), format version 1, as served by the
// Target CDN next to the plain "rules.json".
//
// Layout of a version 1 file:
//
//	offset  0..3   prefix "ATOD"
//	offset  4      ':'
//	offset  5..7   version, three ASCII digits ("001")
//	offset  8..39  key, 32 printable ASCII bytes
//	offset 40..    payload: the artifact JSON, each byte XOR'ed with the
//	               bytes of organizationID+key, repeating from the start
//
// The organization id is part of the key, so a file can only be read by
// whoever knows the organization it was written for. A wrong organization id
// (or a damaged payload) yields bytes that are not a JSON object, which
// Decode reports as ErrWrongKey rather than handing back garbage.
package obfuscation
