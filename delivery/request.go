package delivery

// GlobalMbox is the mbox of pageLoad requests, "target-global-mbox": an
// artifact's global mbox when it names none, and the SDKs' consumer id of
// calls that name none.
const GlobalMbox = "target-global-mbox"

// DeliveryRequest is the body of POST /rest/v1/delivery.
type DeliveryRequest struct {
	// RequestID is echoed in the response; the edge mints one when empty.
	RequestID string `json:"requestId,omitempty"`
	// ImpressionID links requests of one page view so that impressions are
	// counted once.
	ImpressionID    string           `json:"impressionId,omitempty"`
	ID              *VisitorID       `json:"id,omitempty"`
	EnvironmentID   int64            `json:"environmentId,omitempty"`
	Property        *Property        `json:"property,omitempty"`
	Trace           *Trace           `json:"trace,omitempty"`
	Context         *Context         `json:"context,omitempty"`
	ExperienceCloud *ExperienceCloud `json:"experienceCloud,omitempty"`
	Execute         *ExecuteRequest  `json:"execute,omitempty"`
	Prefetch        *PrefetchRequest `json:"prefetch,omitempty"`
	Telemetry       *Telemetry       `json:"telemetry,omitempty"`
	Notifications   []Notification   `json:"notifications,omitempty"`
	QAMode          *QAMode          `json:"qaMode,omitempty"`
	Preview         *Preview         `json:"preview,omitempty"`
}

// Property scopes a request to an at_property token.
type Property struct {
	Token string `json:"token"`
}

// Trace enables the Delivery API trace for a request.
type Trace struct {
	AuthorizationToken string            `json:"authorizationToken"`
	Usage              map[string]string `json:"usage,omitempty"`
}

// ExperienceCloud carries the Audience Manager and Analytics integrations.
type ExperienceCloud struct {
	AudienceManager *AudienceManager  `json:"audienceManager,omitempty"`
	Analytics       *AnalyticsRequest `json:"analytics,omitempty"`
}

// AudienceManager carries the Audience Manager integration of a request.
type AudienceManager struct {
	LocationHint int    `json:"locationHint,omitempty"`
	Blob         string `json:"blob,omitempty"`
}

// AnalyticsRequest carries the Analytics for Target integration of a request.
type AnalyticsRequest struct {
	SupplementalDataID   string      `json:"supplementalDataId,omitempty"`
	Logging              LoggingType `json:"logging,omitempty"`
	TrackingServer       string      `json:"trackingServer,omitempty"`
	TrackingServerSecure string      `json:"trackingServerSecure,omitempty"`
}

// ExecuteRequest asks for decisions that are made, and counted, now.
type ExecuteRequest struct {
	PageLoad *RequestDetails `json:"pageLoad,omitempty"`
	Mboxes   []MboxRequest   `json:"mboxes,omitempty"`
}

// PrefetchRequest asks for content to be displayed later; a display
// notification is sent when it is.
type PrefetchRequest struct {
	Views    []ViewRequest   `json:"views,omitempty"`
	PageLoad *RequestDetails `json:"pageLoad,omitempty"`
	Mboxes   []MboxRequest   `json:"mboxes,omitempty"`
}

// RequestDetails are the details common to pageLoad, mbox, view and
// notification requests.
type RequestDetails struct {
	Address           *Address   `json:"address,omitempty"`
	Parameters        Parameters `json:"parameters,omitempty"`
	ProfileParameters Parameters `json:"profileParameters,omitempty"`
	Order             *Order     `json:"order,omitempty"`
	Product           *Product   `json:"product,omitempty"`
}

// MboxRequest asks for the content of one regional mbox. Index correlates
// the request with its response and should be unique in its list.
type MboxRequest struct {
	Index             int        `json:"index"`
	Name              string     `json:"name,omitempty"`
	Address           *Address   `json:"address,omitempty"`
	Parameters        Parameters `json:"parameters,omitempty"`
	ProfileParameters Parameters `json:"profileParameters,omitempty"`
	Order             *Order     `json:"order,omitempty"`
	Product           *Product   `json:"product,omitempty"`
}

// ViewRequest asks for the content of a view; without a name, of every view.
type ViewRequest struct {
	Name              string     `json:"name,omitempty"`
	Key               string     `json:"key,omitempty"`
	Address           *Address   `json:"address,omitempty"`
	Parameters        Parameters `json:"parameters,omitempty"`
	ProfileParameters Parameters `json:"profileParameters,omitempty"`
	Order             *Order     `json:"order,omitempty"`
	Product           *Product   `json:"product,omitempty"`
}

// Details returns the RequestDetails part of m.
func (m *MboxRequest) Details() RequestDetails {
	return RequestDetails{Address: m.Address, Parameters: m.Parameters, ProfileParameters: m.ProfileParameters, Order: m.Order, Product: m.Product}
}

// Details returns the RequestDetails part of v.
func (v *ViewRequest) Details() RequestDetails {
	return RequestDetails{Address: v.Address, Parameters: v.Parameters, ProfileParameters: v.ProfileParameters, Order: v.Order, Product: v.Product}
}
