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
	return p.connect(ctx, failed, func(up *Upstream) (net.Conn, error) {
		if openFast != nil && up.ap.IsValid() && up.ap.Addr().Zone() == "" {
			c, written, err := openFast(ctx, up.ap, p.conf.ConnectTimeout, first)
			if err != nil && written > 0 {
				err = fmt.Errorf("%w: %w", ErrFirstWrite, err)
			}
			return c, err
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
	})
}
