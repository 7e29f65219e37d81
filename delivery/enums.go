package delivery

// ChannelType is the channel of a request; only activities of that channel
// are evaluated.
type ChannelType string

// Channels.
const (
	ChannelMobile ChannelType = "mobile"
	ChannelWeb    ChannelType = "web"
)

// Valid reports whether c is a channel the specification lists.
func (c ChannelType) Valid() bool { return c == ChannelMobile || c == ChannelWeb }

// DecisioningMethod says where a decision was, or is to be, made.
type DecisioningMethod string

// Decisioning methods.
const (
	DecisioningServerSide DecisioningMethod = "server-side"
	DecisioningOnDevice   DecisioningMethod = "on-device"
	DecisioningHybrid     DecisioningMethod = "hybrid"
)

// Valid reports whether m is a decisioning method the specification lists.
func (m DecisioningMethod) Valid() bool {
	return m == DecisioningServerSide || m == DecisioningOnDevice || m == DecisioningHybrid
}

// DeviceType is the device of a mobile platform.
type DeviceType string

// Device types.
const (
	DevicePhone  DeviceType = "phone"
	DeviceTablet DeviceType = "tablet"
)

// Valid reports whether d is a device type the specification lists.
func (d DeviceType) Valid() bool { return d == DevicePhone || d == DeviceTablet }

// ExecutionMode says whether a telemetry entry describes an edge (remote) or
// a local (on-device) decision.
type ExecutionMode string

// Execution modes.
const (
	ExecutionEdge  ExecutionMode = "edge"
	ExecutionLocal ExecutionMode = "local"
)

// Valid reports whether m is an execution mode the specification lists.
func (m ExecutionMode) Valid() bool { return m == ExecutionEdge || m == ExecutionLocal }

// LoggingType says whether Analytics for Target logging is done by the client
// or by the edge.
type LoggingType string

// Logging types.
const (
	LoggingServerSide LoggingType = "server_side"
	LoggingClientSide LoggingType = "client_side"
)

// Valid reports whether l is a logging type the specification lists.
func (l LoggingType) Valid() bool { return l == LoggingServerSide || l == LoggingClientSide }

// MetricType is the type of a metric or of a notification.
type MetricType string

// Metric types.
const (
	MetricClick   MetricType = "click"
	MetricDisplay MetricType = "display"
)

// Valid reports whether m is a metric type the specification lists.
func (m MetricType) Valid() bool { return m == MetricClick || m == MetricDisplay }

// MobilePlatformType is the operating system of a mobile platform.
type MobilePlatformType string

// Mobile platform types.
const (
	PlatformAndroid MobilePlatformType = "android"
	PlatformIOS     MobilePlatformType = "ios"
)

// Valid reports whether p is a platform type the specification lists.
func (p MobilePlatformType) Valid() bool { return p == PlatformAndroid || p == PlatformIOS }

// OptionType is the type of an offer's content.
type OptionType string

// Option types.
const (
	OptionHTML     OptionType = "html"
	OptionJSON     OptionType = "json"
	OptionRedirect OptionType = "redirect"
	OptionDynamic  OptionType = "dynamic"
	OptionActions  OptionType = "actions"
)

// Valid reports whether o is an option type the specification lists.
func (o OptionType) Valid() bool {
	switch o {
	case OptionHTML, OptionJSON, OptionRedirect, OptionDynamic, OptionActions:
		return true
	}
	return false
}

// ScreenOrientationType is the orientation of a screen.
type ScreenOrientationType string

// Screen orientations.
const (
	OrientationPortrait  ScreenOrientationType = "portrait"
	OrientationLandscape ScreenOrientationType = "landscape"
)

// Valid reports whether o is an orientation the specification lists.
func (o ScreenOrientationType) Valid() bool {
	return o == OrientationPortrait || o == OrientationLandscape
}

// AuthenticatedState is the authentication state of a customer id.
type AuthenticatedState string

// Authenticated states.
const (
	AuthUnknown       AuthenticatedState = "unknown"
	AuthAuthenticated AuthenticatedState = "authenticated"
	AuthLoggedOut     AuthenticatedState = "logged_out"
)

// Valid reports whether s is an authenticated state the specification lists.
func (s AuthenticatedState) Valid() bool {
	return s == AuthUnknown || s == AuthAuthenticated || s == AuthLoggedOut
}
