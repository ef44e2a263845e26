package site

import "time"

// Limits of error pages, shared by the schema (which refuses more) and the data plane.
const (
	// MaxPageSize is the largest error or maintenance page: 64 KiB.
	MaxPageSize = 64 << 10
	// MaxPages bounds the distinct page files of one site.
	MaxPages = 32
)

// DefaultMaintenanceRetryAfter is the Retry-After of a maintenance 503 whose Maintenance
// sets none: 5 minutes.
const DefaultMaintenanceRetryAfter = 5 * time.Minute

// Page is the body of an error response, read from a file of the config repo.
type Page struct {
	// File is the page's path in the config repo (for messages and plans).
	File string
	// ContentType is sent with the page, e.g. "text/html; charset=utf-8".
	ContentType string
	// Body is the page, at most MaxPageSize bytes. Shared: never change it.
	Body []byte
}

// ErrorPages are the bodies a site answers errors with instead of the edge's plain text:
// for the responses the edge makes itself (404, 421, 429, 502, 503, 504, 403, ...) and,
// when Upstream is set, for an upstream's 5xx responses (body replaced, status kept).
type ErrorPages struct {
	// Status maps a status code (400-599) to its page.
	Status map[int]*Page
	// Client is the page of a 4xx status with no page of its own; nil for none.
	Client *Page
	// Server is the page of a 5xx status with no page of its own; nil for none.
	Server *Page
	// Upstream replaces the body of an upstream's 5xx response with the page of its
	// status (the status and other headers are kept). False passes them on as they are.
	Upstream bool
}

// Page returns the page for status: its own, else its class's (Client, Server), else
// nil. A nil ErrorPages has none.
func (p *ErrorPages) Page(status int) *Page {
	if p == nil {
		return nil
	}
	if pg := p.Status[status]; pg != nil {
		return pg
	}
	switch {
	case status >= 400 && status < 500:
		return p.Client
	case status >= 500 && status < 600:
		return p.Server
	}
	return nil
}

// Maintenance switches a site into maintenance: every request (after the site's IP
// rules) is answered 503 with Page and Retry-After, whatever its route.
type Maintenance struct {
	// RetryAfter is sent as Retry-After, in whole seconds (rounded up). Zero means
	// DefaultMaintenanceRetryAfter.
	RetryAfter time.Duration
	// Page is the body; nil means the site's 503 error page, else plain text.
	Page *Page
}

// WithDefaults returns m with a zero RetryAfter made DefaultMaintenanceRetryAfter.
func (m Maintenance) WithDefaults() Maintenance {
	if m.RetryAfter == 0 {
		m.RetryAfter = DefaultMaintenanceRetryAfter
	}
	return m
}
