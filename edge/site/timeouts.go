package site

import "time"

// Defaults of the zero Timeouts fields.
const (
	DefaultConnectTimeout  = 5 * time.Second
	DefaultResponseTimeout = 60 * time.Second
	DefaultIdleTimeout     = 90 * time.Second
	DefaultBodyTimeout     = 60 * time.Second
)

// Timeouts of a route's upstream requests. Zero fields mean the defaults.
type Timeouts struct {
	// Connect bounds dialing an upstream (TCP, and TLS for https). Zero means 5s.
	Connect time.Duration
	// Response bounds waiting for an upstream's response headers. Zero means 60s.
	// Streaming bodies (SSE, WebSocket) are not bounded by it.
	Response time.Duration
	// Idle is how long an idle keep-alive connection to an upstream is kept. Zero means
	// 90s.
	Idle time.Duration
	// Body is the request-body idle timeout: when no byte of a request body arrives for
	// this long, the upstream request is cancelled and the client gets 408 (the upstream
	// is not blamed), as nginx's client_body_timeout. Zero means 60s.
	Body time.Duration
}

// WithDefaults returns t with its zero fields replaced by the defaults.
func (t Timeouts) WithDefaults() Timeouts {
	if t.Connect == 0 {
		t.Connect = DefaultConnectTimeout
	}
	if t.Response == 0 {
		t.Response = DefaultResponseTimeout
	}
	if t.Idle == 0 {
		t.Idle = DefaultIdleTimeout
	}
	if t.Body == 0 {
		t.Body = DefaultBodyTimeout
	}
	return t
}

// Negative reports whether any timeout is negative.
func (t Timeouts) Negative() bool {
	return t.Connect < 0 || t.Response < 0 || t.Idle < 0 || t.Body < 0
}
