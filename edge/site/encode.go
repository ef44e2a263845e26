package site

import "time"

// Compress turns on compression of a route's responses (proxied or static) for clients
// that accept it. The zero value compresses the default types from the default size with
// the default encodings.
type Compress struct {
	// Types are the media types compressed: exact ("application/json"), a whole top-level
	// type ("text/*") or a structured suffix ("application/*+json"). Empty means
	// DefaultCompressTypes.
	Types []string
	// MinSize is the smallest body compressed, in bytes; a smaller body (by its
	// Content-Length, or ended before this many bytes) goes as it is. Zero means
	// DefaultCompressMinSize.
	MinSize int64
	// Encodings are the content codings offered, "zstd", "br" and "gzip", in the edge's
	// order of preference when the client accepts several equally. Empty means
	// DefaultCompressEncodings.
	Encodings []string
}

// Defaults of the zero Compress fields.
const DefaultCompressMinSize = 1024

// DefaultCompressEncodings are the codings offered unless a route says otherwise, the
// preferred first: zstd (the fastest for its ratio), brotli, gzip (every client).
var DefaultCompressEncodings = []string{"zstd", "br", "gzip"}

// DefaultCompressTypes are the media types compressed unless a route says otherwise: text
// and the textual formats of the web (JSON, JavaScript, XML, SVG, WebAssembly, manifests,
// uncompressed fonts and icons). Images, audio, video and archives are compressed already.
var DefaultCompressTypes = []string{
	"text/*",
	"application/json", "application/*+json", "application/x-ndjson",
	"application/javascript", "application/x-javascript", "application/ecmascript",
	"application/xml", "application/*+xml", "image/svg+xml",
	"application/wasm", "application/x-font-ttf", "application/vnd.ms-fontobject",
	"font/ttf", "font/otf", "image/x-icon", "image/vnd.microsoft.icon", "image/bmp",
}

// WithDefaults returns c with its zero fields replaced by the defaults (copies of the
// default lists).
func (c Compress) WithDefaults() Compress {
	if len(c.Types) == 0 {
		c.Types = append([]string(nil), DefaultCompressTypes...)
	}
	if c.MinSize == 0 {
		c.MinSize = DefaultCompressMinSize
	}
	if len(c.Encodings) == 0 {
		c.Encodings = append([]string(nil), DefaultCompressEncodings...)
	}
	return c
}

// CacheRule sets the Cache-Control header of the responses to requests whose path matches
// Pattern. The first matching rule of a route wins.
type CacheRule struct {
	// Pattern is a glob: "*" matches any characters but "/", "**" any characters "/"
	// included, "?" one character but "/"; every other character stands for itself. A
	// pattern starting with "/" is matched against the whole request path ("/assets/*",
	// "/docs/**"); one without any "/" against its last segment, the file name ("*.html").
	Pattern string
	// Value is the Cache-Control header value, e.g. "public, max-age=31536000, immutable".
	// It replaces an upstream's own Cache-Control on 2xx and 3xx responses; errors keep
	// theirs.
	Value string
}

// CORS answers cross-origin requests of a route at the edge: preflights (OPTIONS with
// Access-Control-Request-Method) are answered without reaching the upstream, and the
// responses to allowed origins carry the Access-Control-Allow-* headers.
type CORS struct {
	// Origins are the allowed origins: exact ("https://app.example.com", scheme, host
	// and a port if not the default), one-or-more-label wildcards ("https://*.example.com")
	// or "*" for any (not with Credentials). At least one.
	Origins []string
	// Methods allowed in preflights. Empty means DefaultCORSMethods.
	Methods []string
	// Headers are the request headers allowed in preflights, or "*" for any (not with
	// Credentials). Empty means none beyond the CORS-safelisted ones.
	Headers []string
	// Expose are the response headers the page's script may read beyond the safelisted.
	Expose []string
	// Credentials allows cookies and HTTP authentication in cross-origin requests.
	Credentials bool
	// MaxAge is how long a browser may cache a preflight's answer; sent in whole seconds.
	// Zero sends no Access-Control-Max-Age (the browser's default, 5 seconds).
	MaxAge time.Duration
}

// DefaultCORSMethods are the methods a preflight allows unless the route says otherwise.
var DefaultCORSMethods = []string{"GET", "HEAD", "POST"}

// WithDefaults returns c with its zero fields replaced by the defaults.
func (c CORS) WithDefaults() CORS {
	if len(c.Methods) == 0 {
		c.Methods = append([]string(nil), DefaultCORSMethods...)
	}
	return c
}
