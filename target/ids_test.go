package target

import (
	"testing"

	"github.com/google/uuid"
)

func TestNewUUID(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		id := newUUID()
		parsed, err := uuid.Parse(id)
		if err != nil || parsed.Version() != 4 || parsed.Variant() != uuid.RFC4122 || parsed.String() != id {
			t.Fatalf("newUUID() = %q: %v (version %v, variant %v)", id, err, parsed.Version(), parsed.Variant())
		}
		if seen[id] {
			t.Fatalf("newUUID() repeated %q", id)
		}
		seen[id] = true
	}
}
