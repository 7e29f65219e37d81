// Command gen writes targetflow's bundled demo artifact, internal/demo/artifact.json:
// the on-device decisioning rules of a small retail site.
//
//	go run ./internal/demo/gen > internal/demo/artifact.json
//
// (or "go generate ./internal/demo"). The content is targetflow's own; only the
// shape follows Adobe's artifact format (version 1.0.0). Activities:
//
//	910001 hero            A/B test, 50/50, JSON offers (headline, image, call to action)
//	910002 cart            experience targeting: loyalty tier "gold" (mbox parameter
//	                       loyaltyTier), then Safari browsers, then everybody else (HTML)
//	910003 feature-flags   A/B test, 50/50, JSON attributes for GetAttributes
//	910004 view home       A/B test, 50/50, page modifications and a click metric
//	910005 view cart       experience targeting by browser (Chrome vs. others)
//	910006 target-global-mbox  pageLoad A/B test, 50/50, page modifications
//	910007 recommendations A/B test, 50/50, JSON; remote-only: listed in
//	                       remoteMboxes, so on-device clients ask the edge, which
//	                       still holds (and evaluates) its rules
//
// Event tokens are derived from the activity and experience ids (a SHA-256,
// base64), so regenerating gives the same file byte for byte.
package main
