package delivery

// Notification tells Target that prefetched content was displayed, or that
// an element was clicked. ID, Type and Timestamp are required; Mbox and View
// are mutually exclusive.
type Notification struct {
	ID string `json:"id"`
	// ImpressionID links the notification to an earlier request or
	// notification of the same page view.
	ImpressionID string     `json:"impressionId,omitempty"`
	Type         MetricType `json:"type,omitempty"`
	// Timestamp is in milliseconds since the Unix epoch.
	Timestamp         int64                 `json:"timestamp"`
	Tokens            []string              `json:"tokens,omitempty"`
	Mbox              *NotificationMbox     `json:"mbox,omitempty"`
	View              *NotificationView     `json:"view,omitempty"`
	PageLoad          *NotificationPageLoad `json:"pageLoad,omitempty"`
	Address           *Address              `json:"address,omitempty"`
	Parameters        Parameters            `json:"parameters,omitempty"`
	ProfileParameters Parameters            `json:"profileParameters,omitempty"`
	Order             *Order                `json:"order,omitempty"`
	Product           *Product              `json:"product,omitempty"`
}

// NotificationMbox names the mbox a notification is about.
type NotificationMbox struct {
	Name  string `json:"name,omitempty"`
	State string `json:"state,omitempty"`
}

// NotificationView names the view a notification is about.
type NotificationView struct {
	Name  string `json:"name,omitempty"`
	Key   string `json:"key,omitempty"`
	State string `json:"state,omitempty"`
}

// NotificationPageLoad marks a notification about the page load.
type NotificationPageLoad struct {
	State string `json:"state,omitempty"`
}

// NotificationResponse confirms that a notification was processed.
type NotificationResponse struct {
	ID    string        `json:"id,omitempty"`
	Trace TraceResponse `json:"trace,omitempty"`
}
