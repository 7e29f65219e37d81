package ondevice

import (
	"math"
	"math/bits"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/targetflow/targetflow/delivery"
)

// campaignBucketSalt ends every allocation key.
const campaignBucketSalt = "0"

// murmur3 32-bit constants.
const (
	murmurC1 = 0xcc9e2d51
	murmurC2 = 0x1b873593
)

// utf16Murmur3 is MurmurHash3 (32-bit, seed 0) over the UTF-16LE encoding of
// the concatenated parts, computed without building the string: Target's
// edge and every SDK hash "unencoded chars" this way.
type utf16Murmur3 struct {
	h       uint32
	pending uint32 // a code unit waiting for its pair
	odd     bool
	units   int
}

func (m *utf16Murmur3) unit(u uint16) {
	m.units++
	if !m.odd {
		m.pending = uint32(u)
		m.odd = true
		return
	}
	k := m.pending | uint32(u)<<16
	m.odd = false
	k *= murmurC1
	k = bits.RotateLeft32(k, 15)
	k *= murmurC2
	m.h ^= k
	m.h = bits.RotateLeft32(m.h, 13)
	m.h = m.h*5 + 0xe6546b64
}

func (m *utf16Murmur3) writeString(s string) {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			m.unit(uint16(c))
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r >= 0x10000 {
			r -= 0x10000
			m.unit(uint16(0xd800 + (r>>10)&0x3ff))
			m.unit(uint16(0xdc00 + r&0x3ff))
			continue
		}
		m.unit(uint16(r))
	}
}

func (m *utf16Murmur3) sum() int32 {
	h := m.h
	if m.odd {
		k := m.pending
		k *= murmurC1
		k = bits.RotateLeft32(k, 15)
		k *= murmurC2
		h ^= k
	}
	h ^= uint32(m.units * 2)
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return int32(h)
}

// allocationFor returns the visitor's allocation (0 to 100, two decimals)
// in an activity: the hash of "client.activityId.visitorId.0" bucketed into
// 10,000 buckets, exactly as the SDKs compute it. The parts are hashed one
// after the other, as the string they make (UTF-16 code units, and the
// separators are ASCII), without building it.
func allocationFor(client, activityID, visitorID string) float64 {
	var m utf16Murmur3
	m.writeString(client)
	m.writeString(".")
	m.writeString(activityID)
	m.writeString(".")
	m.writeString(visitorID)
	m.writeString(".")
	m.writeString(campaignBucketSalt)
	return bucketOf(m.sum())
}

// bucketOf maps a signed hash to an allocation with two decimals.
func bucketOf(hash int32) float64 {
	abs := int64(hash)
	if abs < 0 {
		abs = -abs
	}
	bucket := abs % 10000
	v := float64(bucket) / 10000 * 100
	return math.Floor(v*100+0.5) / 100
}

// AllocationVisitorID returns the id a visitor is allocated by: the
// marketingCloudVisitorId, else the tntId without its location hint, else
// the thirdPartyId, else a new random id.
func AllocationVisitorID(id *delivery.VisitorID) string {
	if id != nil {
		if id.MarketingCloudVisitorID != "" {
			return id.MarketingCloudVisitorID
		}
		if id.TntID != "" {
			tnt, _, _ := strings.Cut(id.TntID, ".")
			return tnt
		}
		if id.ThirdPartyID != "" {
			return id.ThirdPartyID
		}
	}
	return uuid.NewString()
}

// Allocation returns a visitor's allocation (0 to 100, two decimals) in an
// activity for a client code, the value rules compare {"var":"allocation"}
// with. It is the same number every Target SDK computes for this visitor.
func Allocation(client string, activityID int64, visitorID string) float64 {
	return allocationFor(client, activityIDString(activityID), visitorID)
}
