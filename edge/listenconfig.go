package edge

import (
	"net"
	"time"
)

// TCP keep-alive of accepted connections: Go's defaults (the first probe after 15 s idle,
// then every 15 s, the connection dropped after 9 unanswered), so a peer that vanished
// without a FIN or RST is noticed after about 2.5 minutes of silence.
const (
	keepAliveIdle     = 15 * time.Second
	keepAliveInterval = 15 * time.Second
	keepAliveCount    = 9
)

// listenConfig is the configuration of the server's TCP listeners. Go sets keep-alive on
// every accepted connection, four setsockopt(2) calls each; where the kernel lets accepted
// sockets inherit the options of their listening socket (Linux), they are set once on the
// listening socket instead (listenKeepAlive), with the same values, and Go's per-connection
// setting is off. Elsewhere Go's per-connection default stays.
func listenConfig() net.ListenConfig {
	if listenKeepAlive == nil {
		return net.ListenConfig{}
	}
	return net.ListenConfig{KeepAlive: -1, Control: listenKeepAlive}
}
