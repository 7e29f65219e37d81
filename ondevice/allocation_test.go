package ondevice

import (
	"encoding/binary"
	"testing"
	"unicode/utf16"

	"github.com/targetflow/targetflow/delivery"
)

func TestUTF16Murmur3MatchesReferenceMurmur3(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "a", "ab", "abc", "someClientId.125873.338e3c1e51f7416a8e1ccba4f81acea0.0", "héllo wörld", "emoji 😀 pair", "日本語"} {
		units := utf16.Encode([]rune(s))
		buf := make([]byte, 2*len(units))
		for i, u := range units {
			binary.LittleEndian.PutUint16(buf[2*i:], u)
		}
		want := int32(murmur3Bytes(buf))
		var m utf16Murmur3
		m.writeString(s)
		if got := m.sum(); got != want {
			t.Errorf("hash(%q) = %d; want %d", s, got, want)
		}
	}
}

// murmur3Bytes is the textbook MurmurHash3 x86_32 (seed 0) over bytes, an
// independent reference for the streaming UTF-16 implementation.
func murmur3Bytes(data []byte) uint32 {
	var h uint32
	n := len(data) / 4
	for i := 0; i < n; i++ {
		k := binary.LittleEndian.Uint32(data[4*i:])
		k *= 0xcc9e2d51
		k = k<<15 | k>>17
		k *= 0x1b873593
		h ^= k
		h = h<<13 | h>>19
		h = h*5 + 0xe6546b64
	}
	tail := data[4*n:]
	var k uint32
	switch len(tail) {
	case 3:
		k ^= uint32(tail[2]) << 16
		fallthrough
	case 2:
		k ^= uint32(tail[1]) << 8
		fallthrough
	case 1:
		k ^= uint32(tail[0])
		k *= 0xcc9e2d51
		k = k<<15 | k>>17
		k *= 0x1b873593
		h ^= k
	}
	h ^= uint32(len(data))
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

func TestMurmur3KnownVectors(t *testing.T) {
	t.Parallel()
	// Published MurmurHash3_x86_32 vectors with seed 0.
	for _, tt := range []struct {
		in   string
		want uint32
	}{
		{"", 0},
		{"hello", 0x248bfa47},
		{"Hello, world!", 0xc0363e43},
	} {
		if got := murmur3Bytes([]byte(tt.in)); got != tt.want {
			t.Errorf("murmur3(%q) = %#x; want %#x", tt.in, got, tt.want)
		}
	}
}

func TestBucketOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		hash int32
		want float64
	}{
		{0, 0},
		{9999, 99.99},
		{10000, 0},
		{-12345, 23.45},
		{-2147483648, 36.48},
		{2147483647, 36.47},
	}
	for _, tt := range tests {
		if got := bucketOf(tt.hash); got != tt.want {
			t.Errorf("bucketOf(%d) = %v; want %v", tt.hash, got, tt.want)
		}
	}
}

func TestAllocationVisitorIDPrecedence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		id   *delivery.VisitorID
		want string
	}{
		{"mcid wins", &delivery.VisitorID{MarketingCloudVisitorID: "mc", TntID: "tnt.28_0", ThirdPartyID: "3p"}, "mc"},
		{"tnt without location hint", &delivery.VisitorID{TntID: "tnt.28_0", ThirdPartyID: "3p"}, "tnt"},
		{"third party", &delivery.VisitorID{ThirdPartyID: "3p.x"}, "3p.x"},
	}
	for _, tt := range tests {
		if got := AllocationVisitorID(tt.id); got != tt.want {
			t.Errorf("%s: got %q; want %q", tt.name, got, tt.want)
		}
	}
	if a, b := AllocationVisitorID(nil), AllocationVisitorID(&delivery.VisitorID{}); a == "" || b == "" || a == b {
		t.Errorf("new ids: %q, %q; want two distinct non-empty ids", a, b)
	}
}

// allocationOfKey is the allocation of the whole key string, hashed at once.
func allocationOfKey(client, activityID, visitorID string) float64 {
	var m utf16Murmur3
	m.writeString(client + "." + activityID + "." + visitorID + "." + campaignBucketSalt)
	return bucketOf(m.sum())
}

// TestAllocationHashesPartsAsTheKey: hashing the parts of the allocation
// key one after the other gives the hash of the key string, whatever the
// parts hold (odd lengths, surrogate pairs, invalid UTF-8 at their ends).
func TestAllocationHashesPartsAsTheKey(t *testing.T) {
	t.Parallel()
	parts := []string{"", "a", "someClientId", "125873", "338e3c1e51f7416a8e1ccba4f81acea0", "héllo", "😀", "日本", "\xe2\x82", "\x82\xac", "\xff"}
	for _, client := range parts {
		for _, activity := range parts {
			for _, visitor := range parts {
				if got, want := allocationFor(client, activity, visitor), allocationOfKey(client, activity, visitor); got != want {
					t.Errorf("allocationFor(%q, %q, %q) = %v; the key hashed whole gives %v", client, activity, visitor, got, want)
				}
			}
		}
	}
}

func FuzzAllocationParts(f *testing.F) {
	f.Add("someClientId", "125873", "338e3c1e51f7416a8e1ccba4f81acea0")
	f.Add("c\xe2", "\x82\xac1", "😀")
	f.Fuzz(func(t *testing.T, client, activity, visitor string) {
		if got, want := allocationFor(client, activity, visitor), allocationOfKey(client, activity, visitor); got != want {
			t.Errorf("allocationFor(%q, %q, %q) = %v; the key hashed whole gives %v", client, activity, visitor, got, want)
		}
	})
}
