package target

import "math/rand/v2"

// newUUID returns a random (version 4, RFC 4122 variant) UUID in its
// canonical lower-case form, for request and session ids. The ids correlate
// calls and are not secrets, so math/rand/v2's generator (ChaCha8, seeded by
// the runtime, lock-free) serves; it is about three times cheaper than
// crypto/rand per id.
func newUUID() string {
	const hexDigits = "0123456789abcdef"
	hi, lo := rand.Uint64(), rand.Uint64()
	hi = hi&^(0xf<<12) | 0x4<<12 // version 4
	lo = lo&^(0x3<<62) | 0x2<<62 // variant 10
	var id [36]byte
	j := 0
	for i := range 16 {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			id[j] = '-'
			j++
		}
		var b byte
		if i < 8 {
			b = byte(hi >> (56 - 8*i))
		} else {
			b = byte(lo >> (56 - 8*(i-8)))
		}
		id[j], id[j+1] = hexDigits[b>>4], hexDigits[b&0x0f]
		j += 2
	}
	return string(id[:])
}
