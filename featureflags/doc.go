// Package featureflags is an OpenFeature provider (github.com/open-feature/go-sdk)
// on a target.Client: Target's attributes — the JSON offers of an mbox, as
// GetAttributes returns them — are the flags, and with on-device
// decisioning an evaluation costs microseconds and no network call.
//
//	client, err := target.New(target.WithClient("acme"), target.WithOrganizationID(org),
//		target.WithDecisioningMethod(delivery.DecisioningOnDevice))
//	...
//	provider := featureflags.NewProvider(client, featureflags.WithMbox("feature-flags"))
//	if err := openfeature.SetProviderAndWait(provider); err != nil { ... } // waits for the artifact
//	flags := openfeature.NewDefaultClient()
//	onePage, err := flags.BooleanValue(ctx, "showReviews", false,
//		openfeature.NewEvaluationContext(tntID, map[string]any{"loyaltyTier": "gold"}))
//
// # Flags and the evaluation context
//
// A flag key is the name of an attribute in the mbox given by WithMbox;
// an evaluation context attribute "mbox" picks another mbox for one
// evaluation. The targeting key is the visitor's tntId; the attributes
// "thirdPartyId" and "marketingCloudVisitorId" fill the visitor id (one of
// the three is needed: TARGETING_KEY_MISSING otherwise); attributes
// prefixed "profile." are profile parameters ("profile.tier" is "tier"),
// the others mbox parameters, as strings (numbers and booleans are written
// as text; other values are INVALID_CONTEXT).
//
// # Results
//
// Values are typed as target.Attributes' getters type them: a boolean for
// BooleanValue, a string for StringValue, a whole number (1, 2.0, 1e3) for
// IntValue, any number for FloatValue; ObjectValue returns the value as
// GetAttributes decodes it. A value of another type is TYPE_MISMATCH, an
// absent mbox or key FLAG_NOT_FOUND; both return the caller's default. A
// request Target refuses is INVALID_CONTEXT, an offer that is not a JSON
// object PARSE_ERROR, an on-device client without an artifact
// PROVIDER_NOT_READY, a failed call GENERAL, a bad option PROVIDER_FATAL.
//
// The reason is SPLIT for a value from an A/B or multivariate activity,
// TARGETING_MATCH from experience targeting, DEFAULT when the activity's
// type is unknown (a server-side answer without an activity.type response
// token, and no artifact to look it up in), ERROR on failure. The variant
// is the experience name (the experience.name response token); the flag
// metadata carries activityId, activityName, experienceId, experienceName
// (as the response tokens the account enables give them) and
// decisioningMethod (on-device or server-side).
//
// # Lifecycle and events
//
// Init waits for the client's first artifact (target.Client.WaitReady), so
// SetProviderAndWait returns when flags can be evaluated on-device; a
// server-side client is ready at once. Then the provider follows the
// client's artifact events: a new artifact is
// PROVIDER_CONFIGURATION_CHANGED (with the flag keys whose offers changed);
// a failed download PROVIDER_STALE (the artifact in use is kept); a
// downloaded artifact the engine refused PROVIDER_ERROR (PARSE_ERROR). A
// STALE or ERROR provider asks the engine for its artifact every
// WithRecoveryInterval and is PROVIDER_READY again when a download
// succeeds. Shutdown stops all of it and waits for the notifications in
// flight; it leaves the client open.
//
// # Impressions and tracking
//
// An evaluation asks for the mbox as GetAttributes does, so Target counts
// an impression for each, as it does for GetAttributes: the display
// notification an on-device decision owes (sent by the client, or by the
// provider when the client leaves them to its caller), the execute itself
// server-side. WithImpressionDeduplication counts one per visitor and
// activity instead. Track sends a click notification with the visitor's
// click-metric tokens, by which Target counts a conversion.
package featureflags
