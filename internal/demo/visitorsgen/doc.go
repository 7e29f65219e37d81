// Command visitorsgen writes the demo's sample visitors, visitors.jsonl: one
// JSON visitor record per line (the format of "targetflow run"), for the
// locations of the bundled demo artifact. The output is deterministic: the
// same seed and count give the same file.
//
//	go run ./internal/demo/visitorsgen -n 3000 -seed 2026 -o internal/demo/visitors.jsonl
//
// The mix: every visitor executes the hero mbox; about half also execute
// cart (a third of those as gold loyalty members, who get their own
// experience); a quarter prefetch the home and cart views and feature-flags
// and ask for display notifications; a tenth ask for the page load; a tenth
// ask for the remote-only recommendations mbox. Ids alternate between
// tntId, thirdPartyId and marketingCloudVisitorId; browsers between Chrome,
// Safari and Firefox, on web and mobile.
package main
