package edge

import "testing"

func TestAutomaticConnectionLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		soft  uint64
		known bool
		want  int
	}{
		{0, false, DefaultMaxConnections},      // off Unix: the default
		{1 << 20, true, DefaultMaxConnections}, // plenty of files
		{20000, true, DefaultMaxConnections},
		{1024, true, 736}, // ulimit -n 1024: 768 with the reserve, 256 files left over
		{256, true, 160},
		{64, true, 16},
		{40, true, 1}, // hardly any files: one connection, and the reserve
		{0, true, 1},
	} {
		if got := automaticConnectionLimit(tc.soft, tc.known); got != tc.want {
			t.Errorf("automaticConnectionLimit(%d, %v) = %d, want %d", tc.soft, tc.known, got, tc.want)
		}
	}
}
