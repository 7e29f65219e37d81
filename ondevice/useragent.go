package ondevice

import (
	"strconv"
	"strings"

	"github.com/targetflow/targetflow/delivery"
)

const unknownBrowser = "unknown"

// browserContext derives user.* from the user agent and client hints, with
// the matchers and precedence of the official SDKs: the user agent names
// the browser unless client hints know better, and a client-hint platform
// wins over the one found in the user agent.
func browserContext(userAgent string, hints *delivery.ClientHints) userContext {
	name, version := browserFromUserAgent(userAgent)
	if hints != nil {
		hintUA := hints.BrowserUAWithFullVersion
		if hintUA == "" {
			hintUA = hints.BrowserUAWithMajorVersion
		}
		hName, hVersion := browserFromClientHints(hintUA)
		if hName != unknownBrowser {
			name = hName
		}
		if hVersion >= 0 {
			version = hVersion
		}
	}
	platform := ""
	if hints != nil && hints.Platform != "" {
		platform = hints.Platform
	} else {
		platform = operatingSystemFromUserAgent(userAgent)
	}
	switch platform {
	case "Windows":
		platform = "windows"
	case "Macintosh", "Mac OS", "macOS":
		platform = "mac"
	case "Linux":
		platform = "linux"
	}
	return userContext{
		browserType:    strings.ToLower(name),
		platform:       platform,
		locale:         "en",
		browserVersion: version,
	}
}

