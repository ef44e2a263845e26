package passthrough

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// ErrFirstWrite is returned by Pool.Open when the upstream accepted the connection but
// the first bytes could not be written to it (no other upstream is tried then).
var ErrFirstWrite = errors.New("passthrough: writing the first bytes to the upstream")

// Open connects to an upstream as Dial does (same order, failover, ejection and
// reports to failed) and writes first, the connection's first bytes, to it. An upstream
// given as a literal IP address is connected to by openFast where there is one (Linux):
// connecting and writing are one step, and a failure of either is the upstream's failure
// to accept, unless part of first was written. Otherwise Open dials with Dial's dialer
// and writes first within writeTimeout; a failed write is ErrFirstWrite. The caller must
// call Upstream.Done when the connection closes.
func (p *Pool) Open(ctx context.Context, first []byte, writeTimeout time.Duration, failed func(addr string, err error)) (net.Conn, *Upstream, error) {
	return p.connect(ctx, failed, p.opener(ctx, first, writeTimeout))
}

// opener returns Open's attempt on one upstream.
func (p *Pool) opener(ctx context.Context, first []byte, writeTimeout time.Duration) func(*Upstream) (net.Conn, error) {
	return func(up *Upstream) (net.Conn, error) {
		if openFast != nil && up.fast() {
			c, written, err := openFast(ctx, up.ap, p.conf.ConnectTimeout, first)
			return c, firstWriteErr(err, written)
		}
		c, err := p.dialer().DialContext(ctx, "tcp", up.Addr)
		if err != nil {
			return nil, err
		}
		c.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := c.Write(first); err != nil {
			c.Close()
			return nil, fmt.Errorf("%w: %w", ErrFirstWrite, err)
		}
		c.SetWriteDeadline(time.Time{})
		return c, nil
	}
}

// fast reports whether up is opened by openFast: a literal address without a zone.
func (up *Upstream) fast() bool { return up.ap.IsValid() && up.ap.Addr().Zone() == "" }

// firstWriteErr makes err, a failure of openFast after written bytes of first went
// out, ErrFirstWrite when some did.
func firstWriteErr(err error, written int) error {
	if err != nil && written > 0 {
		return fmt.Errorf("%w: %w", ErrFirstWrite, err)
	}
	return err
}
