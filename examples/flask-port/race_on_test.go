//go:build race

package main

// raceDetector says whether the tests run under the race detector, which
// makes the app several times slower: the burst test sends fewer requests
// under it (still more than the app has files).
const raceDetector = true
