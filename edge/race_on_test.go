//go:build race

package edge_test

// raceDetector says whether the tests run under the race detector, which
// makes decoding a megabyte of JSON twenty times slower: the heavy tests
// scale their payloads down under it (and say so).
const raceDetector = true
