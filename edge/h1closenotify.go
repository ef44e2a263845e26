package edge

import "net/http"

// closeNotify is the http.CloseNotifier state of an h1Response (net/http's: lazily made
// channel, triggered by a failed read from the client).
type closeNotify struct {
	ch        chan bool
	triggered bool
}

// CloseNotify implements http.CloseNotifier as net/http's response does: the channel
// receives true once a read from the client fails (it left), during the body's reading or
// the background read.
//
// Deprecated: as http.CloseNotifier; use the request's context.
func (w *h1Response) CloseNotify() <-chan bool {
	w.cnMu.Lock()
	defer w.cnMu.Unlock()
	if w.released.Load() {
		panic("net/http: CloseNotify called after ServeHTTP finished")
	}
	if w.cn.ch == nil {
		w.cn.ch = make(chan bool, 1)
		if w.cn.triggered {
			w.cn.ch <- true
		}
	}
	return w.cn.ch
}

// readFailed is called when a read from the client fails: the connection's and the
// request's contexts end, and the current response's CloseNotify channel is told
// (net/http's handleReadErrorLocked).
func (c *h1Conn) readFailed() {
	c.clientGone()
	if w := c.cur.Load(); w != nil {
		w.cnMu.Lock()
		if !w.cn.triggered {
			w.cn.triggered = true
			if w.cn.ch != nil {
				w.cn.ch <- true
			}
		}
		w.cnMu.Unlock()
	}
}

var _ http.CloseNotifier = (*h1Response)(nil)
