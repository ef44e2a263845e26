package h2srv

import (
	"net/http"
	"time"
)

// edge: what the server's files need from the client side of golang.org/x/net/http2,
// which is not vendored (README.md): config.go's configFromTransport reads a Transport,
// and the server uses strSliceContains (transport.go). Never used to make requests.

// Transport holds the fields of x/net's http2.Transport that config.go reads; this
// package has no client.
type Transport struct {
	StrictMaxConcurrentStreams bool
	MaxEncoderHeaderTableSize  uint32
	MaxDecoderHeaderTableSize  uint32
	MaxReadFrameSize           uint32
	ReadIdleTimeout            time.Duration
	PingTimeout                time.Duration
	WriteByteTimeout           time.Duration
	t1                         *http.Transport
}

// Client defaults that config.go's setConfigDefaults reads (transport.go).
const (
	transportDefaultConnFlow   = 1 << 30
	transportDefaultStreamFlow = 4 << 20
)

// strSliceContains is transport.go's.
func strSliceContains(ss []string, s string) bool {
	for _, v := range ss {
		if v == s {
			return true
		}
	}
	return false
}
