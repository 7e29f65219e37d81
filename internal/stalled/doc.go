// Package stalled serves, for tests, the peers every client must survive:
// a TCP listener on loopback that accepts connections and never answers
// (an artifact CDN or an edge that hangs, [URL]), and one that closes every
// connection as soon as it is made (a peer that is unreachable, [HangUpURL]).
// Constructors are tested against them to show that they return at once
// and that nothing they start outlives Close.
//
// An unreachable peer is a listener that hangs up rather than a port closed
// beforehand: another test's server may take a closed port meanwhile, and
// answer.
package stalled
