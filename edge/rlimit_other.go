//go:build !unix

package edge

// openFileLimit is unknown off Unix: the default connection limit applies.
func openFileLimit() (uint64, bool) { return 0, false }
