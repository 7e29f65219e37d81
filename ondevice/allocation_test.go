package ondevice

import (
	"encoding/binary"
	"testing"
	"unicode/utf16"

	"github.com/spaolacci/murmur3"

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
		want := int32(murmur3.Sum32WithSeed(buf, 0))
		var m utf16Murmur3
		m.writeString(s)
		if got := m.sum(); got != want {
			t.Errorf("hash(%q) = %d; want %d", s, got, want)
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
