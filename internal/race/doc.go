// Package race says whether the binary was built with the race detector,
// which makes decoding and serving several times slower: the heavy tests
// scale their payloads and bursts down under it, and say so.
package race
