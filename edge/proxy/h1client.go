package proxy

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
)

// h1Client is an upstream's fast path for the requests that make most of a proxy's
// traffic: GET, HEAD, OPTIONS and TRACE without a body, an upgrade or an Expect header.
// It writes the request and reads the response on the handler's own goroutine, over its
// own keep-alive pool, where net/http's Transport hands every request to a writer and a
// reader goroutine per connection (channels, selects and wake-ups on every request).
// Everything else (bodies, upgrades, 100-continue) goes through the Transport.
//
// It keeps the Transport's behaviour for these requests: the same request bytes
// (Request.Write), the same response parsing (http.ReadResponse) and header size limit,
// 1xx responses passed to the request's httptrace hook, the response-header timeout, a
// retry on a fresh connection when a reused one turns out closed by the upstream before
// any response byte, and no reuse of a connection whose response did not end cleanly.
type h1Client struct {
	dial          func(ctx context.Context) (net.Conn, error)
	headerTimeout time.Duration // response headers; 0 none

	mu      sync.Mutex
	idle    []*h1Conn // most recently used last
	maxIdle int
	idleTTL time.Duration // 0: idle connections are kept until closeIdle
	pruning bool          // a prune is scheduled
	closed  bool          // closeIdle was called: connections put back are closed
}

// maxResponseHeaderBytes is net/http's Transport default: the response headers (with
// any 1xx before them) may not exceed it.
const maxResponseHeaderBytes = 10 << 20

// errStaleConn: a reused connection answered 408 Request Timeout, the upstream's way of
// closing an idle connection (the Transport discards such a message read while idle).
var errStaleConn = errors.New("proxy: upstream closed an idle connection with 408")

// fastPath reports whether req may use the h1Client.
func fastPath(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
	default:
		return false // not safe to send again on a fresh connection
	}
	if req.Body != nil && req.Body != http.NoBody {
		return false
	}
	h := req.Header
	return len(req.TransferEncoding) == 0 && len(req.Trailer) == 0 && h["Upgrade"] == nil && h["Expect"] == nil
}

// RoundTrip sends req (fastPath(req) must hold) and returns the response with its body
// to read; the connection returns to the pool when the body ends cleanly.
func (c *h1Client) RoundTrip(req *http.Request) (*http.Response, error) {
	return c.send(req, nil)
}

// forward sends the direct forward of in (Handler.direct holds), whose head is written
// from in itself: see fwdHead.
func (c *h1Client) forward(in *http.Request, head *fwdHead) (*http.Response, error) {
	return c.send(in, head)
}

// send is RoundTrip, or forward when head is not nil.
func (c *h1Client) send(req *http.Request, head *fwdHead) (*http.Response, error) {
	msg := ""
	if head != nil {
		msg = head.prepare()
		defer head.release()
	} else {
		msg = validateHeaders(req.Header)
	}
	if msg != "" {
		return nil, errors.New("net/http: invalid header " + msg)
	}
	for {
		pc, err := c.get(req.Context())
		if err != nil {
			return nil, err
		}
		res, err := pc.roundTrip(req, head)
		if err == nil {
			return res, nil
		}
		pc.conn.Close()
		if !pc.retryable(req, err) {
			return nil, err
		}
		// The upstream closed the reused connection before answering (its keep-alive
		// timeout raced with this request): send it again, as the Transport does. The
		// connections idle for longer are as likely closed (Node.js closes after 5 s):
		// they are dropped, so the retry goes to a newer or a fresh one.
		c.dropIdleSince(pc.idleSince)
	}
}

// get takes the most recently used idle connection still within the idle timeout, or
// dials a new one.
func (c *h1Client) get(ctx context.Context) (*h1Conn, error) {
	var stale []*h1Conn
	c.mu.Lock()
	var pc *h1Conn
	var now time.Time
	for n := len(c.idle); n > 0 && pc == nil; n = len(c.idle) {
		pc = c.idle[n-1]
		c.idle[n-1] = nil
		c.idle = c.idle[:n-1]
		if now.IsZero() {
			now = time.Now()
		}
		if c.expired(pc, now) {
			stale = append(stale, pc)
			pc = nil
		}
	}
	c.mu.Unlock()
	for _, s := range stale {
		s.conn.Close()
	}
	if pc != nil {
		pc.reused, pc.takenAt = true, now
		return pc, nil
	}
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	return newH1Conn(c, conn), nil
}

func (c *h1Client) expired(pc *h1Conn, now time.Time) bool {
	return c.idleTTL > 0 && now.Sub(pc.idleSince) >= c.idleTTL
}

// put returns a connection whose response ended cleanly to the pool, or closes it when
// the pool is full.
func (c *h1Client) put(pc *h1Conn) {
	pc.idleSince = time.Now()
	c.mu.Lock()
	if c.closed || len(c.idle) >= c.maxIdle {
		c.mu.Unlock()
		pc.conn.Close()
		return
	}
	c.idle = append(c.idle, pc)
	schedule := c.idleTTL > 0 && !c.pruning
	c.pruning = c.pruning || schedule
	c.mu.Unlock()
	if schedule {
		time.AfterFunc(c.idleTTL, c.prune)
	}
}

// prune closes the connections idle for longer than the idle timeout, and schedules
// itself again while some remain.
func (c *h1Client) prune() {
	now := time.Now()
	c.dropIdleSince(now.Add(-c.idleTTL))
	c.mu.Lock()
	var next time.Duration
	if len(c.idle) > 0 {
		next = max(c.idleTTL-now.Sub(c.idle[0].idleSince), time.Millisecond)
	}
	c.pruning = next > 0
	c.mu.Unlock()
	if next > 0 {
		time.AfterFunc(next, c.prune)
	}
}

// dropIdleSince closes the idle connections that went idle at or before t.
func (c *h1Client) dropIdleSince(t time.Time) {
	c.mu.Lock()
	n := 0
	for n < len(c.idle) && !c.idle[n].idleSince.After(t) {
		n++
	}
	old := append([]*h1Conn(nil), c.idle[:n]...)
	c.idle = append(c.idle[:0], c.idle[n:]...)
	clear(c.idle[len(c.idle):cap(c.idle)])
	c.mu.Unlock()
	for _, pc := range old {
		pc.conn.Close()
	}
}

// closeIdle closes every idle connection, and every connection put back from then on
// (the upstream was released: requests still in flight through it finish, and their
// connections would otherwise stay open in a pool no one uses again).
func (c *h1Client) closeIdle() {
	c.mu.Lock()
	old := c.idle
	c.idle, c.closed = nil, true
	c.mu.Unlock()
	for _, pc := range old {
		pc.conn.Close()
	}
}

// validateHeaders is the Transport's check of outgoing headers: a name that is not a
// token or a value with a control character is refused ("" means valid). The value is
// not quoted: it may be a secret.
func validateHeaders(h http.Header) string {
	for k, vv := range h {
		if msg := validateHeader(k, vv); msg != "" {
			return msg
		}
	}
	return ""
}

// validateHeader is validateHeaders for one header.
func validateHeader(k string, vv []string) string {
	if !httpguts.ValidHeaderFieldName(k) {
		return "field name " + strconv.Quote(k)
	}
	for _, v := range vv {
		if !httpguts.ValidHeaderFieldValue(v) {
			return "field value for " + strconv.Quote(k)
		}
	}
	return ""
}
