package site

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Bounds of the encode options of one route: a declaration beyond them is refused, so no
// config makes a request's work grow without limit.
const (
	MaxCompressTypes   = 64
	MaxCompressMinSize = 64 << 10 // a body of unknown length is held up to this long
	MaxCacheRules      = 64
	MaxCachePattern    = 256 // bytes
	MaxCacheValue      = 1024
	MaxCORSOrigins     = 256
	MaxCORSList        = 64 // methods, headers, expose
	MaxCORSMaxAge      = 24 * time.Hour
)

// CheckCompressType returns why t cannot be a Compress type, or nil: want "type/subtype",
// "type/*" or "type/*+suffix", lower-case token characters.
func CheckCompressType(t string) error {
	major, minor, ok := strings.Cut(t, "/")
	if !ok || !isToken(major) || major == "*" {
		return fmt.Errorf("%q is not a media type; want e.g. \"text/*\" or \"application/json\"", t)
	}
	if t != strings.ToLower(t) {
		return fmt.Errorf("%q: write media types in lower case", t)
	}
	if minor == "*" {
		return nil
	}
	if suffix, wild := strings.CutPrefix(minor, "*+"); wild {
		minor = suffix
	}
	if !isToken(minor) || strings.Contains(minor, "*") {
		return fmt.Errorf("%q is not a media type; want e.g. \"text/*\", \"application/json\" or \"application/*+json\"", t)
	}
	return nil
}

// CheckEncoding returns why e is not a coding the edge compresses with, or nil.
func CheckEncoding(e string) error {
	switch e {
	case "zstd", "br", "gzip":
		return nil
	}
	return fmt.Errorf("unknown encoding %q; want \"zstd\", \"br\" or \"gzip\"", e)
}

