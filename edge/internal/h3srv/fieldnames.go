package h3srv

import (
	"net/http"
	"strings"
)

// HTTP/3 field names are lowercase; net/http's header keys are canonical. The common
// names of requests and responses are converted through two tables built from one list,
// without allocating; others through strings.ToLower and http.CanonicalHeaderKey.

// commonFields lists the common field names in canonical form.
const commonFields = `Accept Accept-Charset Accept-Encoding Accept-Language Accept-Ranges
	Access-Control-Allow-Credentials Access-Control-Allow-Headers
	Access-Control-Allow-Methods Access-Control-Allow-Origin Access-Control-Expose-Headers
	Access-Control-Max-Age Age Allow Alt-Svc Authorization Cache-Control
	Content-Disposition Content-Encoding Content-Language Content-Length Content-Location
	Content-Range Content-Security-Policy Content-Type Cookie Date Dnt Early-Data Etag
	Expect Expires Forwarded From Host If-Match If-Modified-Since If-None-Match If-Range
	If-Unmodified-Since Last-Modified Link Location Max-Forwards Origin Permissions-Policy
	Pragma Priority Proxy-Authorization Range Referer Referrer-Policy Retry-After
	Sec-Ch-Ua Sec-Ch-Ua-Mobile Sec-Ch-Ua-Platform Sec-Fetch-Dest Sec-Fetch-Mode
	Sec-Fetch-Site Sec-Fetch-User Server Set-Cookie Strict-Transport-Security Te Trailer
	Upgrade-Insecure-Requests User-Agent Vary Via Www-Authenticate X-Content-Type-Options
	X-Forwarded-For X-Forwarded-Host X-Forwarded-Proto X-Frame-Options X-Real-Ip
	X-Request-Id X-Requested-With X-Xss-Protection`

// lowerKeys maps the canonical common names to lowercase, commonKeys the reverse.
var lowerKeys, commonKeys = func() (lower, canon map[string]string) {
	lower, canon = map[string]string{}, map[string]string{}
	for _, k := range strings.Fields(commonFields) {
		lower[k] = strings.ToLower(k)
		canon[strings.ToLower(k)] = k
	}
	return lower, canon
}()

// lowerKey returns a canonical header key in lowercase.
func lowerKey(k string) string {
	if l, ok := lowerKeys[k]; ok {
		return l
	}
	return strings.ToLower(k)
}

// canonicalKey returns the canonical form of a lowercase field name.
func canonicalKey(name string) string {
	if k, ok := commonKeys[name]; ok {
		return k
	}
	return http.CanonicalHeaderKey(name)
}
