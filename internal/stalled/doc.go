// Package stalled serves, for tests, the peer every client must survive: a
// TCP listener on loopback that accepts connections and never answers (an
// artifact CDN or an edge that hangs). Constructors are tested against it
// to show that they return at once and that nothing they start outlives
// Close.
package stalled
