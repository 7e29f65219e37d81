package demo

import (
	_ "embed"

	"github.com/targetflow/targetflow/delivery"
)

//go:generate sh -c "go run ./gen > artifact.json"

// Identity of the demo site the bundled artifact is written for.
const (
	// Client is the Target client code of the demo site.
	Client = "targetflow-demo"
	// OrganizationID is the demo's Experience Cloud organization id; the
	// edge obfuscates rules.bin for it.
	OrganizationID = "7A1B2C3D4E5F60718293A4B5@AdobeOrg"
	// Environment is the environment the artifact is published for.
	Environment = "production"
	// GlobalMbox is the artifact's global (pageLoad) mbox.
	GlobalMbox = delivery.GlobalMbox
)

// Locations of the demo site, as named in the artifact.
const (
	MboxHero            = "hero"
	MboxCart            = "cart"
	MboxFeatureFlags    = "feature-flags"
	MboxRecommendations = "recommendations" // remote-only: hybrid clients ask the edge
	ViewHome            = "home"
	ViewCart            = "cart"
	// ParamLoyaltyTier is the cart mbox parameter whose value "gold" selects
	// the gold members' experience.
	ParamLoyaltyTier = "loyaltyTier"
)

//go:embed artifact.json
var artifactJSON []byte

// Artifact returns the bundled demo artifact (rules.json format 1.0.0).
// Each call returns a fresh copy the caller may keep or change.
func Artifact() []byte {
	return append([]byte(nil), artifactJSON...)
}