func isWordOrDot(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.'
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// wordRun returns the length of the run of [\w.] bytes at s[i:].
func wordRun(s string, i int) int {
	j := i
	for j < len(s) && isWordOrDot(s[j]) {
		j++
	}
	return j - i
}

// majorVersion is parseInt(version.split(".")[0]) with NaN as -1.
func majorVersion(version string) int {
	head, _, _ := strings.Cut(version, ".")
	head = strings.TrimLeft(head, " \t")
	end := 0
	if end < len(head) && (head[end] == '+' || head[end] == '-') {
		end++
	}
	digitsStart := end
	for end < len(head) && head[end] >= '0' && head[end] <= '9' {
		end++
	}
	if end == digitsStart {
		return -1
	}
	n, err := strconv.Atoi(head[:end])
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// browserFromUserAgent returns the browser name and major version (-1 when
// unknown), trying, in order: Edge, Mobile Safari, Safari, Chrome, Firefox,
// IE (MSIE) and IE (Trident).
func browserFromUserAgent(ua string) (string, int) {
	lower := strings.ToLower(ua)
	if v, ok := matchEdge(lower); ok {
		return "Edge", majorVersion(v)
	}
	if v, ok := matchVersionThen(lower, "mobile/", true); ok {
		return "Mobile Safari", majorVersion(v)
	}
	if v, ok := matchVersionThen(lower, "safari", false); ok {
		return "Safari", majorVersion(v)
	}
	if v, ok := matchChrome(lower); ok {
		return "Chrome", majorVersion(v)
	}
	if v, ok := matchFirefox(lower); ok {
		return "Firefox", majorVersion(v)
	}
	if v, ok := matchMSIE(lower); ok {
		return "IE", majorVersion(v)
	}
	if v, ok := matchTrident(lower); ok {
		return "IE", majorVersion(v)
	}
	return unknownBrowser, -1
}

// matchEdge is /(edge|edgios|edga|edg)\/([\w.]+)/i.
func matchEdge(s string) (string, bool) {
	for from := 0; ; {
		i := strings.Index(s[from:], "edg")
		if i < 0 {
			return "", false
		}
		i += from
		after := s[i+3:]
		for _, tail := range []string{"e/", "ios/", "a/", "/"} {
			if strings.HasPrefix(after, tail) {
				start := i + 3 + len(tail)
				if n := wordRun(s, start); n > 0 {
					return s[start : start+n], true
				}
			}
		}
		from = i + 1
	}
}

// matchVersionThen is /version\/([\w.]+).+?X/i where X is
// "mobile\/\w+\ssafari" (mobile) or "safari".
func matchVersionThen(s, marker string, mobile bool) (string, bool) {
	for from := 0; ; {
		i := strings.Index(s[from:], "version/")
		if i < 0 {
			return "", false
		}
		i += from
		start := i + len("version/")
		n := wordRun(s, start)
		if n > 0 {
			rest := start + n + 1 // .+? needs at least one character
			if rest <= len(s) {
				if mobile && hasMobileSafari(s[rest:]) || !mobile && strings.Contains(s[rest:], marker) {
					return s[start : start+n], true
				}
			}
		}
		from = i + 1
	}
}

// hasMobileSafari reports whether s contains mobile\/\w+\ssafari.
func hasMobileSafari(s string) bool {
	for from := 0; ; {
		i := strings.Index(s[from:], "mobile/")
		if i < 0 {
			return false
		}
		i += from
		j := i + len("mobile/")
		k := j
		for k < len(s) && (isWordOrDot(s[k]) && s[k] != '.') {
			k++
		}
		if k > j && k < len(s) && isSpace(s[k]) && strings.HasPrefix(s[k+1:], "safari") {
			return true
		}
		from = i + 1
	}
}

// matchChrome is /(chrome)\/v?([\w.]+)/i.
func matchChrome(s string) (string, bool) {
	i := strings.Index(s, "chrome/")
	if i < 0 {
		return "", false
	}
	start := i + len("chrome/")
	if start < len(s) && s[start] == 'v' && wordRun(s, start+1) > 0 {
		start++
	}
	n := wordRun(s, start)
	if n == 0 {
		return "", false
	}
	return s[start : start+n], true
}

// matchFirefox is /(firefox)\/([\w.-]+)$/i.
func matchFirefox(s string) (string, bool) {
	for from := 0; ; {
		i := strings.Index(s[from:], "firefox/")
		if i < 0 {
			return "", false
		}
		i += from
		start := i + len("firefox/")
		j := start
		for j < len(s) && (isWordOrDot(s[j]) || s[j] == '-') {
			j++
		}
		if j > start && j == len(s) {
			return s[start:], true
		}
		from = i + 1
	}
}

// matchMSIE is /(?:ms|\()(ie)\s([\w.]+)/i.
func matchMSIE(s string) (string, bool) {
	for from := 0; ; {
		i := strings.Index(s[from:], "ie")
		if i < 0 {
			return "", false
		}
		i += from
		prefixOK := i >= 2 && s[i-2:i] == "ms" || i >= 1 && s[i-1] == '('
		if prefixOK && i+2 < len(s) && isSpace(s[i+2]) {
			if n := wordRun(s, i+3); n > 0 {
				return s[i+3 : i+3+n], true
			}
		}
		from = i + 1
	}
}

// matchTrident is /(trident).+rv[:\s]([\w.]+).+like\sgecko/i, whose greedy
// ".+" picks the last "rv" that still leaves room for "like gecko".
func matchTrident(s string) (string, bool) {
	t := strings.Index(s, "trident")
	if t < 0 {
		return "", false
	}
	lo := t + len("trident") + 1
	for i := len(s) - 3; i >= lo; i-- {
		if s[i] != 'r' || s[i+1] != 'v' || !(s[i+2] == ':' || isSpace(s[i+2])) {
			continue
		}
		start := i + 3
		n := wordRun(s, start)
		if n == 0 {
			continue
		}
		if hasLikeGecko(s, start+n+1) {
			return s[start : start+n], true
		}
	}
	return "", false
}

func hasLikeGecko(s string, from int) bool {
	for from < len(s) {
		i := strings.Index(s[from:], "like")
		if i < 0 {
			return false
		}
		i += from
		if i+10 <= len(s) && isSpace(s[i+4]) && s[i+5:i+10] == "gecko" {
			return true
		}
		from = i + 1
	}
	return false
}

// operatingSystemFromUserAgent names the platform as the SDKs do: iOS,
// Android, Linux, Unix, Windows, Mac OS or unknown.
func operatingSystemFromUserAgent(ua string) string {
	switch {
	case strings.Contains(ua, "iPhone") || strings.Contains(ua, "iPad") || strings.Contains(ua, "iPod"):
		return "iOS"
	case hasAndroidVersion(ua):
		return "Android"
	case strings.Contains(ua, " Linux "):
		return "Linux"
	case strings.Contains(ua, "FreeBSD") || strings.Contains(ua, "OpenBSD") || strings.Contains(ua, "CrOS"):
		return "Unix"
	case strings.Contains(ua, "(Windows ") || strings.Contains(ua, " Windows "):
		return "Windows"
	case strings.Contains(ua, "Macintosh;"):
		return "Mac OS"
	}
	return unknownBrowser
}

// hasAndroidVersion is /Android [0-9.]+;/.
func hasAndroidVersion(ua string) bool {
	for from := 0; ; {
		i := strings.Index(ua[from:], "Android ")
		if i < 0 {
			return false
		}
		i += from
		j := i + len("Android ")
		k := j
		for k < len(ua) && (ua[k] >= '0' && ua[k] <= '9' || ua[k] == '.') {
			k++
		}
		if k > j && k < len(ua) && ua[k] == ';' {
			return true
		}
		from = i + 1
	}
}

// browserFromClientHints reads Sec-CH-UA style brand lists such as
// `"Google Chrome";v="110"`, trying Chrome, Edge, Safari and Firefox.
func browserFromClientHints(brands string) (string, int) {
	lower := strings.ToLower(brands)
	for _, b := range []struct{ name, marker string }{
		{"Chrome", `chrome";v="`},
		{"Edge", `edge";v="`},
		{"Safari", `safari";v="`},
		{"Firefox", `firefox";v="`},
	} {
		for from := 0; ; {
			i := strings.Index(lower[from:], b.marker)
			if i < 0 {
				break
			}
			i += from
			start := i + len(b.marker)
			j := start
			for j < len(lower) && (lower[j] >= '0' && lower[j] <= '9' || lower[j] == '.') {
				j++
			}
			if j > start && j < len(lower) && lower[j] == '"' {
				return b.name, majorVersion(lower[start:j])
			}
			from = i + 1
		}
	}
	return unknownBrowser, -1
}