// CheckCachePattern returns why p is not a CacheRule pattern, or nil (see
// CacheRule.Pattern).
func CheckCachePattern(p string) error {
	switch {
	case p == "":
		return errors.New("empty pattern; want e.g. \"/assets/*\" or \"*.html\"")
	case len(p) > MaxCachePattern:
		return fmt.Errorf("pattern is %d bytes long; at most %d", len(p), MaxCachePattern)
	case !strings.HasPrefix(p, "/") && strings.Contains(p, "/"):
		return fmt.Errorf("pattern %q: start it with \"/\" to match the whole path, or write no \"/\" to match the file name", p)
	case strings.Contains(p, "***"):
		return fmt.Errorf("pattern %q: \"***\" means nothing more than \"**\"", p)
	}
	for i, c := range p {
		if c <= ' ' || c == 0x7f || strings.ContainsRune(`[]{}\`, c) {
			return fmt.Errorf("pattern %q: character %q at byte %d is not allowed (white space, control, \"[]{}\\\" are reserved)", p, c, i)
		}
	}
	return nil
}

// CheckCacheValue returns why v cannot be a Cache-Control value, or nil.
func CheckCacheValue(v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("empty Cache-Control value")
	}
	if len(v) > MaxCacheValue {
		return fmt.Errorf("Cache-Control value is %d bytes long; at most %d", len(v), MaxCacheValue)
	}
	for _, c := range []byte(v) {
		if c < ' ' && c != '\t' || c == 0x7f {
			return fmt.Errorf("Cache-Control value %q holds a control character", v)
		}
	}
	return nil
}

// CheckCORSOrigin returns why o is not a CORS origin, or nil: "*", or
// scheme://host[:port] with host a lower-case name or "*." and a name (one or more
// labels), no path, no trailing slash.
func CheckCORSOrigin(o string) error {
	if o == "*" {
		return nil
	}
	scheme, rest, ok := strings.Cut(o, "://")
	if !ok || (scheme != "https" && scheme != "http") {
		return fmt.Errorf("origin %q: want \"https://host\", \"https://*.example.com\" or \"*\"", o)
	}
	if o != strings.ToLower(o) {
		return fmt.Errorf("origin %q: write origins in lower case", o)
	}
	host, port, hasPort := strings.Cut(rest, ":")
	if strings.HasPrefix(rest, "[") { // IPv6 literal
		i := strings.IndexByte(rest, ']')
		if i < 0 {
			return fmt.Errorf("origin %q: unterminated IPv6 address", o)
		}
		host, port, hasPort = rest[:i+1], strings.TrimPrefix(rest[i+1:], ":"), len(rest) > i+1
	}
	if hasPort && (port == "" || len(port) > 5 || strings.Trim(port, "0123456789") != "") {
		return fmt.Errorf("origin %q: bad port", o)
	}
	name := strings.TrimPrefix(host, "*.")
	if name == "" || strings.ContainsAny(name, "/?#@*% \\") || strings.HasSuffix(name, ".") || strings.HasPrefix(name, ".") || strings.Contains(name, "..") {
		return fmt.Errorf("origin %q: want scheme://host[:port], no path, e.g. \"https://app.example.com\" or \"https://*.example.com\"", o)
	}
	return nil
}

// CheckMethod returns why m is not an HTTP method token, or nil.
func CheckMethod(m string) error {
	if !isToken(m) || m != strings.ToUpper(m) {
		return fmt.Errorf("%q is not an HTTP method; want e.g. \"GET\", \"PUT\" (upper case)", m)
	}
	return nil
}

// CheckHeaderName returns why h is not a header name (or "*"), or nil.
func CheckHeaderName(h string) error {
	if h != "*" && !isToken(h) {
		return fmt.Errorf("%q is not a header name", h)
	}
	return nil
}

// isToken reports whether s is a non-empty RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// Check returns the first problem of c, or nil: what CheckCORSOrigin, CheckMethod and
// CheckHeaderName refuse, the bounds, and "*" with Credentials.
func (c CORS) Check() error {
	if len(c.Origins) == 0 {
		return errors.New("cors: no origins")
	}
	if len(c.Origins) > MaxCORSOrigins || len(c.Methods) > MaxCORSList || len(c.Headers) > MaxCORSList || len(c.Expose) > MaxCORSList {
		return fmt.Errorf("cors: at most %d origins and %d methods, headers or exposed headers", MaxCORSOrigins, MaxCORSList)
	}
	for _, o := range c.Origins {
		if err := CheckCORSOrigin(o); err != nil {
			return fmt.Errorf("cors: %w", err)
		}
		if o == "*" && c.Credentials {
			return errors.New("cors: origin \"*\" with credentials: browsers refuse it; list the origins")
		}
	}
	for _, m := range c.Methods {
		if err := CheckMethod(m); err != nil {
			return fmt.Errorf("cors: methods: %w", err)
		}
	}
	for _, list := range [][]string{c.Headers, c.Expose} {
		for _, h := range list {
			if err := CheckHeaderName(h); err != nil {
				return fmt.Errorf("cors: %w", err)
			}
			if h == "*" && c.Credentials {
				return errors.New("cors: header \"*\" with credentials means a header named \"*\" to browsers; list the headers")
			}
		}
	}
	if c.MaxAge < 0 || c.MaxAge > MaxCORSMaxAge {
		return fmt.Errorf("cors: max age %v is out of range; want 0 to %v", c.MaxAge, MaxCORSMaxAge)
	}
	return nil
}

// Check returns the first problem of c (with defaults applied or not), or nil.
func (c Compress) Check() error {
	if len(c.Types) > MaxCompressTypes {
		return fmt.Errorf("compress: %d types; at most %d", len(c.Types), MaxCompressTypes)
	}
	for _, t := range c.Types {
		if err := CheckCompressType(t); err != nil {
			return fmt.Errorf("compress: types: %w", err)
		}
	}
	if c.MinSize < 0 || c.MinSize > MaxCompressMinSize {
		return fmt.Errorf("compress: min size %d is out of range; want 0 to %d", c.MinSize, MaxCompressMinSize)
	}
	seen := map[string]bool{}
	for _, e := range c.Encodings {
		if err := CheckEncoding(e); err != nil {
			return fmt.Errorf("compress: %w", err)
		}
		if seen[e] {
			return fmt.Errorf("compress: encoding %q listed twice", e)
		}
		seen[e] = true
	}
	return nil
}

// CheckCacheRules returns the first problem of rules, or nil.
func CheckCacheRules(rules []CacheRule) error {
	if len(rules) > MaxCacheRules {
		return fmt.Errorf("cache_control: %d patterns; at most %d", len(rules), MaxCacheRules)
	}
	for _, r := range rules {
		if err := CheckCachePattern(r.Pattern); err != nil {
			return fmt.Errorf("cache_control: %w", err)
		}
		if err := CheckCacheValue(r.Value); err != nil {
			return fmt.Errorf("cache_control %q: %w", r.Pattern, err)
		}
	}
	return nil
}
