package delivery

// Context describes the visitor's device, page and location. Channel is
// required (an empty one is not written).
type Context struct {
	Channel        ChannelType     `json:"channel,omitempty"`
	MobilePlatform *MobilePlatform `json:"mobilePlatform,omitempty"`
	Application    *Application    `json:"application,omitempty"`
	Screen         *Screen         `json:"screen,omitempty"`
	Window         *Window         `json:"window,omitempty"`
	Browser        *Browser        `json:"browser,omitempty"`
	Address        *Address        `json:"address,omitempty"`
	Geo            *Geo            `json:"geo,omitempty"`
	// TimeOffsetInMinutes is the visitor's offset from UTC; 0 is UTC.
	TimeOffsetInMinutes *float64     `json:"timeOffsetInMinutes,omitempty"`
	UserAgent           string       `json:"userAgent,omitempty"`
	ClientHints         *ClientHints `json:"clientHints,omitempty"`
	// Beacon asks the edge for a 204 answer with no body.
	Beacon bool `json:"beacon,omitempty"`
}

// MobilePlatform describes a mobile device. PlatformType is required; the
// specification requires DeviceType too, but the SDKs leave it out when it
// is not known (and the edge does not require it). No empty enumeration is
// written.
type MobilePlatform struct {
	DeviceName   string             `json:"deviceName,omitempty"`
	DeviceType   DeviceType         `json:"deviceType,omitempty"`
	PlatformType MobilePlatformType `json:"platformType,omitempty"`
	Version      string             `json:"version,omitempty"`
}

// Application describes a mobile application.
type Application struct {
	ID      string `json:"id,omitempty"`
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
}

// Screen describes the visitor's screen.
type Screen struct {
	Width       float64               `json:"width,omitempty"`
	Height      float64               `json:"height,omitempty"`
	ColorDepth  float64               `json:"colorDepth,omitempty"`
	PixelRatio  float64               `json:"pixelRatio,omitempty"`
	Orientation ScreenOrientationType `json:"orientation,omitempty"`
}

// Window describes the browser window.
type Window struct {
	Width  float64 `json:"width,omitempty"`
	Height float64 `json:"height,omitempty"`
}

// Browser describes the browser.
type Browser struct {
	Host          string `json:"host,omitempty"`
	Language      string `json:"language,omitempty"`
	WebGLRenderer string `json:"webGLRenderer,omitempty"`
}

// Address is a page's URL and its referrer.
type Address struct {
	URL          string `json:"url,omitempty"`
	ReferringURL string `json:"referringUrl,omitempty"`
}

// Geo is the visitor's location. Without it, and with geo targeting enabled,
// Target resolves the location from the IP address.
type Geo struct {
	IPAddress   string   `json:"ipAddress,omitempty"`
	Latitude    *float64 `json:"latitude,omitempty"`
	Longitude   *float64 `json:"longitude,omitempty"`
	CountryCode string   `json:"countryCode,omitempty"`
	StateCode   string   `json:"stateCode,omitempty"`
	City        string   `json:"city,omitempty"`
	Zip         string   `json:"zip,omitempty"`
}

// ClientHints are User-Agent client hints; they are used in place of the
// user agent when present.
type ClientHints struct {
	Mobile                    *bool  `json:"mobile,omitempty"`
	Model                     string `json:"model,omitempty"`
	Platform                  string `json:"platform,omitempty"`
	PlatformVersion           string `json:"platformVersion,omitempty"`
	BrowserUAWithMajorVersion string `json:"browserUAWithMajorVersion,omitempty"`
	BrowserUAWithFullVersion  string `json:"browserUAWithFullVersion,omitempty"`
	Architecture              string `json:"architecture,omitempty"`
	Bitness                   string `json:"bitness,omitempty"`
}
