package edge

import (
	"context"
	"errors"
	"net"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/quic-go/quic-go"
)

// errTooManyQUICConns refuses a QUIC connection beyond Limits.MaxConns.
var errTooManyQUICConns = errors.New("edge: too many QUIC connections")

// quicConns counts the QUIC connections of the transport: open (capped like the TCP
// listener's, by Limits.MaxConns) and still handshaking (which decides Retry).
type quicConns struct {
	max, retryAt int // max <= 0: no cap; retryAt < 0: Retry only if always
	always       bool
	open         atomic.Int64
	handshaking  atomic.Int64
	gauge        prometheus.Gauge
	retries      prometheus.Counter
	refused      prometheus.Counter
}

// newQUICConns returns the counters, their metrics registered in reg.
func newQUICConns(o HTTP3Options, maxConns int, gauge prometheus.Gauge, reg prometheus.Registerer) *quicConns {
	c := &quicConns{max: maxConns, retryAt: o.RetryThreshold, always: o.AlwaysRetry, gauge: gauge,
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edge_quic_retries_total",
			Help: "QUIC connection attempts sent a Retry to validate their source address (handshake flood or AlwaysRetry).",
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edge_quic_connections_refused_total",
			Help: "QUIC connections refused because the connection cap (MaxConns) was reached.",
		}),
	}
	if c.retryAt == 0 {
		c.retryAt = DefaultRetryThreshold
	}
	c.retries = registerCounter(reg, c.retries)
	c.refused = registerCounter(reg, c.refused)
	return c
}

// registerCounter registers m in reg, or returns the counter registered there already.
func registerCounter(reg prometheus.Registerer, m prometheus.Counter) prometheus.Counter {
	if err := reg.Register(m); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if c, ok := are.ExistingCollector.(prometheus.Counter); ok {
				return c
			}
		}
		panic(err)
	}
	return m
}

// verifySourceAddress is the transport's VerifySourceAddress: true (send a Retry) when
// always, or when more handshakes than the threshold are in progress.
func (c *quicConns) verifySourceAddress(net.Addr) bool {
	retry := c.always || (c.retryAt >= 0 && c.handshaking.Load() >= int64(c.retryAt))
	if retry {
		c.retries.Inc()
	}
	return retry
}

// connState is the per-connection state kept in the connection's context.
type connState struct {
	handshaking atomic.Bool
	conns       *quicConns
}

// connStateKey is the context key of a *connState.
type connStateKey struct{}

// connContext is the transport's ConnContext: it refuses a connection beyond the cap and
// counts it, open and handshaking, until its context ends (connection closed or
// handshake failed). The context carries the connection's state.
func (c *quicConns) connContext(ctx context.Context, _ *quic.ClientInfo) (context.Context, error) {
	if n := c.open.Add(1); c.max > 0 && n > int64(c.max) {
		c.open.Add(-1)
		c.refused.Inc()
		return ctx, errTooManyQUICConns
	}
	c.gauge.Inc()
	st := &connState{conns: c}
	st.handshaking.Store(true)
	c.handshaking.Add(1)
	ctx = context.WithValue(ctx, connStateKey{}, st)
	context.AfterFunc(ctx, func() {
		st.handshakeDone()
		c.open.Add(-1)
		c.gauge.Dec()
	})
	return ctx, nil
}

// handshakeDone stops counting the connection as handshaking, once.
func (st *connState) handshakeDone() {
	if st.handshaking.CompareAndSwap(true, false) {
		st.conns.handshaking.Add(-1)
	}
}

// handshakeListener is the QUIC listener as the HTTP/3 server sees it: Accept returns
// connections whose handshake completed, and marks them so.
type handshakeListener struct {
	*quic.Listener
	conns *quicConns
}

// Accept returns the next connection whose handshake completed.
func (l *handshakeListener) Accept(ctx context.Context) (*quic.Conn, error) {
	conn, err := l.Listener.Accept(ctx)
	if err != nil {
		return nil, err
	}
	if st, ok := conn.Context().Value(connStateKey{}).(*connState); ok {
		st.handshakeDone()
	}
	return conn, nil
}
