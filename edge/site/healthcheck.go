package site

import "time"

// Defaults of the zero HealthCheck fields.
const (
	DefaultCheckPath     = "/"
	DefaultCheckInterval = 10 * time.Second
	DefaultCheckTimeout  = 2 * time.Second
)

// HealthCheck describes an active health check of every upstream of a route.
type HealthCheck struct {
	// Path is requested with GET on each upstream, e.g. "/healthz". It is an absolute path
	// on the upstream host. Empty means "/".
	Path string
	// Interval between checks. Zero means 10s.
	Interval time.Duration
	// Timeout of one check. Zero means 2s.
	Timeout time.Duration
	// ExpectStatus is the status that means healthy. Zero means any 2xx or 3xx.
	ExpectStatus int
}

// WithDefaults returns h with its zero Path, Interval and Timeout replaced by the
// defaults (a zero ExpectStatus keeps its meaning: any 2xx or 3xx).
func (h HealthCheck) WithDefaults() HealthCheck {
	if h.Path == "" {
		h.Path = DefaultCheckPath
	}
	if h.Interval == 0 {
		h.Interval = DefaultCheckInterval
	}
	if h.Timeout == 0 {
		h.Timeout = DefaultCheckTimeout
	}
	return h
}
