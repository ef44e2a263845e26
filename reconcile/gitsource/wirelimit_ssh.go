package gitsource

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"golang.org/x/net/proxy"
)

// SSH bounds: go-git's SSH transport reads through an internal package, but it dials
// through golang.org/x/net/proxy when the endpoint names a proxy, and the proxy package
// lets a program register its own scheme. A Source's SSH client (limitedSSH) names one,
// wireScheme, whose dialer dials as go-git would without a proxy (proxy.Dial: direct, or
// through $ALL_PROXY) and wraps the connection so that what the server sends draws from
// the Source's wireLimit. Authentication, known_hosts checking and the rest of go-git's
// SSH client are unchanged. The bytes counted are the SSH stream's, framing and
// handshake included: sshFraming is their allowance.

// wireScheme is the proxy scheme of the dialer that bounds SSH connections.
const wireScheme = "edge-wirelimit"

var (
	// wireDials maps the host of a wireScheme URL to the wireLimit of the session being
	// opened with it (only while it is being opened: go-git dials in NewUploadPackSession).
	wireDials  sync.Map // string -> *wireLimit
	wireDialID atomic.Uint64
)

func init() {
	proxy.RegisterDialerType(wireScheme, func(u *url.URL, _ proxy.Dialer) (proxy.Dialer, error) {
		w, ok := wireDials.Load(u.Host)
		if !ok {
			return nil, fmt.Errorf("reconcile: git ssh: no session for dialer %q", u.Host)
		}
		return wireDialer{w.(*wireLimit)}, nil
	})
}

// sshWindow is what x/crypto/ssh reads ahead of its reader: one channel window (2 MiB).
// go-git hands the pack over only once its first bytes have arrived, so when the pack's
// allowance is added that window may already hold 2 MiB of the pack, charged to the
// bytes before it.
const sshWindow = 2 << 20

// sshFraming is the allowance for what the SSH layer adds to n bytes of git's: each
// packet's length, padding, message header and MAC (under 1 % for OpenSSH's 32 KiB
// packets, up to about half for a server that writes each reference line in a packet of
// its own), the handshake (64 KiB), and the channel window read ahead with its framing.
func sshFraming(n int64) int64 { return n/2 + 64<<10 + sshWindow + sshWindow/2 }

// limitedSSH is the SSH client of a Source: go-git's, each session's connection dialed
// through wireDialer.
type limitedSSH struct {
	base transport.Transport
	w    *wireLimit
}

func (t *limitedSSH) NewUploadPackSession(ep *transport.Endpoint, auth transport.AuthMethod) (transport.UploadPackSession, error) {
	id := "s" + strconv.FormatUint(wireDialID.Add(1), 10)
	wireDials.Store(id, t.w)
	defer wireDials.Delete(id)
	e := *ep
	e.Proxy = transport.ProxyOptions{URL: wireScheme + "://" + id}
	return t.base.NewUploadPackSession(&e, auth)
}

func (t *limitedSSH) NewReceivePackSession(ep *transport.Endpoint, auth transport.AuthMethod) (transport.ReceivePackSession, error) {
	return t.base.NewReceivePackSession(ep, auth)
}

// wireDialer dials as go-git does without a proxy, its connections drawing from w.
type wireDialer struct{ w *wireLimit }

func (d wireDialer) Dial(network, addr string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, addr)
}

func (d wireDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := proxy.Dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &limitedConn{Conn: c, w: d.w}, nil
}

// limitedConn is a connection whose reads draw from a wireLimit.
type limitedConn struct {
	net.Conn
	w *wireLimit
}

func (c *limitedConn) Read(p []byte) (int, error) {
	if room := c.w.room(); int64(len(p)) > room {
		p = p[:room]
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		if m, terr := c.w.take(n); terr != nil {
			return m, terr
		}
	}
	return n, err
}
