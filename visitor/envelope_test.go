package visitor_test

import (
	"bytes"
	"testing"

	"github.com/targetflow/targetflow/visitor"
)

func TestKeepRaw(t *testing.T) {
	t.Parallel()
	long := bytes.Repeat([]byte("é"), visitor.MaxRawBytes) // 2 bytes each: cut inside one
	tests := []struct {
		name    string
		record  []byte
		wantLen int
		wantRaw int
	}{
		{"short", []byte(`{"id":`), 0, 6},
		{"cut at a character boundary", long, len(long), visitor.MaxRawBytes},
		{"binary: at most 3 bytes back", bytes.Repeat([]byte{0x80}, visitor.MaxRawBytes+10), visitor.MaxRawBytes + 10, visitor.MaxRawBytes - 3},
	}
	for _, tt := range tests {
		var e visitor.Envelope
		e.KeepRaw(tt.record)
		if len(e.Raw) != tt.wantRaw || e.RawLength != tt.wantLen {
			t.Errorf("%s: kept %d bytes, RawLength %d; want %d, %d", tt.name, len(e.Raw), e.RawLength, tt.wantRaw, tt.wantLen)
		}
		if len(tt.record) > 0 && &e.Raw[0] == &tt.record[0] {
			t.Errorf("%s: kept the record's own bytes, not a copy", tt.name)
		}
	}
}
